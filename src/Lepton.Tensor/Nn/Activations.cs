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
    /// f(x + bias) with the bias [channels] along an axis (bias may be null): one fused op for the element-wise
    /// activations, otherwise a broadcast add followed by the activation. This is what Dense and Conv2D apply.
    /// </summary>
    /// <example><code>var f = Activations.GetWithBias("relu"); var y = f(x, b, 1);</code></example>
    public static Func<Tensor, Tensor?, int, Tensor> GetWithBias(string? name)
    {
        if (GetFused(name) is { } fused)
        {
            return fused;
        }

        var activation = Get(name);
        return (x, bias, axis) => activation(bias is null ? x : x + AlongAxis(bias, x.Rank, axis));
    }

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

    /// <summary>bias [channels] shaped to broadcast along <paramref name="axis"/> of a tensor of rank <paramref name="rank"/>.</summary>
    private static Tensor AlongAxis(Tensor bias, int rank, int axis)
    {
        int a = axis < 0 ? axis + rank : axis;
        var shape = Enumerable.Repeat(1, rank - a).ToArray();
        shape[0] = bias.Numel;
        return bias.Reshape(shape);
    }
}
