// Reductions along one axis and row-wise softmax on the CPU, SIMD along contiguous data.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Reduce(ReduceKind kind, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y)
    {
        if (kind is not (ReduceKind.Sum or ReduceKind.Max or ReduceKind.Min))
        {
            throw new ArgumentException($"Reduce: {kind} is not a float32 reduction; it takes Sum, Max or Min (arg-extremes go through TypedReduce).", nameof(kind));
        }

        float* xp = Cpu(x).Pointer;
        float* yp = Cpu(y).Pointer;
        if (inner == 1)
        {
            CpuParallel.For(outer, axis, (kind, axis, (nint)xp, (nint)yp), static (in (ReduceKind Kind, int Axis, nint Xp, nint Yp) state, int o0, int o1) =>
            {
                var (kind, axis, _, _) = state;
                float* xp = (float*)state.Xp, yp = (float*)state.Yp;
                for (int o = o0; o < o1; o++)
                {
                    yp[o] = ReduceRow(kind, xp + ((long)o * axis), axis);
                }
            });
            return;
        }

        CpuParallel.For(outer, (long)axis * inner, (kind, axis, inner, (nint)xp, (nint)yp), static (in (ReduceKind Kind, int Axis, int Inner, nint Xp, nint Yp) state, int o0, int o1) =>
        {
            var (kind, axis, inner, _, _) = state;
            float* xp = (float*)state.Xp, yp = (float*)state.Yp;
            for (int o = o0; o < o1; o++)
            {
                ReduceColumns(kind, xp + ((long)o * axis * inner), axis, inner, yp + ((long)o * inner));
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Softmax(DeviceBuffer x, DeviceBuffer y, int rows, int cols, bool log)
    {
        float* xp = Cpu(x).Pointer;
        float* yp = Cpu(y).Pointer;
        CpuParallel.For(rows, cols * 4L, (cols, log, (nint)xp, (nint)yp), static (in (int Cols, bool Log, nint Xp, nint Yp) state, int r0, int r1) =>
        {
            var (cols, log, _, _) = state;
            float* xp = (float*)state.Xp, yp = (float*)state.Yp;
            var exp = default(ExpOp);
            int w = Vector<float>.Count;
            for (int r = r0; r < r1; r++)
            {
                float* xr = xp + ((long)r * cols);
                float* yr = yp + ((long)r * cols);
                float max = ReduceRow(ReduceKind.Max, xr, cols);
                var maxV = new Vector<float>(max);
                var sumV = Vector<float>.Zero;
                float sum = 0;
                int i = 0;
                for (; i <= cols - w; i += w)
                {
                    var e = exp.Apply(Vector.Load(xr + i) - maxV);
                    sumV += e;
                    if (!log)
                    {
                        e.Store(yr + i);
                    }
                }

                for (; i < cols; i++)
                {
                    float e = MathF.Exp(xr[i] - max);
                    sum += e;
                    if (!log)
                    {
                        yr[i] = e;
                    }
                }

                sum += Vector.Sum(sumV);
                if (log)
                {
                    // (x - max) - log(sum), as the GPU kernel: x - (max + log(sum)) would round log(sum) away
                    // against a large max (at 1e4 a float's spacing is 1e-3).
                    float logSum = MathF.Log(sum);
                    for (int j = 0; j < cols; j++)
                    {
                        yr[j] = (xr[j] - max) - logSum;
                    }
                }
                else
                {
                    float inv = 1f / sum;
                    for (int j = 0; j < cols; j++)
                    {
                        yr[j] *= inv;
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SoftmaxBackward(DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int rows, int cols, bool log)
    {
        float* yp = Cpu(y).Pointer;
        float* gp = Cpu(dy).Pointer;
        float* dp = Cpu(dx).Pointer;
        CpuParallel.For(rows, cols * 4L, (cols, log, (nint)yp, (nint)gp, (nint)dp), static (in (int Cols, bool Log, nint Yp, nint Gp, nint Dp) state, int r0, int r1) =>
        {
            var (cols, log, _, _, _) = state;
            float* yp = (float*)state.Yp, gp = (float*)state.Gp, dp = (float*)state.Dp;
            for (int r = r0; r < r1; r++)
            {
                long o = (long)r * cols;
                float* yr = yp + o, gr = gp + o, dr = dp + o;
                if (log)
                {
                    // y = log_softmax(x): dx = dy - softmax(x) * sum(dy).
                    float sum = ReduceRow(ReduceKind.Sum, gr, cols);
                    for (int j = 0; j < cols; j++)
                    {
                        dr[j] = gr[j] - (MathF.Exp(yr[j]) * sum);
                    }
                }
                else
                {
                    // y = softmax(x): dx = y * (dy - sum(dy * y)).
                    float dot = 0;
                    for (int j = 0; j < cols; j++)
                    {
                        dot += gr[j] * yr[j];
                    }

                    for (int j = 0; j < cols; j++)
                    {
                        dr[j] = yr[j] * (gr[j] - dot);
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SoftmaxCrossEntropy(DeviceBuffer logits, DeviceBuffer labels, int rows, int cols, float smoothing, DeviceBuffer loss, DeviceBuffer probabilities)
    {
        float* xp = Cpu(logits).Pointer, outp = Cpu(loss).Pointer, pp = Cpu(probabilities).Pointer;
        int* lp = Cpu(labels).As<int>();
        CpuParallel.For(rows, cols * 4L, (cols, smoothing, (nint)xp, (nint)lp, (nint)outp, (nint)pp), static (in (int Cols, float Smoothing, nint Xp, nint Lp, nint Outp, nint Pp) state, int r0, int r1) =>
        {
            var (cols, smoothing, _, _, _, _) = state;
            float* xp = (float*)state.Xp, outp = (float*)state.Outp, pp = (float*)state.Pp;
            int* lp = (int*)state.Lp;
            var exp = default(ExpOp);
            int w = Vector<float>.Count;
            for (int r = r0; r < r1; r++)
            {
                float* xr = xp + ((long)r * cols);
                float* pr = pp + ((long)r * cols);

                // One pass for exp(x - max) (kept as unnormalized probabilities) and the sums, one to normalize.
                float max = ReduceRow(ReduceKind.Max, xr, cols);
                var maxV = new Vector<float>(max);
                var sumExpV = Vector<float>.Zero;
                var sumXV = Vector<float>.Zero;
                int c = 0;
                for (; c <= cols - w; c += w)
                {
                    var v = Vector.Load(xr + c);
                    var e = exp.Apply(v - maxV);
                    e.Store(pr + c);
                    sumExpV += e;
                    sumXV += v;
                }

                double sumExp = Vector.Sum(sumExpV), sumX = Vector.Sum(sumXV);
                for (; c < cols; c++)
                {
                    float e = MathF.Exp(xr[c] - max);
                    pr[c] = e;
                    sumExp += e;
                    sumX += xr[c];
                }

                var inv = new Vector<float>((float)(1.0 / sumExp));
                c = 0;
                for (; c <= cols - w; c += w)
                {
                    (Vector.Load(pr + c) * inv).Store(pr + c);
                }

                for (; c < cols; c++)
                {
                    pr[c] *= (float)(1.0 / sumExp);
                }

                // loss = logsumexp(x) - sum_c target_c * x_c, with target = (1 - s) * onehot + s / C.
                double logSumExp = max + Math.Log(sumExp);
                double targetDot = ((1.0 - smoothing) * xr[lp[r]]) + (smoothing * sumX / cols);
                outp[r] = (float)(logSumExp - targetDot);
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, DeviceBuffer labels, DeviceBuffer dloss, int rows, int cols, float smoothing, DeviceBuffer dlogits)
    {
        float* pp = Cpu(probabilities).Pointer, gp = Cpu(dloss).Pointer, dp = Cpu(dlogits).Pointer;
        int* lp = Cpu(labels).As<int>();
        float uniform = smoothing / cols;
        CpuParallel.For(rows, cols, (cols, uniform, smoothing, (nint)pp, (nint)lp, (nint)gp, (nint)dp), static (in (int Cols, float Uniform, float Smoothing, nint Pp, nint Lp, nint Gp, nint Dp) state, int r0, int r1) =>
        {
            var (cols, uniform, smoothing, _, _, _, _) = state;
            float* pp = (float*)state.Pp, gp = (float*)state.Gp, dp = (float*)state.Dp;
            int* lp = (int*)state.Lp;
            for (int r = r0; r < r1; r++)
            {
                float g = gp[r];
                float* pr = pp + ((long)r * cols), dr = dp + ((long)r * cols);
                for (int c = 0; c < cols; c++)
                {
                    dr[c] = g * (pr[c] - uniform);
                }

                dr[lp[r]] -= g * (1f - smoothing);
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float ReduceRow(ReduceKind kind, float* x, int n)
    {
        int w = Vector<float>.Count;
        int k = 0;
        float result;
        if (n >= w)
        {
            var acc = Vector.Load(x);
            for (k = w; k <= n - w; k += w)
            {
                var v = Vector.Load(x + k);
                acc = kind switch
                {
                    ReduceKind.Sum => acc + v,
                    ReduceKind.Max => Vector.Max(acc, v),
                    _ => Vector.Min(acc, v),
                };
            }

            result = kind switch
            {
                ReduceKind.Sum => Vector.Sum(acc),
                ReduceKind.Max => MaxOf(acc),
                _ => MinOf(acc),
            };
        }
        else
        {
            result = kind switch
            {
                ReduceKind.Sum => 0f,
                ReduceKind.Max => float.NegativeInfinity,
                _ => float.PositiveInfinity,
            };
        }

        for (; k < n; k++)
        {
            result = kind switch
            {
                ReduceKind.Sum => result + x[k],
                ReduceKind.Max => MathF.Max(result, x[k]),
                _ => MathF.Min(result, x[k]),
            };
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReduceColumns(ReduceKind kind, float* x, int axis, int inner, float* y)
    {
        new ReadOnlySpan<float>(x, inner).CopyTo(new Span<float>(y, inner));
        int w = Vector<float>.Count;
        for (int a = 1; a < axis; a++)
        {
            float* row = x + ((long)a * inner);
            int i = 0;
            for (; i <= inner - w; i += w)
            {
                var acc = Vector.Load(y + i);
                var v = Vector.Load(row + i);
                acc = kind switch
                {
                    ReduceKind.Sum => acc + v,
                    ReduceKind.Max => Vector.Max(acc, v),
                    _ => Vector.Min(acc, v),
                };
                acc.Store(y + i);
            }

            for (; i < inner; i++)
            {
                y[i] = kind switch
                {
                    ReduceKind.Sum => y[i] + row[i],
                    ReduceKind.Max => MathF.Max(y[i], row[i]),
                    _ => MathF.Min(y[i], row[i]),
                };
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float MaxOf(Vector<float> v)
    {
        float m = v[0];
        for (int i = 1; i < Vector<float>.Count; i++)
        {
            m = MathF.Max(m, v[i]);
        }

        return m;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float MinOf(Vector<float> v)
    {
        float m = v[0];
        for (int i = 1; i < Vector<float>.Count; i++)
        {
            m = MathF.Min(m, v[i]);
        }

        return m;
    }
}
