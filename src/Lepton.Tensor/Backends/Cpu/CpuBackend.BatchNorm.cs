// Fused batch normalization on the CPU: statistics, forward and backward each in one or two passes
// per channel, channels split across threads, float64 accumulation for the sums.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BatchNormStatistics(DeviceBuffer x, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance)
    {
        float* xp = Cpu(x).Pointer, mp = Cpu(mean).Pointer, vp = Cpu(variance).Pointer;
        CpuParallel.For(channels, (long)n * inner * 2, (n, channels, inner, (nint)xp, (nint)mp, (nint)vp), static (in (int N, int Channels, int Inner, nint Xp, nint Mp, nint Vp) state, int c0, int c1) =>
        {
            var (n, channels, inner, _, _, _) = state;
            float* xp = (float*)state.Xp, mp = (float*)state.Mp, vp = (float*)state.Vp;
            for (int c = c0; c < c1; c++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    sum += SumRow(xp + ((((long)i * channels) + c) * inner), inner);
                }

                double m = sum / ((double)n * inner);
                double squares = 0;
                for (int i = 0; i < n; i++)
                {
                    float* row = xp + ((((long)i * channels) + c) * inner);
                    for (int k = 0; k < inner; k++)
                    {
                        double d = row[k] - m;
                        squares += d * d;
                    }
                }

                mp[c] = (float)m;
                vp[c] = (float)(squares / ((double)n * inner));
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BatchNormForward(DeviceBuffer x, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance, float eps, DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer y)
    {
        float* xp = Cpu(x).Pointer, yp = Cpu(y).Pointer, mp = Cpu(mean).Pointer, vp = Cpu(variance).Pointer;
        float* gp = gamma is null ? null : Cpu(gamma).Pointer;
        float* bp = beta is null ? null : Cpu(beta).Pointer;
        CpuParallel.For(n * channels, inner, (channels, inner, eps, (nint)xp, (nint)yp, (nint)mp, (nint)vp, (nint)gp, (nint)bp), static (in (int Channels, int Inner, float Eps, nint Xp, nint Yp, nint Mp, nint Vp, nint Gp, nint Bp) state, int r0, int r1) =>
        {
            var (channels, inner, eps, _, _, _, _, _, _) = state;
            float* xp = (float*)state.Xp, yp = (float*)state.Yp, mp = (float*)state.Mp, vp = (float*)state.Vp, gp = (float*)state.Gp, bp = (float*)state.Bp;
            for (int r = r0; r < r1; r++)
            {
                int c = r % channels;
                float scale = (gp == null ? 1f : gp[c]) / MathF.Sqrt(vp[c] + eps);
                float shift = (bp == null ? 0f : bp[c]) - (mp[c] * scale);
                ScaleShiftRow(xp + ((long)r * inner), yp + ((long)r * inner), inner, scale, shift);
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BatchNormBackward(
        DeviceBuffer x, DeviceBuffer dy, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance, float eps,
        DeviceBuffer? gamma, bool batchStatistics, DeviceBuffer dx, DeviceBuffer? dgamma, DeviceBuffer? dbeta)
    {
        float* xp = Cpu(x).Pointer, gp = Cpu(dy).Pointer, dp = Cpu(dx).Pointer, mp = Cpu(mean).Pointer, vp = Cpu(variance).Pointer;
        float* gammaP = gamma is null ? null : Cpu(gamma).Pointer;
        float* dgP = dgamma is null ? null : Cpu(dgamma).Pointer;
        float* dbP = dbeta is null ? null : Cpu(dbeta).Pointer;
        CpuParallel.For(channels, (long)n * inner * 4, (n, channels, inner, eps, batchStatistics, (nint)xp, (nint)gp, (nint)dp, (nint)mp, (nint)vp, (nint)gammaP, (nint)dgP, (nint)dbP), static (in (int N, int Channels, int Inner, float Eps, bool BatchStatistics, nint Xp, nint Gp, nint Dp, nint Mp, nint Vp, nint GammaP, nint DgP, nint DbP) state, int c0, int c1) =>
        {
            var (n, channels, inner, eps, batchStatistics, _, _, _, _, _, _, _, _) = state;
            float* xp = (float*)state.Xp, gp = (float*)state.Gp, dp = (float*)state.Dp, mp = (float*)state.Mp, vp = (float*)state.Vp, gammaP = (float*)state.GammaP, dgP = (float*)state.DgP, dbP = (float*)state.DbP;
            for (int c = c0; c < c1; c++)
            {
                float m = mp[c];
                float invStd = 1f / MathF.Sqrt(vp[c] + eps);
                double sumDy = 0, sumDyXhat = 0;
                for (int i = 0; i < n; i++)
                {
                    long offset = (((long)i * channels) + c) * inner;
                    float* xr = xp + offset, gr = gp + offset;
                    for (int k = 0; k < inner; k++)
                    {
                        sumDy += gr[k];
                        sumDyXhat += gr[k] * (xr[k] - m) * invStd;
                    }
                }

                if (dgP != null)
                {
                    dgP[c] = (float)sumDyXhat;
                }

                if (dbP != null)
                {
                    dbP[c] = (float)sumDy;
                }

                float g = gammaP == null ? 1f : gammaP[c];
                double count = (double)n * inner;
                float meanDy = batchStatistics ? (float)(sumDy / count) : 0f;
                float meanDyXhat = batchStatistics ? (float)(sumDyXhat / count) : 0f;
                float k0 = g * invStd;
                for (int i = 0; i < n; i++)
                {
                    long offset = (((long)i * channels) + c) * inner;
                    float* xr = xp + offset, gr = gp + offset, dr = dp + offset;
                    for (int k = 0; k < inner; k++)
                    {
                        float xhat = (xr[k] - m) * invStd;
                        dr[k] = k0 * (gr[k] - meanDy - (xhat * meanDyXhat));
                    }
                }
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumRow(float* x, int length)
    {
        int w = Vector<float>.Count;
        var acc = Vector<float>.Zero;
        int i = 0;
        for (; i <= length - w; i += w)
        {
            acc += Vector.Load(x + i);
        }

        double sum = Vector.Sum(acc);
        for (; i < length; i++)
        {
            sum += x[i];
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleShiftRow(float* x, float* y, int length, float scale, float shift)
    {
        int w = Vector<float>.Count;
        var s = new Vector<float>(scale);
        var b = new Vector<float>(shift);
        int i = 0;
        for (; i <= length - w; i += w)
        {
            ((Vector.Load(x + i) * s) + b).Store(y + i);
        }

        for (; i < length; i++)
        {
            y[i] = (x[i] * scale) + shift;
        }
    }
}
