// Activation functions by their Keras names, for the activation argument of layers.
namespace Lepton.Nn;

/// <summary>Named activation functions.</summary>
public static class Activations
{
    /// <summary>The names <see cref="Get"/> accepts.</summary>
    public static readonly string[] Names = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "softplus", "leaky_relu"];

    /// <summary>The function for a Keras activation name; null or "linear" is the identity.</summary>
    /// <example><code>var relu = Activations.Get("relu"); var y = relu(x);</code></example>
    public static Func<Tensor, Tensor> Get(string? name) => (name ?? "linear").ToLowerInvariant() switch
    {
        "linear" or "" => x => x,
        "relu" => x => x.Relu(),
        "sigmoid" => x => x.Sigmoid(),
        "tanh" => x => x.Tanh(),
        "softmax" => x => x.Softmax(-1),
        "log_softmax" => x => x.LogSoftmax(-1),
        "gelu" => x => x.Gelu(),
        "softplus" => x => x.Softplus(),
        "leaky_relu" => x => x.LeakyRelu(0.2f),
        _ => throw new ArgumentException($"Unknown activation '{name}'; use one of {string.Join(", ", Names)}."),
    };
}
