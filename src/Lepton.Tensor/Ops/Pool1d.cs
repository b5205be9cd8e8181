// Max and average pooling on [N, C, L] tensors: the 2-D pooling of an image one row high, so they
// share its kernels and backward. Indices returned by max pooling are positions along L.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Max pooling over windows of x [N, C, L]; stride defaults to the kernel size.</summary>
    /// <param name="kernelSize">Window length.</param>
    /// <param name="stride">Step between windows; the kernel size when null.</param>
    /// <param name="padding">Padding (ignored by the maximum): an int for both sides, or (left, right); at most half the kernel.</param>
    /// <param name="dilation">Step between a window's taps.</param>
    /// <param name="ceilMode">Round the output length up (PyTorch's ceil_mode).</param>
    /// <example><code>var y = x.MaxPool1d(2);</code></example>
    public Tensor MaxPool1d(int kernelSize, int? stride = null, Padding1d? padding = null, int dilation = 1, bool ceilMode = false) =>
        MaxPool1dCore(kernelSize, stride, padding, dilation, ceilMode).Values;

    /// <summary>Max pooling that also returns the position along L of each maximum (PyTorch's <c>return_indices=True</c>).</summary>
    /// <param name="kernelSize">Window length.</param>
    /// <param name="returnIndices">Must be true: this overload always returns the indices.</param>
    /// <param name="stride">Step between windows; the kernel size when null.</param>
    /// <param name="padding">Padding (ignored by the maximum): an int for both sides, or (left, right); at most half the kernel.</param>
    /// <param name="dilation">Step between a window's taps.</param>
    /// <param name="ceilMode">Round the output length up (PyTorch's ceil_mode).</param>
    /// <example><code>var (pooled, where) = x.MaxPool1d(2, returnIndices: true);</code></example>
    public (Tensor Values, Tensor Indices) MaxPool1d(int kernelSize, bool returnIndices, int? stride = null, Padding1d? padding = null, int dilation = 1, bool ceilMode = false)
    {
        if (!returnIndices)
        {
            throw new ArgumentException("MaxPool1d: returnIndices is false, but this overload returns (values, indices); call MaxPool1d without returnIndices for the values alone.", nameof(returnIndices));
        }

        var (values, indices) = MaxPool1dCore(kernelSize, stride, padding, dilation, ceilMode);
        return (values, indices.CastTo(DType.Int64));
    }

    /// <summary>Average pooling over windows of x [N, C, L]; padded positions count in the divisor when <paramref name="countIncludePad"/>.</summary>
    /// <param name="kernelSize">Window length.</param>
    /// <param name="stride">Step between windows; the kernel size when null.</param>
    /// <param name="padding">Zero padding: an int for both sides, or (left, right); at most half the kernel.</param>
    /// <param name="countIncludePad">Whether padded positions count in the divisor (PyTorch's default).</param>
    /// <param name="ceilMode">Round the output length up (PyTorch's ceil_mode).</param>
    /// <example><code>var y = x.AvgPool1d(3, stride: 1, padding: 1);</code></example>
    public Tensor AvgPool1d(int kernelSize, int? stride = null, Padding1d? padding = null, bool countIncludePad = true, bool ceilMode = false)
    {
        CheckPool1dInput("AvgPool1d");
        var y = Unsqueeze(2).AvgPool2d("AvgPool1d", (1, kernelSize), (1, stride ?? kernelSize), (padding ?? 0).As2d, countIncludePad, ceilMode);
        return y.Reshape(y.ShapeRef[0], y.ShapeRef[1], y.ShapeRef[3]);
    }

    private (Tensor Values, Tensor Indices) MaxPool1dCore(int kernelSize, int? stride, Padding1d? padding, int dilation, bool ceilMode)
    {
        CheckPool1dInput("MaxPool1d");
        var (y, indices) = Unsqueeze(2).MaxPool2dCore("MaxPool1d", (1, kernelSize), (1, stride ?? kernelSize), (padding ?? 0).As2d, (1, dilation), ceilMode);
        int[] outShape = [y.ShapeRef[0], y.ShapeRef[1], y.ShapeRef[3]];
        return (y.Reshape(outShape), indices.Reshape(outShape));
    }

    private void CheckPool1dInput(string op)
    {
        ThrowIfDisposed();
        if (Rank != 3)
        {
            throw new ArgumentException($"{op}: expected input [N, C, L], got {Shapes.Format(shape)}.");
        }
    }
}
