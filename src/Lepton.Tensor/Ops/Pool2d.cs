// Max and average pooling on NCHW tensors (kernel, stride, padding per side, ceil mode; dilation for max),
// and global average pooling. Max pooling saves the argmax of each window so backward is a scatter.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Max pooling over windows of x [N, C, H, W]; stride defaults to the kernel size.</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; the kernel size when null.</param>
    /// <param name="padding">Padding per side (ignored by the maximum); at most half the kernel on each side.</param>
    /// <param name="dilation">Step between a window's taps (1, 1 when null).</param>
    /// <param name="ceilMode">Round the output size up, keeping a last partial window that starts inside the input or
    /// the top/left padding (PyTorch's ceil_mode).</param>
    /// <example><code>var y = x.MaxPool2d((2, 2)); var z = x.MaxPool2d((3, 3), (2, 2), ceilMode: true);</code></example>
    public Tensor MaxPool2d(
        (int H, int W) kernelSize, (int H, int W)? stride = null, Padding2d? padding = null, (int H, int W)? dilation = null, bool ceilMode = false) =>
        MaxPool2dCore("MaxPool2d", kernelSize, stride, padding, dilation, ceilMode).Values;

    /// <summary>
    /// Max pooling that also returns where each maximum came from, as PyTorch's <c>return_indices=True</c>: the index of
    /// the maximum within its flattened H*W input plane, as an int64 tensor of the output's shape (-1 for a window that
    /// lies in the padding alone, which dilation allows).
    /// </summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="returnIndices">Must be true: this overload always returns the indices (call the other for values alone).</param>
    /// <param name="stride">Step between windows; the kernel size when null.</param>
    /// <param name="padding">Padding per side (ignored by the maximum); at most half the kernel on each side.</param>
    /// <param name="dilation">Step between a window's taps (1, 1 when null).</param>
    /// <param name="ceilMode">Round the output size up (PyTorch's ceil_mode).</param>
    /// <example><code>var (pooled, where) = x.MaxPool2d((2, 2), returnIndices: true);</code></example>
    public (Tensor Values, Tensor Indices) MaxPool2d(
        (int H, int W) kernelSize, bool returnIndices, (int H, int W)? stride = null, Padding2d? padding = null, (int H, int W)? dilation = null,
        bool ceilMode = false)
    {
        if (!returnIndices)
        {
            throw new ArgumentException("MaxPool2d: returnIndices is false, but this overload returns (values, indices); call MaxPool2d without returnIndices for the values alone.", nameof(returnIndices));
        }

        var (values, indices) = MaxPool2dCore("MaxPool2d", kernelSize, stride, padding, dilation, ceilMode);

        // The kernels keep int32 positions for the backward; the caller gets its own int64 copy, as PyTorch returns.
        return (values, indices.CastTo(DType.Int64));
    }

    /// <summary>Max pooling with errors naming <paramref name="op"/> (MaxPool1d runs through it); the values and the saved indices.</summary>
    internal (Tensor Values, Tensor Indices) MaxPool2dCore(
        string op, (int H, int W) kernelSize, (int H, int W)? stride, Padding2d? padding, (int H, int W)? dilation, bool ceilMode)
    {
        if (DType.IsHalf())
        {
            var (wide, where) = Widened.MaxPool2dCore(op, kernelSize, stride, padding, dilation, ceilMode);
            return (Narrowed(wide, DType), where);
        }

        var g = PoolGeometry(op, kernelSize, stride, padding, dilation, ceilMode);
        var x = DenseData();
        var y = Empty([g.N, g.C, g.P, g.Q], Device);
        var indices = Empty([g.N, g.C, g.P, g.Q], Device, DType.Int32);
        Backend.MaxPool2dForward(g, x.Buffer, y.Buffer, indices.Buffer);
        var values = Record(y, op + "Backward", [this], grad =>
        {
            var gd = grad.DenseData();
            var dx = Empty([g.N, g.C, g.H, g.W], grad.Device);
            grad.Backend.MaxPool2dBackward(g, gd.Buffer, indices.Buffer, dx.Buffer);
            return [dx];
        });
        return (values, indices);
    }

    /// <summary>Average pooling; padded positions count in the divisor when <paramref name="countIncludePad"/> (PyTorch's default).</summary>
    /// <param name="kernelSize">Window height and width.</param>
    /// <param name="stride">Step between windows; the kernel size when null.</param>
    /// <param name="padding">Zero padding per side; at most half the kernel on each side.</param>
    /// <param name="countIncludePad">Whether padded positions count in the divisor (windows past the bottom/right
    /// padding in ceil mode are clipped there, as in PyTorch).</param>
    /// <param name="ceilMode">Round the output size up, keeping a last partial window that starts inside the input or
    /// the top/left padding (PyTorch's ceil_mode).</param>
    /// <example><code>var y = x.AvgPool2d((2, 2));</code></example>
    public Tensor AvgPool2d(
        (int H, int W) kernelSize, (int H, int W)? stride = null, Padding2d? padding = null, bool countIncludePad = true, bool ceilMode = false) =>
        AvgPool2d("AvgPool2d", kernelSize, stride, padding, countIncludePad, ceilMode);

    /// <summary>Average pooling with errors naming <paramref name="op"/> (AvgPool1d runs through it).</summary>
    internal Tensor AvgPool2d(string op, (int H, int W) kernelSize, (int H, int W)? stride, Padding2d? padding, bool countIncludePad, bool ceilMode)
    {
        if (DType.IsHalf())
        {
            return Narrowed(Widened.AvgPool2d(op, kernelSize, stride, padding, countIncludePad, ceilMode), DType);
        }

        var g = PoolGeometry(op, kernelSize, stride, padding, null, ceilMode);
        var x = DenseData();
        var y = Empty([g.N, g.C, g.P, g.Q], Device);
        Backend.AvgPool2dForward(g, countIncludePad, x.Buffer, y.Buffer);
        return Record(y, op + "Backward", [this], grad =>
        {
            var gd = grad.DenseData();
            var dx = Empty([g.N, g.C, g.H, g.W], grad.Device);
            grad.Backend.AvgPool2dBackward(g, countIncludePad, gd.Buffer, dx.Buffer);
            return [dx];
        });
    }

    /// <summary>Mean over the spatial dimensions: [N, C, H, W] -> [N, C].</summary>
    /// <example><code>var features = x.GlobalAvgPool2d();</code></example>
    public Tensor GlobalAvgPool2d()
    {
        if (Rank != 4)
        {
            throw new ArgumentException($"GlobalAvgPool2d: expected [N, C, H, W], got {Shapes.Format(shape)}.");
        }

        return Mean([2, 3]);
    }

    private Pool2dGeometry PoolGeometry(string op, (int H, int W) kernel, (int H, int W)? stride, Padding2d? padding, (int H, int W)? dilation, bool ceilMode)
    {
        CheckFloat(op);
        if (Rank != 4)
        {
            throw new ArgumentException($"{op}: expected input [N, C, H, W], got {Shapes.Format(shape)}.");
        }

        return PoolGeometry(op, shape, kernel, stride, padding, dilation, ceilMode);
    }

    /// <summary>The checked pooling geometry for an input of this [N, C, H, W] shape.</summary>
    internal static Pool2dGeometry PoolGeometry(
        string op, int[] shape, (int H, int W) kernel, (int H, int W)? stride, Padding2d? padding, (int H, int W)? dilation = null, bool ceilMode = false)
    {
        var (sh, sw) = stride ?? kernel;
        var (dh, dw) = dilation ?? (1, 1);
        var pad = padding ?? (0, 0);
        if (kernel.H < 1 || kernel.W < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || !pad.IsValid)
        {
            throw new ArgumentException($"{op}: kernel ({kernel.H}, {kernel.W}) and stride ({sh}, {sw}) must be positive, as must dilation ({dh}, {dw}), and padding {pad} non-negative.");
        }

        if ((long)Math.Max(pad.Top, pad.Bottom) * 2 > kernel.H || (long)Math.Max(pad.Left, pad.Right) * 2 > kernel.W)
        {
            throw new ArgumentException($"{op}: padding {pad} must be at most half the kernel ({kernel.H}, {kernel.W}) on every side.");
        }

        // Extents in 64 bits: a large padding, dilation or input must fail here, not wrap around in the output size.
        long paddedH = (long)shape[2] + pad.Top + pad.Bottom, paddedW = (long)shape[3] + pad.Left + pad.Right;
        long spanH = ((long)dh * (kernel.H - 1)) + 1, spanW = ((long)dw * (kernel.W - 1)) + 1;
        if (paddedH < spanH || paddedW < spanW)
        {
            throw new ArgumentException($"{op}: a ({kernel.H}, {kernel.W}) window (dilation {dh}, {dw}) spans {spanH}x{spanW} and does not fit input {Shapes.Format(shape)} with padding {pad}.");
        }

        string Geometry() => $"for input {Shapes.Format(shape)}, kernel ({kernel.H}, {kernel.W}), stride ({sh}, {sw}), padding {pad}, dilation ({dh}, {dw})";
        if (!Shapes.IsExtent(paddedH) || !Shapes.IsExtent(paddedW))
        {
            throw Shapes.ExtentError(op, "the padded input height or width", Math.Max(paddedH, paddedW), Geometry());
        }

        var g = new Pool2dGeometry(shape[0], shape[1], shape[2], shape[3], kernel.H, kernel.W, sh, sw, pad.Top, pad.Bottom, pad.Left, pad.Right, dh, dw, ceilMode);
        if (!Shapes.IsValidSize([g.N, g.C, g.P, g.Q]))
        {
            throw Shapes.SizeError(op, [g.N, g.C, g.P, g.Q], $" (the output {Geometry()})");
        }

        return g;
    }
}
