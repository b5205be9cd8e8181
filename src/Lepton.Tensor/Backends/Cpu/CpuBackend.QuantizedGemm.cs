// The int8 convolution and dense layers on the CPU: im2col or row packing into Int8Gemm's uint8 panels, the int8
// micro-kernel over weights read where they lie ([K, depth] rows, copied only to pad them), and the requantizing (or,
// for the dynamic layer, dequantizing) epilogue applied to each tile as it leaves the registers. The weights are not
// packed or cached between calls: the kernel broadcasts 4 bytes of each filter row straight from the weight buffer,
// so nothing goes stale when a caller rewrites its weights. The zero point of x is taken out of the sums afterwards:
// sum of w * (x - zx) = sum of w * x - zx * sum of w, one int32 per output channel.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // Scratch of the calling thread (padded weights, per-channel terms, packed x) and of every thread (im2col panels).
    [ThreadStatic]
    private static byte[]? quantizedWeights;

    [ThreadStatic]
    private static int[]? quantizedRowAdd;

    [ThreadStatic]
    private static float[]? quantizedFactors;

    [ThreadStatic]
    private static byte[]? quantizedPanels;

    [ThreadStatic]
    private static byte[]? quantizedRows;

    [ThreadStatic]
    private static int[]? quantizedTile;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void QuantizedConv2d(in Conv2dGeometry g, DeviceBuffer x, int zx, DeviceBuffer w, in QuantizedEpilogue epilogue, DeviceBuffer y)
    {
        const string op = nameof(QuantizedConv2d);
        QuantizedArguments.Check(g.N >= 0 && g.C > 0 && g.H > 0 && g.W > 0 && g.K > 0 && g.R > 0 && g.S > 0 && g.Groups > 0 && g.C % g.Groups == 0
            && g.K % g.Groups == 0 && g.StrideH > 0 && g.StrideW > 0 && g.DilationH > 0 && g.DilationW > 0 && g.P > 0 && g.Q > 0,
            op, $"invalid convolution {g}.");
        int depth = g.CPerGroup * g.R * g.S, kg = g.KPerGroup, pq = g.P * g.Q;
        QuantizedArguments.Layer(zx, epilogue.ZeroPoint, depth, op);
        byte* xp = Sized(x, (long)g.N * g.C * g.H * g.W, 1, op, nameof(x));
        sbyte* wp = (sbyte*)Sized(w, (long)g.K * depth, 1, op, nameof(w));
        byte* yp = Sized(y, (long)g.N * g.K * pq, 1, op, nameof(y));
        int* bias = epilogue.Bias is null ? null : (int*)Sized(epilogue.Bias, g.K, 4, op, "bias");
        float* multipliers = (float*)Sized(epilogue.Multipliers, g.K, 4, op, "multipliers");

        bool direct = UsesDirectConvolution(g);
        int kgPad = (kg + Int8Gemm.Mr - 1) / Int8Gemm.Mr * Int8Gemm.Mr;
        int lda = PrepareConvolutionWeights(g, wp, bias, multipliers, zx, direct, out sbyte* a, out int* rowAdd, out float* factors);
        if (direct)
        {
            QuantizedConv2dDirect(g, xp, zx, a, lda, rowAdd, factors, epilogue.ZeroPoint, epilogue.Relu, yp);
            return;
        }

        var state = (g, zx, epilogue.ZeroPoint, epilogue.Relu, Int8Gemm.Kernel, (nint)xp, (nint)a, (nint)rowAdd, (nint)factors, (nint)yp);
        long work = (long)pq * kgPad * lda;
        CpuParallel.For(g.N * g.Groups, work, state, static (in (Conv2dGeometry G, int Zx, int Zy, bool Relu, Int8Kernel Kernel, nint X, nint A, nint RowAdd, nint Factors, nint Y) s, int start, int end) =>
        {
            var g = s.G;
            int depth = g.CPerGroup * g.R * g.S, kg = g.KPerGroup, pq = g.P * g.Q, cols = Int8Gemm.PaddedColumns(pq);
            int kgPad = (kg + Int8Gemm.Mr - 1) / Int8Gemm.Mr * Int8Gemm.Mr, quads = Int8Gemm.Quads(depth), lda = quads * 4;
            byte* panels = Pinned(ref quantizedPanels, (long)cols * lda);
            byte* rows = Pinned(ref quantizedRows, 4L * cols);
            int* tile = Pinned(ref quantizedTile, Int8Gemm.Mr * Int8Gemm.Nr);
            for (int item = start; item < end; item++)
            {
                int n = item / g.Groups, group = item % g.Groups;
                Int8Packing.PackConvolution(g, (byte*)s.X + ((((long)n * g.C) + (group * g.CPerGroup)) * g.H * g.W), s.Zx, rows, panels);
                for (int j0 = 0; j0 < pq; j0 += Int8Gemm.Nr)
                {
                    byte* b = panels + ((long)(j0 / Int8Gemm.Nr) * quads * Int8Gemm.PanelQuadBytes);
                    int nc = Math.Min(Int8Gemm.Nr, pq - j0);
                    for (int m0 = 0; m0 < kg; m0 += Int8Gemm.Mr)
                    {
                        int row = (group * kgPad) + m0;
                        Int8Gemm.Tile(s.Kernel, (sbyte*)s.A + ((long)row * lda), lda, b, quads, tile);
                        byte* y = (byte*)s.Y + ((((long)n * g.K) + (group * kg) + m0) * pq) + j0;
                        Int8Gemm.StoreRequantized(tile, Math.Min(Int8Gemm.Mr, kg - m0), nc, (int*)s.RowAdd + row, (float*)s.Factors + row, s.Zy, s.Relu, y, pq, 1);
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void QuantizedDense(DeviceBuffer x, int zx, DeviceBuffer w, int rows, int depth, int units, in QuantizedEpilogue epilogue, DeviceBuffer y)
    {
        const string op = nameof(QuantizedDense);
        QuantizedArguments.Check(rows >= 0 && depth >= 0 && units >= 0, op, $"invalid sizes rows {rows}, depth {depth}, units {units}.");
        QuantizedArguments.Layer(zx, epilogue.ZeroPoint, depth, op);
        byte* xp = Sized(x, (long)rows * depth, 1, op, nameof(x));
        sbyte* wp = (sbyte*)Sized(w, (long)units * depth, 1, op, nameof(w));
        byte* yp = Sized(y, (long)rows * units, 1, op, nameof(y));
        int* bias = epilogue.Bias is null ? null : (int*)Sized(epilogue.Bias, units, 4, op, "bias");
        float* multipliers = (float*)Sized(epilogue.Multipliers, units, 4, op, "multipliers");
        if (rows == 0 || units == 0)
        {
            return;
        }

        int lda = PrepareDense(wp, rows, depth, units, out sbyte* a, out byte* b);
        PackDenseInput(xp, rows, depth, b);
        var state = (rows, depth, units, zx, epilogue.ZeroPoint, epilogue.Relu, Int8Gemm.Kernel, (nint)a, lda, (nint)b, (nint)bias, (nint)multipliers, (nint)yp);
        CpuParallel.For((units + Int8Gemm.Mr - 1) / Int8Gemm.Mr, (long)Int8Gemm.Mr * Int8Gemm.PaddedColumns(rows) * lda, state,
            static (in (int Rows, int Depth, int Units, int Zx, int Zy, bool Relu, Int8Kernel Kernel, nint A, int Lda, nint B, nint Bias, nint M, nint Y) s, int start, int end) =>
            {
                // Each B panel (32 rows of x) stays in L1 while the chunk's weight rows stream past it from L2.
                int* tile = Pinned(ref quantizedTile, Int8Gemm.Mr * Int8Gemm.Nr);
                int m0 = start * Int8Gemm.Mr, m1 = Math.Min(s.Units, end * Int8Gemm.Mr), quads = s.Lda / 4;
                int* add = Pinned(ref quantizedRowAdd, m1 - m0) - m0;
                Int8Gemm.RowSums((sbyte*)s.A + ((long)m0 * s.Lda), s.Lda, m1 - m0, s.Depth, add + m0);
                for (int u = m0; u < m1; u++)
                {
                    add[u] = unchecked((s.Bias == 0 ? 0 : ((int*)s.Bias)[u]) - (s.Zx * add[u]));
                }

                for (int j0 = 0; j0 < s.Rows; j0 += Int8Gemm.Nr)
                {
                    byte* b = (byte*)s.B + ((long)(j0 / Int8Gemm.Nr) * quads * Int8Gemm.PanelQuadBytes);
                    int nc = Math.Min(Int8Gemm.Nr, s.Rows - j0);
                    for (int u = m0; u < m1; u += Int8Gemm.Mr)
                    {
                        Int8Gemm.Tile(s.Kernel, (sbyte*)s.A + ((long)u * s.Lda), s.Lda, b, quads, tile);
                        Int8Gemm.StoreRequantized(tile, Math.Min(Int8Gemm.Mr, m1 - u), nc, add + u, (float*)s.M + u, s.Zy, s.Relu, (byte*)s.Y + ((long)j0 * s.Units) + u, 1, s.Units);
                    }
                }
            });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void DynamicQuantizedDense(DeviceBuffer x, DeviceBuffer w, DeviceBuffer weightScales, DeviceBuffer? bias, int rows, int depth, int units, DeviceBuffer y)
    {
        const string op = nameof(DynamicQuantizedDense);
        QuantizedArguments.Check(rows >= 0 && depth >= 0 && units >= 0, op, $"invalid sizes rows {rows}, depth {depth}, units {units}.");
        QuantizedArguments.Check(depth <= QuantizedArguments.MaxDepth, op, $"a depth of {depth} could overflow the int32 sums; at most {QuantizedArguments.MaxDepth}.");
        float* xp = (float*)Sized(x, (long)rows * depth, 4, op, nameof(x));
        sbyte* wp = (sbyte*)Sized(w, (long)units * depth, 1, op, nameof(w));
        float* scales = (float*)Sized(weightScales, units, 4, op, nameof(weightScales));
        float* bp = bias is null ? null : (float*)Sized(bias, units, 4, op, nameof(bias));
        float* yp = (float*)Sized(y, (long)rows * units, 4, op, nameof(y));
        if (rows == 0 || units == 0)
        {
            return;
        }

        var (lo, hi) = MinMax(xp, (long)rows * depth);
        lo = Math.Min(0f, lo);
        hi = Math.Max(0f, hi);
        float scale = (hi - lo) / 255f;
        scale = scale == 0 ? 1f : scale;
        int z = Math.Clamp((int)MathF.Round(-lo / scale), 0, 255);

        int lda = PrepareDense(wp, rows, depth, units, out sbyte* a, out byte* b);
        CpuParallel.For(Int8Gemm.PaddedColumns(rows) / Int8Gemm.Nr, (long)Int8Gemm.Nr * depth * 4, ((nint)xp, rows, depth, scale, z, (nint)b), static (in (nint X, int Rows, int Depth, float Scale, int Z, nint B) s, int start, int end) =>
            Int8Packing.QuantizeRows((float*)s.X, s.Rows, s.Depth, s.Scale, s.Z, Pinned(ref quantizedRows, s.Depth), (byte*)s.B, start, end));

        var state = (rows, depth, units, z, scale, Int8Gemm.Kernel, (nint)a, lda, (nint)b, (nint)scales, (nint)bp, (nint)yp);
        CpuParallel.For((units + Int8Gemm.Mr - 1) / Int8Gemm.Mr, (long)Int8Gemm.Mr * Int8Gemm.PaddedColumns(rows) * lda, state,
            static (in (int Rows, int Depth, int Units, int Z, float Scale, Int8Kernel Kernel, nint A, int Lda, nint B, nint Scales, nint Bias, nint Y) s, int start, int end) =>
            {
                int* tile = Pinned(ref quantizedTile, Int8Gemm.Mr * Int8Gemm.Nr);
                int m0 = start * Int8Gemm.Mr, m1 = Math.Min(s.Units, end * Int8Gemm.Mr), quads = s.Lda / 4;
                int* add = Pinned(ref quantizedRowAdd, m1 - m0) - m0;
                float* factors = Pinned(ref quantizedFactors, m1 - m0) - m0;
                Int8Gemm.RowSums((sbyte*)s.A + ((long)m0 * s.Lda), s.Lda, m1 - m0, s.Depth, add + m0);
                for (int u = m0; u < m1; u++)
                {
                    add[u] = unchecked(-s.Z * add[u]);
                    factors[u] = s.Scale * ((float*)s.Scales)[u];
                }

                for (int j0 = 0; j0 < s.Rows; j0 += Int8Gemm.Nr)
                {
                    byte* b = (byte*)s.B + ((long)(j0 / Int8Gemm.Nr) * quads * Int8Gemm.PanelQuadBytes);
                    int nc = Math.Min(Int8Gemm.Nr, s.Rows - j0);
                    for (int u = m0; u < m1; u += Int8Gemm.Mr)
                    {
                        Int8Gemm.Tile(s.Kernel, (sbyte*)s.A + ((long)u * s.Lda), s.Lda, b, quads, tile);
                        float* bias = s.Bias == 0 ? null : (float*)s.Bias + u;
                        Int8Gemm.StoreDequantized(tile, Math.Min(Int8Gemm.Mr, m1 - u), nc, add + u, factors + u, bias, (float*)s.Y + ((long)j0 * s.Units) + u, 1, s.Units);
                    }
                }
            });
    }

    /// <summary>
    /// The filters as the micro-kernel reads them, [groups][KPerGroup rounded up to Mr][lda] with zeros as padding, in
    /// im2col order (c, r, s) or, for the direct path, in groups of 4 channels per tap ((c / 4, r, s), c % 4); with each
    /// row's bias minus zx times its weight sum (int32, wrapping) and its multiplier (0 in padding rows). Returns lda.
    /// </summary>
    private static int PrepareConvolutionWeights(
        in Conv2dGeometry g, sbyte* w, int* bias, float* multipliers, int zx, bool channelQuads, out sbyte* a, out int* rowAdd, out float* factors)
    {
        int cg = g.CPerGroup, taps = g.R * g.S, depth = cg * taps, kg = g.KPerGroup;
        int kgPad = (kg + Int8Gemm.Mr - 1) / Int8Gemm.Mr * Int8Gemm.Mr, rowsA = g.Groups * kgPad;
        int lda = channelQuads ? (cg + 3) / 4 * taps * 4 : Int8Gemm.Quads(depth) * 4;
        a = (sbyte*)Pinned(ref quantizedWeights, (long)rowsA * lda);
        rowAdd = Pinned(ref quantizedRowAdd, rowsA);
        factors = Pinned(ref quantizedFactors, rowsA);
        new Span<byte>(a, rowsA * lda).Clear();
        for (int group = 0; group < g.Groups; group++)
        {
            for (int i = 0; i < kgPad; i++)
            {
                int k = (group * kg) + i, row = (group * kgPad) + i;
                sbyte* dst = a + ((long)row * lda), src = w + ((long)k * depth);
                if (i >= kg)
                {
                    rowAdd[row] = 0;
                    factors[row] = 0f;
                    continue;
                }

                if (!channelQuads)
                {
                    new ReadOnlySpan<sbyte>(src, depth).CopyTo(new Span<sbyte>(dst, depth));
                }
                else
                {
                    for (int c = 0; c < cg; c++)
                    {
                        for (int tap = 0; tap < taps; tap++)
                        {
                            dst[((((c / 4) * taps) + tap) * 4) + (c % 4)] = src[(c * taps) + tap];
                        }
                    }
                }

                Int8Gemm.RowSums(dst, lda, 1, lda, rowAdd + row);
                rowAdd[row] = unchecked((bias is null ? 0 : bias[k]) - (zx * rowAdd[row]));
                factors[row] = multipliers[k];
            }
        }

        return lda;
    }

    /// <summary>The weights as the micro-kernel reads them (w itself when no padding is needed, else a zero-padded copy
    /// [units rounded up to Mr][depth rounded up to 4]), their row length, and room for the packed input.</summary>
    private static int PrepareDense(sbyte* w, int rows, int depth, int units, out sbyte* a, out byte* b)
    {
        int lda = Int8Gemm.Quads(depth) * 4, unitsPad = (units + Int8Gemm.Mr - 1) / Int8Gemm.Mr * Int8Gemm.Mr;
        long packedInput = (long)Int8Gemm.PaddedColumns(rows) * lda;
        bool direct = lda == depth && unitsPad == units;
        byte* scratch = Pinned(ref quantizedWeights, packedInput + (direct ? 0 : (long)unitsPad * lda));
        b = scratch;
        if (direct)
        {
            a = w;
            return lda;
        }

        a = (sbyte*)scratch + packedInput;
        new Span<byte>(a, unitsPad * lda).Clear();
        for (int u = 0; u < units; u++)
        {
            new ReadOnlySpan<sbyte>(w + ((long)u * depth), depth).CopyTo(new Span<sbyte>(a + ((long)u * lda), depth));
        }

        return lda;
    }

    private static void PackDenseInput(byte* x, int rows, int depth, byte* b) =>
        CpuParallel.For(Int8Gemm.PaddedColumns(rows) / Int8Gemm.Nr, (long)Int8Gemm.Nr * depth, ((nint)x, rows, depth, (nint)b), static (in (nint X, int Rows, int Depth, nint B) s, int start, int end) =>
            Int8Packing.PackRows((byte*)s.X, s.Rows, s.Depth, (byte*)s.B, start, end));

    private static (float Min, float Max) MinMax(float* x, long length)
    {
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        long i = 0;
        if (Vector256.IsHardwareAccelerated && length >= 8)
        {
            var vlo = Vector256.Load(x);
            var vhi = vlo;
            for (i = 8; i <= length - 8; i += 8)
            {
                var v = Vector256.Load(x + i);
                vlo = Vector256.Min(vlo, v);
                vhi = Vector256.Max(vhi, v);
            }

            for (int j = 0; j < 8; j++)
            {
                lo = Math.Min(lo, vlo[j]);
                hi = Math.Max(hi, vhi[j]);
            }
        }

        for (; i < length; i++)
        {
            lo = Math.Min(lo, x[i]);
            hi = Math.Max(hi, x[i]);
        }

        return (lo, hi);
    }

    /// <summary>This thread's scratch array of at least <paramref name="count"/> elements (pinned, cache-line aligned).</summary>
    private static T* Pinned<T>(ref T[]? array, long count)
        where T : unmanaged
    {
        if (array is null || array.Length - AlignedArrays.Offset(array) < count)
        {
            array = AlignedArrays.Allocate<T>((int)Math.Max(count, 64));
        }

        return AlignedArrays.Start(array);
    }
}
