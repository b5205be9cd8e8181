// Max and average pooling on NCHW tensors (kernel, stride, padding), and global average pooling.
// Max pooling saves the argmax of each window so backward is a scatter.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Max pooling over windows of x [N, C, H, W]; stride defaults to the kernel size.</summary>
    /// <example><code>var y = x.MaxPool2d((2, 2));</code></example>
    public Tensor MaxPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, Padding2d? padding = null)
    {
        var g = PoolGeometry("MaxPool2d", kernelSize, stride, padding);
        var x = DenseData();
        var y = Empty([g.N, g.C, g.P, g.Q], Device);
        var indices = Empty([g.N, g.C, g.P, g.Q], Device, DType.Int32);
        Backend.MaxPool2dForward(g, x.Buffer, y.Buffer, indices.Buffer);
        return Record(y, "MaxPool2dBackward", [this], grad =>
        {
            var gd = grad.DenseData();
            var dx = Empty([g.N, g.C, g.H, g.W], grad.Device);
            grad.Backend.MaxPool2dBackward(g, gd.Buffer, indices.Buffer, dx.Buffer);
            return [dx];
        });
    }

    /// <summary>Average pooling; padded positions count in the divisor when <paramref name="countIncludePad"/> (PyTorch's default).</summary>
    /// <example><code>var y = x.AvgPool2d((2, 2));</code></example>
    public Tensor AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride = null, Padding2d? padding = null, bool countIncludePad = true)
    {
        var g = PoolGeometry("AvgPool2d", kernelSize, stride, padding);
        var x = DenseData();
        var y = Empty([g.N, g.C, g.P, g.Q], Device);
        Backend.AvgPool2dForward(g, countIncludePad, x.Buffer, y.Buffer);
        return Record(y, "AvgPool2dBackward", [this], grad =>
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

    private Pool2dGeometry PoolGeometry(string op, (int H, int W) kernel, (int H, int W)? stride, Padding2d? padding)
    {
        CheckFloat(op);
        if (Rank != 4)
        {
            throw new ArgumentException($"{op}: expected input [N, C, H, W], got {Shapes.Format(shape)}.");
        }

        return PoolGeometry(op, shape, kernel, stride, padding);
    }

    /// <summary>The checked pooling geometry for an input of this [N, C, H, W] shape.</summary>
    internal static Pool2dGeometry PoolGeometry(string op, int[] shape, (int H, int W) kernel, (int H, int W)? stride, Padding2d? padding)
    {
        var (sh, sw) = stride ?? kernel;
        var pad = padding ?? (0, 0);
        if (kernel.H < 1 || kernel.W < 1 || sh < 1 || sw < 1 || !pad.IsValid)
        {
            throw new ArgumentException($"{op}: kernel ({kernel.H}, {kernel.W}) and stride ({sh}, {sw}) must be positive, padding {pad} non-negative with bottom/right at most one more than top/left.");
        }

        if ((long)pad.Bottom * 2 > kernel.H || (long)pad.Right * 2 > kernel.W)
        {
            throw new ArgumentException($"{op}: padding {pad} must be at most half the kernel ({kernel.H}, {kernel.W}).");
        }

        // Extents in 64 bits: a large padding or input must fail here, not wrap around in the output size.
        long paddedH = (long)shape[2] + pad.Top + pad.Bottom, paddedW = (long)shape[3] + pad.Left + pad.Right;
        if (paddedH < kernel.H || paddedW < kernel.W)
        {
            throw new ArgumentException($"{op}: a ({kernel.H}, {kernel.W}) window does not fit input {Shapes.Format(shape)} with padding {pad}.");
        }

        string Geometry() => $"for input {Shapes.Format(shape)}, kernel ({kernel.H}, {kernel.W}), stride ({sh}, {sw}), padding {pad}";
        if (!Shapes.IsExtent(paddedH) || !Shapes.IsExtent(paddedW))
        {
            throw Shapes.ExtentError(op, "the padded input height or width", Math.Max(paddedH, paddedW), Geometry());
        }

        var g = new Pool2dGeometry(shape[0], shape[1], shape[2], shape[3], kernel.H, kernel.W, sh, sw, pad.Top, pad.Left, pad.Bottom - pad.Top, pad.Right - pad.Left);
        if (!Shapes.IsValidSize([g.N, g.C, g.P, g.Q]))
        {
            throw Shapes.SizeError(op, [g.N, g.C, g.P, g.Q], $" (the output {Geometry()})");
        }

        return g;
    }
}
