// 2-D convolution (cross-correlation, as in PyTorch) on NCHW tensors with stride, padding,
// dilation and groups. Forward and both backward passes are backend kernels; the bias is a
// broadcast add so its gradient comes from Add's backward.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Convolves x [N, C, H, W] with weight [K, C/groups, R, S], adding bias [K] when given.</summary>
    /// <example><code>var y = x.Conv2d(w, b, padding: (1, 1)); // 'same' for 3x3</code></example>
    public Tensor Conv2d(
        Tensor weight, Tensor? bias = null, (int H, int W)? stride = null, Padding2d? padding = null,
        (int H, int W)? dilation = null, int groups = 1)
    {
        CheckFloat("Conv2d");
        weight.CheckFloat("Conv2d");
        CheckSameDevice("Conv2d", this, weight);
        var (sh, sw) = stride ?? (1, 1);
        var pad = padding ?? (0, 0);
        int ph = pad.Top, pw = pad.Left;
        var (dh, dw) = dilation ?? (1, 1);
        if (Rank != 4 || weight.Rank != 4)
        {
            throw new ArgumentException($"Conv2d: expected input [N, C, H, W] and weight [K, C/groups, R, S], got {Shapes.Format(shape)} and {Shapes.Format(weight.shape)}.");
        }

        if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || !pad.IsValid || groups < 1)
        {
            throw new ArgumentException($"Conv2d: stride ({sh}, {sw}) and dilation ({dh}, {dw}) must be positive, groups ({groups}) positive, and padding {pad} non-negative with bottom/right at most one more than top/left.");
        }

        int c = shape[1], k = weight.shape[0];
        if (c % groups != 0 || k % groups != 0 || weight.shape[1] != c / groups)
        {
            throw new ArgumentException(
                $"Conv2d: input {Shapes.Format(shape)} with groups={groups} needs weight [K, {c / Math.Max(groups, 1)}, R, S] with K divisible by {groups}; got {Shapes.Format(weight.shape)}.");
        }

        var g = new Conv2dGeometry(shape[0], c, shape[2], shape[3], k, weight.shape[2], weight.shape[3], sh, sw, ph, pw, dh, dw, groups, pad.Bottom - ph, pad.Right - pw);
        if (g.H + pad.Top + pad.Bottom < (dh * (g.R - 1)) + 1 || g.W + pad.Left + pad.Right < (dw * (g.S - 1)) + 1)
        {
            throw new ArgumentException($"Conv2d: a {g.R}x{g.S} kernel (dilation {dh}, {dw}) does not fit input {Shapes.Format(shape)} with padding {pad}.");
        }

        var x = DenseData();
        var w = weight.DenseData();
        var y = Empty([g.N, g.K, g.P, g.Q], Device);
        Backend.Conv2dForward(g, x.Buffer, w.Buffer, y.Buffer);
        var input = this;
        var result = Record(y, "Conv2dBackward", [this, weight], grad =>
        {
            var gd = grad.DenseData();
            Tensor? dx = null, dwt = null;
            if (input.RequiresGrad)
            {
                dx = Empty([g.N, g.C, g.H, g.W], grad.Device);
                grad.Backend.Conv2dBackwardData(g, gd.Buffer, w.Buffer, dx.Buffer);
            }

            if (weight.RequiresGrad)
            {
                dwt = Empty([g.K, g.CPerGroup, g.R, g.S], grad.Device);
                grad.Backend.Conv2dBackwardFilter(g, x.Buffer, gd.Buffer, dwt.Buffer);
            }

            return [dx, dwt];
        });

        if (bias is null)
        {
            return result;
        }

        if (bias.Rank != 1 || bias.shape[0] != k)
        {
            throw new ArgumentException($"Conv2d: bias must be [{k}], got {Shapes.Format(bias.shape)}.");
        }

        return result + bias.Reshape(1, k, 1, 1);
    }
}
