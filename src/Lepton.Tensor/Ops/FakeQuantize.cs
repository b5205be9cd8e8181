// Fake quantization for quantization-aware training: round to the int8 grid and back in float32, per tensor or per
// channel, with the straight-through gradient (passed inside the clamp range, 0 outside). Scales and zero points are
// device tensors, so a captured step computes them and never reads them back; they receive no gradient.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>
    /// y = (clamp(round(x / scale) + zeroPoint, quantMin, quantMax) - zeroPoint) * scale, element-wise in float32 with
    /// rounding to nearest even (PyTorch's <c>fake_quantize_per_tensor_affine</c> and <c>fake_quantize_per_channel_affine</c>).
    /// The gradient is the straight-through estimate: dy where round(x / scale) + zeroPoint lies in [quantMin, quantMax],
    /// else 0. <paramref name="scale"/> and <paramref name="zeroPoint"/> receive no gradient.
    /// </summary>
    /// <param name="scale">Positive float32 scales: one element for a per-tensor scale, or [C] along <paramref name="axis"/>.</param>
    /// <param name="zeroPoint">Float32 zero points with integral values, shaped like <paramref name="scale"/>.</param>
    /// <param name="quantMin">Smallest quantized value (0 for uint8 activations, -127 for int8 weights).</param>
    /// <param name="quantMax">Largest quantized value (255 for uint8 activations, 127 for int8 weights).</param>
    /// <param name="axis">The channel axis of per-channel scales (negative counts from the end), or null for one scale.</param>
    /// <returns>The fake-quantized tensor, shaped like this one.</returns>
    /// <exception cref="ArgumentException">A tensor is not float32, the shapes do not fit, or quantMin exceeds quantMax.</exception>
    /// <exception cref="NotSupportedException">The backend has no int8 kernels.</exception>
    /// <example><code>
    /// var scale = Tensor.FromArray([0.1f], [1]);
    /// var zeroPoint = Tensor.FromArray([128f], [1]);
    /// var y = x.FakeQuantize(scale, zeroPoint, 0, 255);
    /// </code></example>
    public Tensor FakeQuantize(Tensor scale, Tensor zeroPoint, int quantMin, int quantMax, int? axis = null)
    {
        CheckFloat("FakeQuantize");
        scale.CheckFloat("FakeQuantize");
        zeroPoint.CheckFloat("FakeQuantize");
        CheckSameDevice("FakeQuantize", this, scale);
        CheckSameDevice("FakeQuantize", this, zeroPoint);
        if (quantMin > quantMax)
        {
            throw new ArgumentException($"FakeQuantize: quantMin ({quantMin}) is greater than quantMax ({quantMax}).");
        }

        int outer = Numel, channels = 1, inner = 1;
        if (axis is { } a)
        {
            int dim = a < 0 ? a + Rank : a;
            if (dim < 0 || dim >= Rank)
            {
                throw new ArgumentException($"FakeQuantize: axis {a} is outside input {Shapes.Format(shape)}.");
            }

            channels = shape[dim];
            outer = Shapes.Numel(shape[..dim]);
            inner = Shapes.Numel(shape[(dim + 1)..]);
        }

        if (scale.Numel != channels || zeroPoint.Numel != channels)
        {
            throw new ArgumentException(
                $"FakeQuantize: input {Shapes.Format(shape)} needs {channels} scale(s) and zero point(s){(axis is null ? "" : $" along axis {axis}")}, got scale {Shapes.Format(scale.shape)} and zero point {Shapes.Format(zeroPoint.shape)}.");
        }

        if (!(Device.RealBackend is IQuantizedKernels && Backend is IQuantizedKernels kernels))
        {
            throw new NotSupportedException($"FakeQuantize: the {Device.RealBackend.Name} backend has no int8 kernels (IQuantizedKernels).");
        }

        var x = DenseData();
        var s = scale.DenseData();
        var z = zeroPoint.DenseData();
        var y = Empty((int[])shape.Clone(), Device);
        if (y.Numel > 0)
        {
            kernels.FakeQuantize(x.Buffer, outer, channels, inner, s.Buffer, z.Buffer, quantMin, quantMax, y.Buffer);
        }

        return Record(y, "FakeQuantizeBackward", [this], g =>
        {
            var gd = g.DenseData();
            var dx = Empty((int[])x.shape.Clone(), g.Device);
            if (dx.Numel > 0)
            {
                ((IQuantizedKernels)g.Backend).FakeQuantizeBackward(x.Buffer, gd.Buffer, outer, channels, inner, s.Buffer, z.Buffer, quantMin, quantMax, dx.Buffer);
            }

            return [dx];
        });
    }
}
