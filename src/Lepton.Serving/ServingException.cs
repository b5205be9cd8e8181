// An error a client caused or must react to (bad input, unknown model, full queue): it carries the
// HTTP status the endpoint answers with and a message naming the model and what is wrong.
namespace Lepton.Serving;

/// <summary>A request the server refuses, with the HTTP status to answer and a message naming the problem.</summary>
/// <example><code>throw new ServingException(StatusCodes.Status400BadRequest, "model 'digits': instances[0]: expected 784 values, got 3");</code></example>
public sealed class ServingException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="statusCode">The HTTP status to answer with (4xx or 503).</param>
    /// <param name="message">What is wrong, naming the model and the field.</param>
    public ServingException(int statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    /// <summary>The HTTP status to answer with.</summary>
    public int StatusCode { get; }
}
