// Fused bias + activation over x viewed as [outer, channels, inner]: y = f(x + bias[c]) and its
// backward in one element-wise pass each, plus a per-channel sum (one group per channel) for the bias.
namespace Lepton.Kernels;

/// <summary>Bias-activation kernels.</summary>
public static class BiasKernels
{
    /// <summary>y = f(x + bias[c]); bias ignored when <paramref name="hasBias"/> is 0.</summary>
    public static void Forward<TOp>(ArrayView<float> x, ArrayView<float> bias, ArrayView<float> y, int channels, int inner, long total, int hasBias, TOp op)
        where TOp : struct, IScalarUnary
    {
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            float b = hasBias != 0 ? bias[(int)(e / inner % channels)] : 0f;
            y[e] = op.Apply(x[e] + b);
        }
    }

    /// <summary>dx = dy * f'(x + bias[c], y).</summary>
    public static void Backward<TOp>(
        ArrayView<float> x, ArrayView<float> bias, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        int channels, int inner, long total, int hasBias, TOp op)
        where TOp : struct, IScalarUnary
    {
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            float b = hasBias != 0 ? bias[(int)(e / inner % channels)] : 0f;
            dx[e] = dy[e] * op.Derivative(x[e] + b, y[e]);
        }
    }

    /// <summary>sums[c] = the sum of x[o, c, i] over o and i; one group per channel, two floats of shared memory per warp.</summary>
    public static void ChannelSum(ArrayView<float> x, ArrayView<float> sums, int outer, int channels, int inner)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        long count = (long)outer * inner;
        for (int c = Grid.IdxX; c < channels; c += Grid.DimX)
        {
            float sum = 0f;
            for (long e = Group.IdxX; e < count; e += Group.DimX)
            {
                sum += x[((((e / inner) * channels) + c) * inner) + (e % inner)];
            }

            sum = GroupReduce.Sum(sum, scratch);
            if (Group.IsFirstThread)
            {
                sums[c] = sum;
            }
        }
    }
}
