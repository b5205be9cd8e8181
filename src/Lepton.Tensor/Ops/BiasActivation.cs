// Fused bias + activation: y = f(x + bias) with the bias broadcast along one axis, one kernel forward and
// one backward (plus a per-channel sum for the bias gradient) instead of an add, an activation and their
// two backward passes. Dense and Conv2D layers use it for their bias and activation.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>f(x + bias), the bias [channels] broadcast along <paramref name="axis"/>, in one fused kernel (bias may be null).</summary>
    /// <example><code>var y = x.BiasActivation(b, axis: 1, default(ReluOp), "BiasRelu"); // relu(x + b[c]) over [N, C, H, W]</code></example>
    public Tensor BiasActivation<TOp>(Tensor? bias, int axis, TOp op, string name) where TOp : struct, IUnaryOp
    {
        if (AnyHalf(this, bias))
        {
            return Narrowed(Widened.BiasActivation(bias?.Widened, axis, op, name), bias is null ? DType : DType.Promote(bias.DType));
        }

        CheckFloat(name);
        int a = Shapes.NormalizeAxis(name, axis, Rank);
        int channels = shape[a];
        if (bias is not null)
        {
            bias.CheckFloat(name);
            CheckSameDevice(name, this, bias);
            if (bias.Rank != 1 || bias.shape[0] != channels)
            {
                throw new ArgumentException($"{name}: the bias must be [{channels}] for input {Shapes.Format(shape)} along axis {a}, got {Shapes.Format(bias.shape)}.");
            }
        }

        int outer = Shapes.Numel(shape[..a]), inner = Shapes.Numel(shape[(a + 1)..]);
        var x = DenseData();
        var b = bias?.DenseData();
        var y = Empty((int[])shape.Clone(), Device);
        Backend.BiasActivation(op, x.Buffer, b?.Buffer, outer, channels, inner, y.Buffer);
        return Record(y, name + "Backward", bias is null ? [this] : [this, bias], g =>
        {
            var gd = g.DenseData();
            var dx = Empty((int[])x.shape.Clone(), g.Device);
            var dbias = bias is { RequiresGrad: true } ? Empty([channels], g.Device) : null;
            g.Backend.BiasActivationBackward(op, x.Buffer, b?.Buffer, y.Buffer, gd.Buffer, outer, channels, inner, dx.Buffer, dbias?.Buffer);
            return bias is null ? [dx] : [dx, dbias];
        });
    }
}
