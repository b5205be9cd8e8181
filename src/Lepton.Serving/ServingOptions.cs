// Settings of one served model: how requests are batched, how many may wait, and how large a body
// may be. One instance per model version; the registry's defaults apply where none is given.
namespace Lepton.Serving;

/// <summary>How a served model batches requests and which requests it refuses.</summary>
/// <example><code>
/// var options = new ServingOptions { MaxBatchSize = 64, MaxWait = TimeSpan.FromMilliseconds(2), QueueCapacity = 1024 };
/// app.MapLeptonModel("digits", model, options);
/// </code></example>
public sealed record ServingOptions
{
    /// <summary>The most examples one <c>Predict</c> call runs; 1 turns dynamic batching off.</summary>
    public int MaxBatchSize { get; init; } = 64;

    /// <summary>How long the worker waits for more requests after the first one of a batch arrives.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// When true (the default), a forming batch waits for more requests only while some request for the version is
    /// still being received or decoded, so a lone caller never waits <see cref="MaxWait"/> for company that is not
    /// coming. When false, it always waits up to <see cref="MaxWait"/> for a full batch (TF Serving's batch_timeout).
    /// </summary>
    public bool AdaptiveWait { get; init; } = true;

    /// <summary>The most requests waiting for a model version; more are answered 503 with Retry-After.</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>The largest request body accepted, in bytes; larger ones are answered 413.</summary>
    public long MaxBodyBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>The largest image accepted, in pixels (width times height), checked before decoding.</summary>
    public long MaxImagePixels { get; init; } = 16 * 1024 * 1024;

    /// <summary>The seconds a 503 answer asks the client to wait (the Retry-After header).</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    internal void Validate(string model)
    {
        if (MaxBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, $"model '{model}': MaxBatchSize must be at least 1.");
        }

        if (MaxWait < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxWait), MaxWait, $"model '{model}': MaxWait must not be negative.");
        }

        if (QueueCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, $"model '{model}': QueueCapacity must be at least 1.");
        }

        if (MaxBodyBytes < 1 || MaxImagePixels < 1 || RetryAfterSeconds < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), $"model '{model}': MaxBodyBytes and MaxImagePixels must be positive, RetryAfterSeconds not negative.");
        }
    }
}
