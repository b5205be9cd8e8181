// 2-D convolution (cross-correlation, as in PyTorch) on NCHW tensors with stride, padding per side,
// dilation and groups. Forward and both backward passes are backend kernels; the bias is a
// broadcast add so its gradient comes from Add's backward.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Convolves x [N, C, H, W] with weight [K, C/groups, R, S], adding bias [K] when given.</summary>
    /// <param name="weight">Filters [K, C/groups, R, S].</param>
    /// <param name="bias">Per-filter bias [K], or null.</param>
    /// <param name="stride">Step between output positions (1, 1 when null).</param>
    /// <param name="padding">Zero padding: (h, w) on both sides, or any amount per side with <see cref="Padding2d"/>.</param>
    /// <param name="dilation">Step between a filter's taps (1, 1 when null).</param>
    /// <param name="groups">Channel groups: input and output channels split into this many independent convolutions.</param>
    /// <example><code>var y = x.Conv2d(w, b, padding: (1, 1)); // 'same' for 3x3</code></example>
    public Tensor Conv2d(
        Tensor weight, Tensor? bias = null, (int H, int W)? stride = null, Padding2d? padding = null,
        (int H, int W)? dilation = null, int groups = 1)
    {
        if (AnyHalf(this, weight, bias))
        {
            // 16-bit operands convolve in float32 with float32 accumulation; the output has the promoted type.
            return Narrowed(Widened.Conv2d(weight.Widened, bias?.Widened, stride, padding, dilation, groups), ConvResultType(weight, bias));
        }

        var g = ConvGeometry(weight, stride, padding, dilation, groups);
        var x = DenseData();
        var w = weight.DenseData();
        var y = Empty([g.N, g.K, g.P, g.Q], Device);
        Backend.Conv2dForward(g, x.Buffer, w.Buffer, y.Buffer);
        var input = this;
        var result = Record(y, "Conv2dBackward", [this, weight], grad =>
        {
            var (dx, dwt) = ConvGradients(g, input, weight, x, w, grad.DenseData());
            return [dx, dwt];
        });

        if (bias is null)
        {
            return result;
        }

        CheckConvBias(bias, g.K);
        return result + bias.Reshape(1, g.K, 1, 1);
    }

    /// <summary>
    /// relu(conv2d(x, weight) + bias[k]): bias and ReLU applied as the convolution writes its output where the
    /// backend has that fused kernel (<see cref="IFusedKernels"/>; the CPU, for every geometry), else the convolution
    /// then the fused bias + ReLU. Its backward needs only the output (ReLU's slope is y &gt; 0), so the
    /// pre-activation is never stored.
    /// </summary>
    internal Tensor Conv2dBiasRelu(Tensor weight, Tensor? bias, (int H, int W) stride, Padding2d padding, (int H, int W) dilation, int groups)
    {
        if (AnyHalf(this, weight, bias))
        {
            return Narrowed(Widened.Conv2dBiasRelu(weight.Widened, bias?.Widened, stride, padding, dilation, groups), ConvResultType(weight, bias));
        }

        var (g, x, w, b) = ReluConvOperands(weight, bias, stride, padding, dilation, groups);
        if (Backend is not IFusedKernels fused || !fused.SupportsConv2dBiasRelu(g))
        {
            return Conv2d(weight, null, stride, padding, dilation, groups).BiasActivation(bias, 1, default(ReluOp), "BiasRelu");
        }

        var y = Empty([g.N, g.K, g.P, g.Q], Device);
        fused.Conv2dBiasReluForward(g, x.Buffer, w.Buffer, b?.Buffer, y.Buffer);
        var input = this;
        return Record(y, "Conv2dBiasReluBackward", bias is null ? [this, weight] : [this, weight, bias], grad =>
        {
            // dz = dy where y > 0: the bias + activation backward evaluated at y itself (relu'(y) = relu'(x + b)).
            var gd = grad.DenseData();
            var dz = Empty([g.N, g.K, g.P, g.Q], grad.Device);
            var dbias = bias is { RequiresGrad: true } ? Empty([g.K], grad.Device) : null;
            grad.Backend.BiasActivationBackward(default(ReluOp), y.Buffer, null, y.Buffer, gd.Buffer, g.N, g.K, g.P * g.Q, dz.Buffer, dbias?.Buffer);
            var (dx, dw) = ConvGradients(g, input, weight, x, w, dz);
            return bias is null ? [dx, dw] : [dx, dw, dbias];
        });
    }

    /// <summary>The type a convolution of this input with <paramref name="weight"/> and <paramref name="bias"/> returns.</summary>
    private DType ConvResultType(Tensor weight, Tensor? bias) =>
        bias is null ? DType.Promote(weight.DType) : DType.Promote(weight.DType).Promote(bias.DType);

    /// <summary>The checked geometry and dense operands of a fused convolution + bias + ReLU.</summary>
    private (Conv2dGeometry G, Tensor X, Tensor W, Tensor? B) ReluConvOperands(
        Tensor weight, Tensor? bias, (int H, int W) stride, Padding2d padding, (int H, int W) dilation, int groups)
    {
        var g = ConvGeometry(weight, stride, padding, dilation, groups);
        if (bias is not null)
        {
            bias.CheckFloat("Conv2d");
            CheckSameDevice("Conv2d", this, bias);
            CheckConvBias(bias, g.K);
        }

        return (g, DenseData(), weight.DenseData(), bias?.DenseData());
    }

    private static void CheckConvBias(Tensor bias, int filters)
    {
        if (bias.Rank != 1 || bias.shape[0] != filters)
        {
            throw new ArgumentException($"Conv2d: bias must be [{filters}], got {Shapes.Format(bias.shape)}.");
        }
    }

    /// <summary>The input and filter gradients of a convolution from the output gradient dy (dense), each where it is needed.</summary>
    private static (Tensor? Dx, Tensor? Dw) ConvGradients(in Conv2dGeometry g, Tensor input, Tensor weight, Tensor x, Tensor w, Tensor dy)
    {
        var dx = input.RequiresGrad ? Empty([g.N, g.C, g.H, g.W], dy.Device) : null;
        var dw = weight.RequiresGrad ? Empty([g.K, g.CPerGroup, g.R, g.S], dy.Device) : null;
        WriteConvGradients(g, x, w, dy, dx, dw);
        return (dx, dw);
    }

    /// <summary>Writes the input gradient into <paramref name="dx"/> and the filter gradient into <paramref name="dw"/>, each unless null.</summary>
    internal static void WriteConvGradients(in Conv2dGeometry g, Tensor x, Tensor w, Tensor dy, Tensor? dx, Tensor? dw)
    {
        if (dx is not null)
        {
            dy.Backend.Conv2dBackwardData(g, dy.Buffer, w.Buffer, dx.Buffer);
        }

        if (dw is not null)
        {
            dy.Backend.Conv2dBackwardFilter(g, x.Buffer, dy.Buffer, dw.Buffer);
        }
    }

    /// <summary>The checked geometry of this input with <paramref name="weight"/>; errors name both shapes.</summary>
    internal Conv2dGeometry ConvGeometry(Tensor weight, (int H, int W)? stride, Padding2d? padding, (int H, int W)? dilation, int groups)
    {
        CheckFloat("Conv2d");
        weight.CheckFloat("Conv2d");
        return ConvShapeGeometry(weight, stride, padding, dilation, groups);
    }

    /// <summary>The geometry checks of <see cref="ConvGeometry"/> without the element types (the int8 convolution's).</summary>
    internal Conv2dGeometry ConvShapeGeometry(Tensor weight, (int H, int W)? stride, Padding2d? padding, (int H, int W)? dilation, int groups)
    {
        ThrowIfDisposed();
        CheckSameDevice("Conv2d", this, weight);
        var (sh, sw) = stride ?? (1, 1);
        var pad = padding ?? (0, 0);
        var (dh, dw) = dilation ?? (1, 1);
        if (Rank != 4 || weight.Rank != 4)
        {
            throw new ArgumentException($"Conv2d: expected input [N, C, H, W] and weight [K, C/groups, R, S], got {Shapes.Format(shape)} and {Shapes.Format(weight.shape)}.");
        }

        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || !pad.IsValid || groups < 1)
        {
            throw new ArgumentException($"Conv2d: stride ({sh}, {sw}) and dilation ({dh}, {dw}) must be positive, groups ({groups}) positive, and padding {pad} non-negative on every side.");
        }

        int c = shape[1], k = weight.shape[0];
        if (c % groups != 0 || k % groups != 0 || weight.shape[1] != c / groups)
        {
            throw new ArgumentException(
                $"Conv2d: input {Shapes.Format(shape)} with groups={groups} needs weight [K, {c / Math.Max(groups, 1)}, R, S] with K divisible by {groups}; got {Shapes.Format(weight.shape)}.");
        }

        if (weight.shape[2] == 0 || weight.shape[3] == 0)
        {
            throw new ArgumentException($"Conv2d: the kernel of weight {Shapes.Format(weight.shape)} is empty; its height and width must be at least 1.");
        }

        // Extents in 64 bits: a large dilation or padding must fail here, not wrap around in the output size.
        long paddedH = (long)shape[2] + pad.Top + pad.Bottom, paddedW = (long)shape[3] + pad.Left + pad.Right;
        long spanH = ((long)dh * (weight.shape[2] - 1)) + 1, spanW = ((long)dw * (weight.shape[3] - 1)) + 1;
        if (paddedH < spanH || paddedW < spanW)
        {
            throw new ArgumentException($"Conv2d: a {weight.shape[2]}x{weight.shape[3]} kernel (dilation {dh}, {dw}) spans {spanH}x{spanW} and does not fit input {Shapes.Format(shape)} with padding {pad}.");
        }

        string Geometry() => $"for input {Shapes.Format(shape)}, weight {Shapes.Format(weight.shape)}, stride ({sh}, {sw}), padding {pad}, dilation ({dh}, {dw})";
        if (!Shapes.IsExtent(paddedH) || !Shapes.IsExtent(paddedW))
        {
            throw Shapes.ExtentError("Conv2d", "the padded input height or width", Math.Max(paddedH, paddedW), Geometry());
        }

        var g = new Conv2dGeometry(shape[0], c, shape[2], shape[3], k, weight.shape[2], weight.shape[3], sh, sw, pad.Top, pad.Bottom, pad.Left, pad.Right, dh, dw, groups);
        if (!Shapes.IsValidSize([g.N, g.K, g.P, g.Q]))
        {
            throw Shapes.SizeError("Conv2d", [g.N, g.K, g.P, g.Q], $" (the output {Geometry()})");
        }

        return g;
    }
}
