// QuantParams' rules as tensor ops on the device: the scale and zero point of a (min, max) range and the per-channel
// symmetric weight scales, computed inside a (captured) training step without reading anything back. Each step is one
// float32 operation, as in QuantParams, so the grid trained on is bit for bit the grid conversion uses.
namespace Lepton.Nn.Quantization;

/// <summary>Quantization parameters computed on the device, bit-identical to <see cref="QuantParams"/>.</summary>
internal static class DeviceQuantParams
{
    /// <summary>The smallest normal float32, <see cref="QuantParams.FromRange"/>'s floor for a subnormal scale.</summary>
    private const float SmallestNormal = 1.17549435e-38f;

    /// <summary>
    /// Uint8 scale and zero point (float32 tensors shaped like the bounds) of the ranges [<paramref name="min"/>,
    /// <paramref name="max"/>], as <see cref="QuantParams.FromRange"/> computes them. Not recorded for autograd.
    /// </summary>
    public static (Tensor Scale, Tensor ZeroPoint) FromRange(Tensor min, Tensor max)
    {
        using var noGrad = Tensor.NoGrad();
        using var lo = min.Clamp(null, 0f);
        using var hi = max.Clamp(0f, null);
        using var width = hi - lo;
        using var raw = width / 255f;
        using var normal = raw >= SmallestNormal;
        using var positive = raw > 0f;
        using var floor = Tensor.Where(positive, raw.ScalarLike(SmallestNormal), raw.ScalarLike(1f));
        var scale = Tensor.Where(normal, raw, floor);
        using var negated = lo.Neg();
        using var ratio = negated / scale;
        using var rounded = ratio.Round();
        var zeroPoint = rounded.Clamp(0f, 255f);
        return (scale, zeroPoint);
    }

    /// <summary>
    /// Symmetric int8 scales of <paramref name="kernel"/> along its output-channel axis <paramref name="axis"/>: max |w|
    /// over the other axes / 127, or 1 for an all-zero channel, as <see cref="QuantParams.WeightScales"/>. Not recorded.
    /// </summary>
    public static Tensor WeightScales(Tensor kernel, int axis)
    {
        using var noGrad = Tensor.NoGrad();
        int[] others = [.. Enumerable.Range(0, kernel.Rank).Where(a => a != axis)];
        using var magnitude = kernel.Abs();
        using var largest = others.Length == 0 ? magnitude.Clone() : magnitude.Max(others);
        using var positive = largest > 0f;
        using var divided = largest / (float)QuantParams.WeightMax;
        return Tensor.Where(positive, divided, divided.ScalarLike(1f));
    }
}
