// Fused bias + activation on the CPU: one SIMD pass for y = f(x + b), one for dx = dy * f'(x + b, y),
// and a per-channel sum of dx for the bias gradient. Dense layers have inner == 1 (the bias is a vector
// along each row); convolutions have one bias value per (image, channel) plane.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    [ThreadStatic]
    private static float[]? biasPlaneSums;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BiasActivation<TOp>(TOp op, DeviceBuffer x, DeviceBuffer? bias, int outer, int channels, int inner, DeviceBuffer y)
        where TOp : struct, IUnaryOp
    {
        var rows = new BiasForwardRows<TOp> { Op = op, X = Cpu(x).Pointer, Y = Cpu(y).Pointer, Bias = bias is null ? null : Cpu(bias).Pointer };
        ForEachBiasRow(outer, channels, inner, rows);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BiasActivationBackward<TOp>(
        TOp op, DeviceBuffer x, DeviceBuffer? bias, DeviceBuffer y, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer dx, DeviceBuffer? dbias)
        where TOp : struct, IUnaryOp
    {
        float* dp = Cpu(dx).Pointer;

        // With one bias per plane, each plane's sum of dx is taken while dx is written (no second pass).
        bool planeSums = dbias is not null && inner > 1;
        float[] sums = planeSums ? Scratch(ref biasPlaneSums, (long)outer * channels) : [];
        fixed (float* sp = sums)
        {
            var rows = new BiasBackwardRows<TOp>
            {
                Op = op,
                X = Cpu(x).Pointer,
                Bias = bias is null ? null : Cpu(bias).Pointer,
                Y = Cpu(y).Pointer,
                Dy = Cpu(dy).Pointer,
                Dx = dp,
                PlaneSums = planeSums ? sp : null,
                Inner = inner,
            };
            ForEachBiasRow(outer, channels, inner, rows);
        }

        if (dbias is null)
        {
            return;
        }

        float* db = Cpu(dbias).Pointer;
        if (inner == 1)
        {
            // Column sums of dx [outer, channels], row after row so the reads stay sequential.
            new Span<float>(db, channels).Clear();
            for (int r = 0; r < outer; r++)
            {
                float* dr = dp + ((long)r * channels);
                int w = Vector<float>.Count, c = 0;
                for (; c <= channels - w; c += w)
                {
                    (Vector.Load(db + c) + Vector.Load(dr + c)).Store(db + c);
                }

                for (; c < channels; c++)
                {
                    db[c] += dr[c];
                }
            }

            return;
        }

        for (int c = 0; c < channels; c++)
        {
            double sum = 0;
            for (int o = 0; o < outer; o++)
            {
                sum += sums[(o * channels) + c];
            }

            db[c] = (float)sum;
        }
    }

    /// <summary>Runs body.Run(row start, row length, channel) over rows that share one bias layout: whole
    /// [channels] rows when inner == 1 (channel -1: the bias varies along the row), else [inner] planes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForEachBiasRow<TRows>(int outer, int channels, int inner, in TRows body)
        where TRows : struct, IBiasRows
    {
        if (inner == 1)
        {
            CpuParallel.For(outer, channels, (body, channels), [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in (TRows Body, int Channels) s, int r0, int r1) =>
            {
                for (int r = r0; r < r1; r++)
                {
                    s.Body.Run((long)r * s.Channels, s.Channels, -1);
                }
            });
            return;
        }

        CpuParallel.For(outer * channels, inner, (body, channels, inner), [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in (TRows Body, int Channels, int Inner) s, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                s.Body.Run((long)r * s.Inner, s.Inner, r % s.Channels);
            }
        });
    }

    private static Vector<float> BiasVector(float* bias, int channel, int i) =>
        bias == null ? Vector<float>.Zero : channel < 0 ? Vector.Load(bias + i) : new Vector<float>(bias[channel]);

    private static float BiasAt(float* bias, int channel, int i) =>
        bias == null ? 0f : channel < 0 ? bias[i] : bias[channel];

    /// <summary>The work on one row of a bias layout: [length] elements from <c>row</c>, with bias channel <c>channel</c>
    /// (-1: the bias varies along the row).</summary>
    private interface IBiasRows
    {
        void Run(long row, int length, int channel);
    }

    /// <summary>y = f(x + b) on one row.</summary>
    private struct BiasForwardRows<TOp> : IBiasRows
        where TOp : struct, IUnaryOp
    {
        public TOp Op;
        public float* X, Y, Bias;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(long row, int length, int channel)
        {
            float* xr = X + row, yr = Y + row, bp = Bias;
            var op = Op;
            int w = Vector<float>.Count, i = 0;
            for (; i <= length - w; i += w)
            {
                op.Apply(Vector.Load(xr + i) + BiasVector(bp, channel, i)).Store(yr + i);
            }

            for (; i < length; i++)
            {
                yr[i] = op.Apply(xr[i] + BiasAt(bp, channel, i));
            }
        }
    }

    /// <summary>dx = dy * f'(x + b, y) on one row, and with <see cref="PlaneSums"/> the row's sum of dx.</summary>
    private struct BiasBackwardRows<TOp> : IBiasRows
        where TOp : struct, IUnaryOp
    {
        public TOp Op;
        public float* X, Bias, Y, Dy, Dx, PlaneSums;
        public int Inner;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(long row, int length, int channel)
        {
            float* xr = X + row, yr = Y + row, gr = Dy + row, dr = Dx + row, bp = Bias;
            var op = Op;
            int w = Vector<float>.Count, i = 0;
            var acc = Vector<float>.Zero;
            if (typeof(TOp) == typeof(ReluOp))
            {
                // ReLU's slope is known from its output alone (y > 0 exactly where x + b > 0), so the
                // pass reads two arrays instead of three.
                for (; i <= length - w; i += w)
                {
                    var d = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(yr + i), Vector<float>.Zero), Vector.Load(gr + i), Vector<float>.Zero);
                    d.Store(dr + i);
                    acc += d;
                }
            }

            for (; i <= length - w; i += w)
            {
                var z = Vector.Load(xr + i) + BiasVector(bp, channel, i);
                var d = Vector.Load(gr + i) * op.Derivative(z, Vector.Load(yr + i));
                d.Store(dr + i);
                acc += d;
            }

            float tail = 0f;
            for (; i < length; i++)
            {
                dr[i] = gr[i] * op.Derivative(xr[i] + BiasAt(bp, channel, i), yr[i]);
                tail += dr[i];
            }

            if (PlaneSums != null)
            {
                PlaneSums[row / Inner] = Vector.Sum(acc) + tail;
            }
        }
    }
}
