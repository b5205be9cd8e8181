// Max and average pooling on the CPU, one (image, channel) plane per work item.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MaxPool2dForward(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y, DeviceBuffer indices)
    {
        var geo = g;
        float* xp = Cpu(x).Pointer, yp = Cpu(y).Pointer;
        int* ip = Cpu(indices).As<int>();
        int hw = g.H * g.W, outH = g.P, outW = g.Q, pq = outH * outW;
        if (IsPlain2x2(g))
        {
            MaxPool2x2(g.N * g.C, g.W, hw, outH, outW, xp, yp, ip);
            return;
        }

        CpuParallel.For(g.N * g.C, (long)pq * g.KernelH * g.KernelW, (geo, hw, pq, outH, outW, (nint)xp, (nint)yp, (nint)ip), static (in (Pool2dGeometry Geo, int Hw, int Pq, int OutH, int OutW, nint Xp, nint Yp, nint Ip) s, int c0, int c1) =>
        {
            var (geo, hw, pq, outH, outW, _, _, _) = s;
            float* xp = (float*)s.Xp, yp = (float*)s.Yp;
            int* ip = (int*)s.Ip;
            for (int plane = c0; plane < c1; plane++)
            {
                float* xs = xp + ((long)plane * hw);
                float* ys = yp + ((long)plane * pq);
                int* idx = ip + ((long)plane * pq);
                for (int oh = 0; oh < outH; oh++)
                {
                    var (hs, he) = MaxTaps((oh * geo.StrideH) - geo.PadTop, geo.KernelH, geo.DilationH, geo.H);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        var (ws, we) = MaxTaps((ow * geo.StrideW) - geo.PadLeft, geo.KernelW, geo.DilationW, geo.W);
                        float best = float.NegativeInfinity;

                        // A window of padding alone (possible with dilation) has no position: -1, skipped by the backward.
                        int bestIndex = hs < he && ws < we ? (hs * geo.W) + ws : -1;
                        for (int ih = hs; ih < he; ih += geo.DilationH)
                        {
                            for (int iw = ws; iw < we; iw += geo.DilationW)
                            {
                                // Branch-free: random data makes "is this the new max" unpredictable.
                                int at = (ih * geo.W) + iw;
                                Take(ref best, ref bestIndex, xs[at], at);
                            }
                        }

                        ys[(oh * outW) + ow] = best;
                        idx[(oh * outW) + ow] = bestIndex;
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MaxPool2dBackward(in Pool2dGeometry g, DeviceBuffer dy, DeviceBuffer indices, DeviceBuffer dx)
    {
        float* gp = Cpu(dy).Pointer, dp = Cpu(dx).Pointer;
        int* ip = Cpu(indices).As<int>();
        int hw = g.H * g.W, outH = g.P, outW = g.Q, pq = outH * outW;
        if (IsPlain2x2(g) && outW >= 8 && Avx.IsSupported)
        {
            CpuParallel.For(g.N * g.C, hw, (g, (nint)gp, (nint)ip, (nint)dp), static (in (Pool2dGeometry Geo, nint Gp, nint Ip, nint Dp) s, int c0, int c1) =>
                MaxPool2x2BackwardPlanes(c0, c1, s.Geo.H, s.Geo.W, s.Geo.P, s.Geo.Q, (float*)s.Gp, (int*)s.Ip, (float*)s.Dp));
            return;
        }

        CpuParallel.For(g.N * g.C, pq, (hw, pq, (nint)gp, (nint)ip, (nint)dp), static (in (int Hw, int Pq, nint Gp, nint Ip, nint Dp) s, int c0, int c1) =>
        {
            var (hw, pq, _, _, _) = s;
            float* gp = (float*)s.Gp, dp = (float*)s.Dp;
            int* ip = (int*)s.Ip;
            for (int plane = c0; plane < c1; plane++)
            {
                float* ds = dp + ((long)plane * hw);
                float* gs = gp + ((long)plane * pq);
                int* idx = ip + ((long)plane * pq);
                new Span<float>(ds, hw).Clear();
                for (int o = 0; o < pq; o++)
                {
                    int at = idx[o];
                    if (at >= 0)
                    {
                        ds[at] += gs[o];
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer x, DeviceBuffer y)
    {
        var geo = g;
        float* xp = Cpu(x).Pointer, yp = Cpu(y).Pointer;
        int hw = g.H * g.W, outH = g.P, outW = g.Q, pq = outH * outW;
        CpuParallel.For(g.N * g.C, (long)pq * g.KernelH * g.KernelW, (geo, countIncludePad, hw, pq, outH, outW, (nint)xp, (nint)yp), static (in (Pool2dGeometry Geo, bool CountIncludePad, int Hw, int Pq, int OutH, int OutW, nint Xp, nint Yp) s, int c0, int c1) =>
        {
            var (geo, countIncludePad, hw, pq, outH, outW, _, _) = s;
            float* xp = (float*)s.Xp, yp = (float*)s.Yp;
            for (int plane = c0; plane < c1; plane++)
            {
                float* xs = xp + ((long)plane * hw);
                float* ys = yp + ((long)plane * pq);
                for (int oh = 0; oh < outH; oh++)
                {
                    for (int ow = 0; ow < outW; ow++)
                    {
                        var (hs, he, ws, we, divisor) = AvgWindow(geo, countIncludePad, oh, ow);
                        float sum = 0;
                        for (int ih = hs; ih < he; ih++)
                        {
                            for (int iw = ws; iw < we; iw++)
                            {
                                sum += xs[(ih * geo.W) + iw];
                            }
                        }

                        ys[(oh * outW) + ow] = sum / divisor;
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer dy, DeviceBuffer dx)
    {
        var geo = g;
        float* gp = Cpu(dy).Pointer, dp = Cpu(dx).Pointer;
        int hw = g.H * g.W, outH = g.P, outW = g.Q, pq = outH * outW;
        CpuParallel.For(g.N * g.C, (long)pq * g.KernelH * g.KernelW, (geo, countIncludePad, hw, pq, outH, outW, (nint)gp, (nint)dp), static (in (Pool2dGeometry Geo, bool CountIncludePad, int Hw, int Pq, int OutH, int OutW, nint Gp, nint Dp) s, int c0, int c1) =>
        {
            var (geo, countIncludePad, hw, pq, outH, outW, _, _) = s;
            float* gp = (float*)s.Gp, dp = (float*)s.Dp;
            for (int plane = c0; plane < c1; plane++)
            {
                float* ds = dp + ((long)plane * hw);
                float* gs = gp + ((long)plane * pq);
                new Span<float>(ds, hw).Clear();
                for (int oh = 0; oh < outH; oh++)
                {
                    for (int ow = 0; ow < outW; ow++)
                    {
                        var (hs, he, ws, we, divisor) = AvgWindow(geo, countIncludePad, oh, ow);
                        float share = gs[(oh * outW) + ow] / divisor;
                        for (int ih = hs; ih < he; ih++)
                        {
                            for (int iw = ws; iw < we; iw++)
                            {
                                ds[(ih * geo.W) + iw] += share;
                            }
                        }
                    }
                }
            }
        });
    }

    /// <summary>The common 2x2 window with stride 2 and no padding: every window lies inside the image and none overlap.</summary>
    /// <remarks>The vector loops carry positions as float lanes, exact while a plane has fewer than 2^24 elements.</remarks>
    private static bool IsPlain2x2(in Pool2dGeometry g) =>
        g is { KernelH: 2, KernelW: 2, StrideH: 2, StrideW: 2, PadTop: 0, PadBottom: 0, PadLeft: 0, PadRight: 0, DilationH: 1, DilationW: 1, CeilMode: false }
        && (long)g.H * g.W < (1L << 24);

    /// <summary>The common 2x2, stride-2, unpadded max pooling: every window is inside the image, so no bounds are computed.</summary>
    private static void MaxPool2x2(int planes, int width, int hw, int outH, int outW, float* xp, float* yp, int* ip) =>
        CpuParallel.For(planes, (long)outH * outW * 4, (width, hw, outH, outW, (nint)xp, (nint)yp, (nint)ip), static (in (int Width, int Hw, int OutH, int OutW, nint Xp, nint Yp, nint Ip) s, int c0, int c1) =>
            MaxPool2x2Planes(c0, c1, s.Width, s.Hw, s.OutH, s.OutW, (float*)s.Xp, (float*)s.Yp, (int*)s.Ip));

    /// <summary>Planes [c0, c1) of <see cref="MaxPool2x2"/>; a plain method so that the loop's values stay in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPool2x2Planes(int c0, int c1, int width, int hw, int outH, int outW, float* xp, float* yp, int* ip)
    {
        for (int plane = c0; plane < c1; plane++)
        {
            float* xs = xp + ((long)plane * hw);
            float* ys = yp + ((long)plane * outH * outW);
            int* idx = ip + ((long)plane * outH * outW);
            for (int oh = 0; oh < outH; oh++)
            {
                int top = 2 * oh * width;
                float* r0 = xs + top;
                float* r1 = r0 + width;
                int ow = 0;
                if (Avx2.IsSupported && outW < 8 && top + width + 16 <= hw)
                {
                    // Fewer than eight outputs (13-wide planes pool to 6), with sixteen floats readable in the plane.
                    MaxPool2x2NarrowRow(r0, r1, top, width, outW, ys + (oh * outW), idx + (oh * outW));
                    ow = outW;
                }
                else if (Avx2.IsSupported)
                {
                    ow = MaxPool2x2Row(r0, r1, top, width, outW, ys + (oh * outW), idx + (oh * outW));
                }

                for (; ow < outW; ow++)
                {
                    int at = 2 * ow;
                    float best = r0[at];
                    int bestIndex = top + at;
                    Take(ref best, ref bestIndex, r0[at + 1], top + at + 1);
                    Take(ref best, ref bestIndex, r1[at], top + width + at);
                    Take(ref best, ref bestIndex, r1[at + 1], top + width + at + 1);
                    ys[(oh * outW) + ow] = best;
                    idx[(oh * outW) + ow] = bestIndex;
                }
            }
        }
    }

    /// <summary>
    /// Eight outputs of one 2x2 pooling row at a time: even and odd input columns are separated with shuffles,
    /// and the same take-rule as <see cref="Take"/> (a larger value or a NaN takes the position; a NaN stays
    /// the maximum) runs on whole vectors. Returns how many outputs were written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int MaxPool2x2Row(float* r0, float* r1, int top, int width, int outW, float* y, int* index)
    {
        int ow = 0;
        var step = Vector256.Create(0f, 2f, 4f, 6f, 8f, 10f, 12f, 14f);
        while (ow < outW)
        {
            if (ow > outW - 8 || (2 * ow) + 16 > width)
            {
                // The last few outputs: redo the final eight (the overlap rewrites equal values) when they fit.
                int last = outW - 8;
                if (last < 0 || ow == last + 8 || (2 * last) + 16 > width)
                {
                    break;
                }

                ow = last;
            }

            int at = 2 * ow;
            var (e0, o0) = EvenOdd(r0 + at);
            var (e1, o1) = EvenOdd(r1 + at);
            var position = Vector256.Create((float)(top + at)) + step;
            var best = e0;
            var bestAt = position;
            TakeLanes(ref best, ref bestAt, o0, position + Vector256.Create(1f));
            TakeLanes(ref best, ref bestAt, e1, position + Vector256.Create((float)width));
            TakeLanes(ref best, ref bestAt, o1, position + Vector256.Create((float)(width + 1)));
            Avx.Store(y + ow, best);
            Avx.Store(index + ow, Avx.ConvertToVector256Int32WithTruncation(bestAt));
            ow += 8;
        }

        return ow;
    }

    /// <summary>
    /// One 2x2 pooling row of fewer than eight outputs (13-wide planes pool to 6) as one vector step of
    /// <see cref="MaxPool2x2Row"/>, storing only the <paramref name="outW"/> outputs: sixteen floats are read from
    /// each input row, so both rows must have that many readable floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPool2x2NarrowRow(float* r0, float* r1, int top, int width, int outW, float* y, int* index)
    {
        var (e0, o0) = EvenOdd(r0);
        var (e1, o1) = EvenOdd(r1);
        var position = Vector256.Create((float)top) + Vector256.Create(0f, 2f, 4f, 6f, 8f, 10f, 12f, 14f);
        var best = e0;
        var bestAt = position;
        TakeLanes(ref best, ref bestAt, o0, position + Vector256.Create(1f));
        TakeLanes(ref best, ref bestAt, e1, position + Vector256.Create((float)width));
        TakeLanes(ref best, ref bestAt, o1, position + Vector256.Create((float)(width + 1)));
        var kept = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(outW)).AsSingle();
        Avx.MaskStore(y, kept, best);
        Avx2.MaskStore(index, kept.AsInt32(), Avx.ConvertToVector256Int32WithTruncation(bestAt));
    }

    /// <summary>
    /// Backward of 2x2 pooling with stride 2, planes [c0, c1): the windows do not overlap, so every input
    /// position is written once, with its window's gradient where it holds the argmax and 0 elsewhere. Eight
    /// outputs at a time are widened to the sixteen input columns under them, instead of clearing dx and
    /// scattering one read-modify-write per output. Rows of at least eight outputs only; the last eight are
    /// moved back to end at the row's end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPool2x2BackwardPlanes(int c0, int c1, int height, int width, int outH, int outW, float* gp, int* ip, float* dp)
    {
        int hw = height * width, pq = outH * outW, covered = 2 * outW;
        var step = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);
        for (int plane = c0; plane < c1; plane++)
        {
            float* ds = dp + ((long)plane * hw);
            float* gs = gp + ((long)plane * pq);
            int* idx = ip + ((long)plane * pq);
            for (int oh = 0; oh < outH; oh++)
            {
                int top = 2 * oh * width;
                float* row0 = ds + top;
                float* row1 = row0 + width;
                float* g = gs + (oh * outW);
                int* at = idx + (oh * outW);
                for (int ow = 0; ow < outW; ow += 8)
                {
                    // The last eight windows are moved back to end at outW; overlapping ones are rewritten with the same values.
                    ow = Math.Min(ow, outW - 8);
                    var (gLow, gHigh) = Widen(Avx.LoadVector256(g + ow));
                    var (iLow, iHigh) = Widen(Avx.ConvertToVector256Single(Avx.LoadVector256(at + ow)));
                    var p0 = Vector256.Create((float)(top + (2 * ow))) + step;
                    var p1 = p0 + Vector256.Create((float)width);
                    var eight = Vector256.Create(8f);
                    Avx.Store(row0 + (2 * ow), Avx.And(gLow, Avx.Compare(iLow, p0, FloatComparisonMode.OrderedEqualNonSignaling)));
                    Avx.Store(row0 + (2 * ow) + 8, Avx.And(gHigh, Avx.Compare(iHigh, p0 + eight, FloatComparisonMode.OrderedEqualNonSignaling)));
                    Avx.Store(row1 + (2 * ow), Avx.And(gLow, Avx.Compare(iLow, p1, FloatComparisonMode.OrderedEqualNonSignaling)));
                    Avx.Store(row1 + (2 * ow) + 8, Avx.And(gHigh, Avx.Compare(iHigh, p1 + eight, FloatComparisonMode.OrderedEqualNonSignaling)));
                }

                // An odd width leaves a last column that no window reads.
                for (int w = covered; w < width; w++)
                {
                    row0[w] = 0f;
                    row1[w] = 0f;
                }
            }

            // An odd height leaves a last row that no window reads.
            new Span<float>(ds + (2 * outH * width), (height - (2 * outH)) * width).Clear();
        }
    }

    /// <summary>Each of eight floats twice, in order: (x0 x0 x1 x1 x2 x2 x3 x3, x4 x4 ... x7 x7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Low, Vector256<float> High) Widen(Vector256<float> x)
    {
        var low = Avx.UnpackLow(x, x);
        var high = Avx.UnpackHigh(x, x);
        return (Avx.Permute2x128(low, high, 0x20), Avx.Permute2x128(low, high, 0x31));
    }

    /// <summary>The even- and odd-indexed floats of x[0..16), each in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Even, Vector256<float> Odd) EvenOdd(float* x)
    {
        var a = Avx.LoadVector256(x);
        var b = Avx.LoadVector256(x + 8);

        // Shuffle picks within 128-bit lanes (a0 a2 b0 b2 | a4 a6 b4 b6); a 64-bit permute restores the order.
        var even = Avx.Shuffle(a, b, 0b10_00_10_00);
        var odd = Avx.Shuffle(a, b, 0b11_01_11_01);
        return (Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(odd.AsDouble(), 0b11_01_10_00).AsSingle());
    }

    /// <summary><see cref="Take"/> on eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TakeLanes(ref Vector256<float> best, ref Vector256<float> bestAt, Vector256<float> v, Vector256<float> at)
    {
        var taken = Avx.Or(Avx.Compare(v, best, FloatComparisonMode.OrderedGreaterThanSignaling), Avx.Compare(v, v, FloatComparisonMode.UnorderedNonSignaling));
        bestAt = Avx.BlendVariable(bestAt, at, taken);

        // maxps returns its second operand when either is NaN: that keeps a NaN v; a NaN best is kept by the blend.
        var bestIsNaN = Avx.Compare(best, best, FloatComparisonMode.UnorderedNonSignaling);
        best = Avx.BlendVariable(Avx.Max(best, v), best, bestIsNaN);
    }

    /// <summary>best = max(best, v) and its index, without a branch (NaN wins and stays).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref float best, ref int bestIndex, float v, int at)
    {
        // The comparison as an all-ones/zero lane mask keeps everything in registers.
        var value = Vector128.CreateScalarUnsafe(v);
        var taken = Vector128.GreaterThan(value, Vector128.CreateScalarUnsafe(best)) | ~Vector128.Equals(value, value);
        int mask = taken.AsInt32().ToScalar();
        bestIndex = (at & mask) | (bestIndex & ~mask);
        best = MathF.Max(best, v);
    }

    /// <summary>
    /// The in-image taps of a max pooling window along one axis: from <paramref name="start"/>, <paramref name="kernel"/>
    /// taps <paramref name="dilation"/> apart; returns the first in-image tap and an end past the last (start &gt;= end when none).
    /// </summary>
    private static (int Start, int End) MaxTaps(int start, int kernel, int dilation, int size)
    {
        int first = start >= 0 ? start : start + ((-start + dilation - 1) / dilation * dilation);
        return (first, Math.Min(start + ((kernel - 1) * dilation) + 1, size));
    }

    /// <summary>The in-image part of a pooling window and its divisor (the window clipped at the bottom/right padding,
    /// or to the image when padding does not count).</summary>
    private static (int Hs, int He, int Ws, int We, float Divisor) AvgWindow(in Pool2dGeometry g, bool countIncludePad, int oh, int ow)
    {
        int h0 = (oh * g.StrideH) - g.PadTop, w0 = (ow * g.StrideW) - g.PadLeft;
        int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, g.H);
        int ws = Math.Max(w0, 0), we = Math.Min(w0 + g.KernelW, g.W);
        float divisor = countIncludePad
            ? (Math.Min(h0 + g.KernelH, g.H + g.PadBottom) - h0) * (Math.Min(w0 + g.KernelW, g.W + g.PadRight) - w0)
            : (he - hs) * (we - ws);
        return (hs, he, ws, we, divisor);
    }
}
