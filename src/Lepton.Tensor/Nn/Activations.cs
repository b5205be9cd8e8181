// Activation functions by their Keras names, for the activation argument of layers.
using Lepton.Backends;

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

    /// <summary>
    /// f(x + bias) along an axis as one fused op for the element-wise activations; null for "linear" (a plain
    /// add is already one pass) and for softmax-like activations, which are not element-wise.
    /// </summary>
    /// <example><code>var fused = Activations.GetFused("relu"); var y = fused!(x, b, 1);</code></example>
    public static Func<Tensor, Tensor?, int, Tensor>? GetFused(string? name) => (name ?? "linear").ToLowerInvariant() switch
    {
        "relu" => (x, b, axis) => x.BiasActivation(b, axis, default(ReluOp), "BiasRelu"),
        "sigmoid" => (x, b, axis) => x.BiasActivation(b, axis, default(SigmoidOp), "BiasSigmoid"),
        "tanh" => (x, b, axis) => x.BiasActivation(b, axis, default(TanhOp), "BiasTanh"),
        "gelu" => (x, b, axis) => x.BiasActivation(b, axis, default(GeluOp), "BiasGelu"),
        "softplus" => (x, b, axis) => x.BiasActivation(b, axis, default(SoftplusOp), "BiasSoftplus"),
        "leaky_relu" => (x, b, axis) => x.BiasActivation(b, axis, new LeakyReluOp(0.2f), "BiasLeakyRelu"),
        _ => null,
    };
}
