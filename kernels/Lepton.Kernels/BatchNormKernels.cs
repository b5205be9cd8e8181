// Batch normalization over x viewed as [n, channels, inner]: statistics and the backward pass run one
// group per channel (group reductions), the forward pass is element-wise.
namespace Lepton.Kernels;

/// <summary>Batch-norm kernels; the per-channel ones need dynamic shared memory of two floats per warp.</summary>
public static class BatchNormKernels
{
    /// <summary>mean[c] and biased variance[c] (two passes: mean, then squared deviations).</summary>
    public static void Statistics(ArrayView<float> x, ArrayView<float> mean, ArrayView<float> variance, int n, int channels, int inner)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        long count = (long)n * inner;
        for (int c = Grid.IdxX; c < channels; c += Grid.DimX)
        {
            float sum = 0f;
            for (long e = Group.IdxX; e < count; e += Group.DimX)
            {
                sum += x[At(e, c, channels, inner)];
            }

            float m = GroupReduce.Sum(sum, scratch) / count;
            float squares = 0f;
            for (long e = Group.IdxX; e < count; e += Group.DimX)
            {
                float d = x[At(e, c, channels, inner)] - m;
                squares += d * d;
            }

            squares = GroupReduce.Sum(squares, scratch);
            if (Group.IsFirstThread)
            {
                mean[c] = m;
                variance[c] = squares / count;
            }
        }
    }

    /// <summary>y = (x - mean[c]) * rsqrt(variance[c] + eps) * gamma[c] + beta[c] (gamma 1 and beta 0 unless flagged).</summary>
    public static void Forward(
        ArrayView<float> x, ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> y, int n, int channels, int inner, float eps, int hasGamma, int hasBeta)
    {
        long total = (long)n * channels * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int c = (int)(e / inner % channels);
            float scale = (hasGamma != 0 ? gamma[c] : 1f) / MathF.Sqrt(variance[c] + eps);
            float shift = (hasBeta != 0 ? beta[c] : 0f) - (mean[c] * scale);
            y[e] = (x[e] * scale) + shift;
        }
    }

    /// <summary>dgamma = sum(dy * xhat), dbeta = sum(dy) and dx; with batch statistics the mean/variance gradient flows into dx.</summary>
    public static void Backward(
        ArrayView<float> x, ArrayView<float> dy, ArrayView<float> mean, ArrayView<float> variance, ArrayView<float> gamma,
        ArrayView<float> dx, ArrayView<float> dgamma, ArrayView<float> dbeta,
        int n, int channels, int inner, float eps, int flags)
    {
        // flags: 1 gamma given, 2 batch statistics, 4 write dgamma, 8 write dbeta.
        var scratch = SharedMemory.GetDynamic<float>();
        long count = (long)n * inner;
        for (int c = Grid.IdxX; c < channels; c += Grid.DimX)
        {
            float m = mean[c];
            float invStd = 1f / MathF.Sqrt(variance[c] + eps);
            float sumDy = 0f, sumDyXhat = 0f;
            for (long e = Group.IdxX; e < count; e += Group.DimX)
            {
                long at = At(e, c, channels, inner);
                sumDy += dy[at];
                sumDyXhat += dy[at] * (x[at] - m) * invStd;
            }

            sumDy = GroupReduce.Sum(sumDy, scratch);
            sumDyXhat = GroupReduce.Sum(sumDyXhat, scratch);
            if (Group.IsFirstThread)
            {
                if ((flags & 4) != 0)
                {
                    dgamma[c] = sumDyXhat;
                }

                if ((flags & 8) != 0)
                {
                    dbeta[c] = sumDy;
                }
            }

            bool batch = (flags & 2) != 0;
            float meanDy = batch ? sumDy / count : 0f;
            float meanDyXhat = batch ? sumDyXhat / count : 0f;
            float k0 = ((flags & 1) != 0 ? gamma[c] : 1f) * invStd;
            for (long e = Group.IdxX; e < count; e += Group.DimX)
            {
                long at = At(e, c, channels, inner);
                float xhat = (x[at] - m) * invStd;
                dx[at] = k0 * (dy[at] - meanDy - (xhat * meanDyXhat));
            }
        }
    }

    /// <summary>Element e of channel c's n*inner elements.</summary>
    private static long At(long e, int c, int channels, int inner) => ((((e / inner) * channels) + c) * inner) + (e % inner);
}
