// 1-D convolution on [N, C, L] tensors: the 2-D convolution of an image one row high, so it shares
// its kernels, its backward and its fast paths. Only the checks are 1-D, so errors show 1-D shapes.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Convolves x [N, C, L] with weight [K, C/groups, S], adding bias [K] when given; y is [N, K, Lout].</summary>
    /// <param name="weight">Filters [K, C/groups, S].</param>
    /// <param name="bias">Per-filter bias [K], or null.</param>
    /// <param name="stride">Step between output positions.</param>
    /// <param name="padding">Zero padding: an int for both sides, or (left, right).</param>
    /// <param name="dilation">Step between a filter's taps.</param>
    /// <param name="groups">Channel groups: input and output channels split into this many independent convolutions.</param>
    /// <example><code>var y = x.Conv1d(w, b, padding: 1); // 'same' for a 3-tap filter</code></example>
    public Tensor Conv1d(Tensor weight, Tensor? bias = null, int stride = 1, Padding1d? padding = null, int dilation = 1, int groups = 1)
    {
        var pad = padding ?? 0;
        CheckConv1d(weight, stride, pad, dilation, groups);
        var y = Unsqueeze(2).Conv2d(weight.Unsqueeze(2), bias, (1, stride), pad.As2d, (1, dilation), groups);
        return y.Reshape(y.ShapeRef[0], y.ShapeRef[1], y.ShapeRef[3]);
    }

    /// <summary>The 1-D checks of <see cref="Conv1d"/>, so that its errors name the op and the 1-D shapes.</summary>
    private void CheckConv1d(Tensor weight, int stride, Padding1d pad, int dilation, int groups)
    {
        ThrowIfDisposed();
        weight.ThrowIfDisposed();
        if (Rank != 3 || weight.Rank != 3)
        {
            throw new ArgumentException($"Conv1d: expected input [N, C, L] and weight [K, C/groups, S], got {Shapes.Format(shape)} and {Shapes.Format(weight.shape)}.");
        }

        if (stride < 1 || dilation < 1 || groups < 1 || pad.Left < 0 || pad.Right < 0)
        {
            throw new ArgumentException($"Conv1d: stride ({stride}), dilation ({dilation}) and groups ({groups}) must be positive, and padding {pad} non-negative.");
        }

        int c = shape[1], k = weight.shape[0];
        if (c % groups != 0 || k % groups != 0 || weight.shape[1] != c / groups)
        {
            throw new ArgumentException($"Conv1d: input {Shapes.Format(shape)} with groups={groups} needs weight [K, {c / groups}, S] with K divisible by {groups}; got {Shapes.Format(weight.shape)}.");
        }

        long span = ((long)dilation * (weight.shape[2] - 1)) + 1;
        if (weight.shape[2] == 0 || (long)shape[2] + pad.Left + pad.Right < span)
        {
            throw new ArgumentException($"Conv1d: a {weight.shape[2]}-tap filter (dilation {dilation}) spans {span} and does not fit input {Shapes.Format(shape)} with padding {pad}.");
        }
    }
}
