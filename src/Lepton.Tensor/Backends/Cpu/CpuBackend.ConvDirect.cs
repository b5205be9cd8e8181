// Direct convolution for first layers (few input channels: C*R*S of 9 for one channel, 27 for RGB), stride 1,
// no padding or dilation: as a GEMM their inner dimension is tiny, so packing and the C tile's loads and
// stores cost more than the arithmetic. Here each output row is computed in 8-wide chunks along q, eight
// filters at a time: per tap one load of the input row segment and eight fused multiply-adds.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    [ThreadStatic]
    private static float[]? filterLaneSums;

    [ThreadStatic]
    private static float[]? pooledGradientPlanes;

    /// <summary>Filter taps (C*R*S) up to which the direct kernel runs.</summary>
    private const int DirectMaxTaps = 32;

    /// <summary>
    /// Below this much work (two per output and tap) a pooled first layer runs on one thread: one 32 x 32 RGB image's
    /// first layer (0.8M) split over two threads waited on the second one, and batch-1 latency was lower on one.
    /// </summary>
    private const long DirectPooledParallelWork = 1L << 21;

    private static bool UseDirectFilter(in Conv2dGeometry g) => UseDirectConv(g) && g.S == 3 && g.Q >= 16 && CpuGemm.Isa == CpuIsa.Avx512;

    private static bool UseDirectConv(in Conv2dGeometry g) =>
        Fma.IsSupported && CpuGemm.Isa != CpuIsa.Scalar &&
        g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 &&
        g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0 &&
        g.C * g.R * g.S <= DirectMaxTaps && g.Q >= 8 && g.K % 8 == 0;

    /// <summary>The direct convolution; with <paramref name="relu"/>, relu(y + bias[k]) is applied in registers before the store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectForward(in Conv2dGeometry g, float* x, float* w, float* y, float* bias = null, bool relu = false)
    {
        var geo = g;
        bool wide = CpuGemm.Isa == CpuIsa.Avx512 && g.Q >= 16;
        int* offsets = stackalloc int[g.C * g.R * g.S];
        TapOffsets(g, offsets);
        CpuParallel.For(g.N * g.P, (long)g.K * g.C * g.R * g.S * g.Q, (geo, wide, relu, (nint)x, (nint)w, (nint)y, (nint)bias, (nint)offsets), static (in (Conv2dGeometry Geo, bool Wide, bool Relu, nint X, nint W, nint Y, nint Bias, nint Offsets) s, int r0, int r1) =>
        {
            var (geo, wide, relu, _, _, _, _, _) = s;
            float* x = (float*)s.X, w = (float*)s.W, y = (float*)s.Y, bias = (float*)s.Bias;
            int* offsets = (int*)s.Offsets;
            for (int row = r0; row < r1; row++)
            {
                if (wide)
                {
                    DirectRowWide(geo, x, w, y, offsets, bias, relu, row / geo.P, row % geo.P);
                }
                else
                {
                    DirectRow(geo, x, w, y, offsets, bias, relu, row / geo.P, row % geo.P);
                }
            }
        });
    }

    /// <inheritdoc />
    /// <remarks>With 2x2, stride-2 pooling: first layers (the direct kernel's geometries) with AVX-512 over pooled rows
    /// of at least 8; one image through a late layer that runs as a transposed product; a batch through a late layer
    /// that runs in chunks of images.</remarks>
    public bool SupportsConv2dBiasReluMaxPool(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        IsPlain2x2(pool) && (UseTransposedProduct(g) || UseChunkedPooling(g) || UseDirectPooledForward(g, pool));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Conv2dBiasReluMaxPoolForward(in Conv2dGeometry g, in Pool2dGeometry pool, DeviceBuffer x, DeviceBuffer w, DeviceBuffer? bias, DeviceBuffer pooled, DeviceBuffer indices)
    {
        if (!SupportsConv2dBiasReluMaxPool(g, pool))
        {
            throw Unsupported(nameof(Conv2dBiasReluMaxPoolForward), nameof(SupportsConv2dBiasReluMaxPool), g, pool, "Conv2dBiasReluForward then MaxPool2dForward");
        }

        if (UseTransposedProduct(g))
        {
            TransposedPooledForward(g, pool, Cpu(x).Pointer, Cpu(w).Pointer, bias is null ? null : Cpu(bias).Pointer, Cpu(pooled).Pointer, Cpu(indices).As<int>());
            return;
        }

        if (UseChunkedPooling(g))
        {
            ChunkedPooledForward(g, pool, Cpu(x).Pointer, Cpu(w).Pointer, bias is null ? null : Cpu(bias).Pointer, Cpu(pooled).Pointer, Cpu(indices).As<int>());
            return;
        }

        var geo = g;
        int outH = pool.P, outW = pool.Q;
        float* xp = Cpu(x).Pointer, wp = Cpu(w).Pointer, yp = Cpu(pooled).Pointer;
        int* ip = Cpu(indices).As<int>();
        float* bp = bias is null ? null : Cpu(bias).Pointer;
        int* offsets = stackalloc int[g.C * g.R * g.S];
        TapOffsets(g, offsets);

        // Rows split over threads only when the whole layer is large enough to pay for it (0: one thread).
        long perRow = 2L * g.K * g.C * g.R * g.S * g.Q;
        CpuParallel.For(g.N * outH, (long)g.N * outH * perRow < DirectPooledParallelWork ? 0 : perRow, (geo, outH, outW, (nint)xp, (nint)wp, (nint)bp, (nint)offsets, (nint)yp, (nint)ip), static (in (Conv2dGeometry Geo, int OutH, int OutW, nint Xp, nint Wp, nint Bp, nint Offsets, nint Yp, nint Ip) s, int r0, int r1) =>
        {
            var (geo, outH, outW, _, _, _, _, _, _) = s;
            float* xp = (float*)s.Xp, wp = (float*)s.Wp, bp = (float*)s.Bp, yp = (float*)s.Yp;
            int* ip = (int*)s.Ip;
            int* offsets = (int*)s.Offsets;
            for (int row = r0; row < r1; row++)
            {
                DirectPooledRow(geo, outH, outW, xp, wp, bp, offsets, yp, ip, row / outH, row % outH);
            }
        });
    }

    /// <inheritdoc />
    /// <remarks>With 2x2, stride-2 pooling: the filter gradient alone of the direct filter gradient's geometries over
    /// pooled rows of at least 8 (each image's gradient planes are rebuilt from the pooled gradient eight filters at a
    /// time in a buffer that stays in L1, and read from there); either gradient or both of late layers that run in
    /// chunks of images.</remarks>
    public bool SupportsConv2dPooledBackward(in Conv2dGeometry g, in Pool2dGeometry pool, bool dx, bool dw) =>
        IsPlain2x2(pool) && (dx || dw) && (UseChunkedPooling(g) || (!dx && UseDirectPooledFilter(g, pool)));

    /// <inheritdoc />
    public void Conv2dPooledBackward(
        in Conv2dGeometry g, in Pool2dGeometry pool, DeviceBuffer x, DeviceBuffer w, DeviceBuffer pooledGrad, DeviceBuffer indices, DeviceBuffer? dx, DeviceBuffer? dw)
    {
        if (!SupportsConv2dPooledBackward(g, pool, dx is not null, dw is not null))
        {
            throw Unsupported(
                nameof(Conv2dPooledBackward), nameof(SupportsConv2dPooledBackward), g, pool, "MaxPool2dBackward then Conv2dBackwardData and Conv2dBackwardFilter",
                $" and the gradients asked (input: {dx is not null}, filter: {dw is not null})");
        }

        if (UseChunkedPooling(g))
        {
            ChunkedPooledBackward(
                g, pool, Cpu(x).Pointer, Cpu(w).Pointer, Cpu(pooledGrad).Pointer, Cpu(indices).As<int>(),
                dx is null ? null : Cpu(dx).Pointer, dw is null ? null : Cpu(dw).Pointer);
            return;
        }

        var source = new PooledGradient(Cpu(pooledGrad).Pointer, Cpu(indices).As<int>(), pool.P, pool.Q);
        DirectBackwardFilter(g, Cpu(x).Pointer, null, Cpu(dw!).Pointer, source);
    }

    /// <summary>A late layer over a batch, which runs in chunks of images: each chunk's product is pooled (and its
    /// gradient rebuilt from the pooled one) while in cache.</summary>
    private static bool UseChunkedPooling(in Conv2dGeometry g) => UseImageChunks(g) && !UseDirectConv(g);

    /// <summary>A first layer pooled in registers: the direct kernel's geometries with AVX-512 over pooled rows of at least 8.</summary>
    private static bool UseDirectPooledForward(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        UseDirectConv(g) && CpuGemm.Isa == CpuIsa.Avx512 && Avx2.IsSupported && 2 * pool.Q >= 16 && pool.P >= 1;

    /// <summary>A first layer's filter gradient from the pooled gradient: the direct filter gradient's geometries over pooled rows of at least 8.</summary>
    private static bool UseDirectPooledFilter(in Conv2dGeometry g, in Pool2dGeometry pool) =>
        UseDirectFilter(g) && pool.Q >= 8 && Avx.IsSupported;

    /// <summary>The error a fused method raises for geometries its query refuses; it names the unfused calls to run instead.</summary>
    private static NotSupportedException Unsupported(string method, string query, in Conv2dGeometry g, in Pool2dGeometry pool, string unfused, string asked = "") =>
        new($"CpuBackend.{method}: no fused kernel for convolution {g} with max pooling {pool}{asked}; call it only where {query} is true, and otherwise run {unfused}.");

    /// <summary>
    /// Pooled row ph of image n for every filter: the convolution rows 2ph and 2ph + 1 in registers (sixteen
    /// columns by eight filters by two rows), bias and ReLU applied, then each 2x2 window's maximum and its
    /// position in the convolution's plane, with the same take-rule as <see cref="MaxPool2x2Row"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectPooledRow(in Conv2dGeometry g, int outH, int outW, float* x, float* w, float* bias, int* offsets, float* pooled, int* indices, int n, int ph)
    {
        int taps = g.C * g.R * g.S, covered = 2 * outW, width = g.Q;
        long pooledPlane = (long)outH * outW;
        int p = 2 * ph;
        float* image = x + ((long)n * g.C * g.H * g.W) + ((long)p * g.W);
        float* below = image + g.W;
        // Window positions in the convolution's plane: the top row's even columns, then the bottom row's.
        var evenColumns = Vector256.Create(0f, 2f, 4f, 6f, 8f, 10f, 12f, 14f);
        var step = Vector512.Create(evenColumns, evenColumns + Vector256.Create((float)width));
        for (int k0 = 0; k0 < g.K; k0 += 8)
        {
            float* wk = w + ((long)k0 * taps);
            for (int q0 = 0; q0 < covered; q0 += 16)
            {
                // The last chunk is moved back to end at the last pooled column; q stays even, so windows do not straddle chunks.
                int q = Math.Min(q0, covered - 16);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
                for (int t = 0; t < taps; t++)
                {
                    var u = Vector512.Load(image + offsets[t] + q);
                    var v = Vector512.Load(below + offsets[t] + q);
                    float* wt = wk + t;
                    var f = Vector512.Create(wt[0]); a0 = Avx512F.FusedMultiplyAdd(u, f, a0); b0 = Avx512F.FusedMultiplyAdd(v, f, b0);
                    f = Vector512.Create(wt[taps]); a1 = Avx512F.FusedMultiplyAdd(u, f, a1); b1 = Avx512F.FusedMultiplyAdd(v, f, b1);
                    f = Vector512.Create(wt[2 * taps]); a2 = Avx512F.FusedMultiplyAdd(u, f, a2); b2 = Avx512F.FusedMultiplyAdd(v, f, b2);
                    f = Vector512.Create(wt[3 * taps]); a3 = Avx512F.FusedMultiplyAdd(u, f, a3); b3 = Avx512F.FusedMultiplyAdd(v, f, b3);
                    f = Vector512.Create(wt[4 * taps]); a4 = Avx512F.FusedMultiplyAdd(u, f, a4); b4 = Avx512F.FusedMultiplyAdd(v, f, b4);
                    f = Vector512.Create(wt[5 * taps]); a5 = Avx512F.FusedMultiplyAdd(u, f, a5); b5 = Avx512F.FusedMultiplyAdd(v, f, b5);
                    f = Vector512.Create(wt[6 * taps]); a6 = Avx512F.FusedMultiplyAdd(u, f, a6); b6 = Avx512F.FusedMultiplyAdd(v, f, b6);
                    f = Vector512.Create(wt[7 * taps]); a7 = Avx512F.FusedMultiplyAdd(u, f, a7); b7 = Avx512F.FusedMultiplyAdd(v, f, b7);
                }

                float* b = bias == null ? null : bias + k0;
                var position = Vector512.Create((float)((p * width) + q)) + step;
                long at = ((long)n * g.K * pooledPlane) + ((long)k0 * pooledPlane) + ((long)ph * outW) + (q / 2);
                PoolPair(BiasRelu(a0, b, 0), BiasRelu(b0, b, 0), position, pooled + at, indices + at);
                PoolPair(BiasRelu(a1, b, 1), BiasRelu(b1, b, 1), position, pooled + at + pooledPlane, indices + at + pooledPlane);
                PoolPair(BiasRelu(a2, b, 2), BiasRelu(b2, b, 2), position, pooled + at + (2 * pooledPlane), indices + at + (2 * pooledPlane));
                PoolPair(BiasRelu(a3, b, 3), BiasRelu(b3, b, 3), position, pooled + at + (3 * pooledPlane), indices + at + (3 * pooledPlane));
                PoolPair(BiasRelu(a4, b, 4), BiasRelu(b4, b, 4), position, pooled + at + (4 * pooledPlane), indices + at + (4 * pooledPlane));
                PoolPair(BiasRelu(a5, b, 5), BiasRelu(b5, b, 5), position, pooled + at + (5 * pooledPlane), indices + at + (5 * pooledPlane));
                PoolPair(BiasRelu(a6, b, 6), BiasRelu(b6, b, 6), position, pooled + at + (6 * pooledPlane), indices + at + (6 * pooledPlane));
                PoolPair(BiasRelu(a7, b, 7), BiasRelu(b7, b, 7), position, pooled + at + (7 * pooledPlane), indices + at + (7 * pooledPlane));
            }
        }
    }

    /// <summary>
    /// Eight 2x2 windows over two rows of sixteen: their maxima and positions. Even and odd columns of both rows
    /// are gathered into two registers, each row's pair is decided lane-wise, then the top row's result against
    /// the bottom's: the same outcome as taking the four in order (the first maximum, or the last NaN).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PoolPair(Vector512<float> top, Vector512<float> bottom, Vector512<float> position, float* pooled, int* index)
    {
        var even = Avx512F.PermuteVar16x32x2(top, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), bottom);
        var odd = Avx512F.PermuteVar16x32x2(top, Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), bottom);
        var takeOdd = Vector512.GreaterThan(odd, even) | ~Vector512.Equals(odd, odd);
        var best = Vector512.ConditionalSelect(takeOdd, odd, even);
        var at = Vector512.ConditionalSelect(takeOdd, position + Vector512<float>.One, position);
        var upper = best.GetUpper();
        var takeBottom = Vector256.GreaterThan(upper, best.GetLower()) | ~Vector256.Equals(upper, upper);
        Vector256.ConditionalSelect(takeBottom, upper, best.GetLower()).Store(pooled);
        Vector256.ConvertToInt32(Vector256.ConditionalSelect(takeBottom, at.GetUpper(), at.GetLower())).Store(index);
    }

    /// <summary>max(a + bias[i], 0), the bias taken as 0 when there is none (bias points at filter k0's entry).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BiasRelu(Vector512<float> a, float* bias, int i) =>
        Vector512.Max(bias == null ? a : a + Vector512.Create(bias[i]), Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BiasRelu(Vector256<float> a, float* bias, int i) =>
        Vector256.Max(bias == null ? a : a + Vector256.Create(bias[i]), Vector256<float>.Zero);

    /// <summary>Where tap (c, r, s) starts in the image, relative to an output row's first input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TapOffsets(in Conv2dGeometry g, int* offsets)
    {
        for (int t = 0, taps = g.C * g.R * g.S; t < taps; t++)
        {
            offsets[t] = ((((t / (g.R * g.S)) * g.H) + (t / g.S % g.R)) * g.W) + (t % g.S);
        }
    }

    /// <summary><see cref="DirectRow"/> with AVX-512: sixteen outputs of the row per register.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectRowWide(in Conv2dGeometry g, float* x, float* w, float* y, int* offsets, float* bias, bool relu, int n, int p)
    {
        int taps = g.C * g.R * g.S, filters = g.K, width = g.Q;
        long plane = (long)g.P * g.Q;
        float* image = x + ((long)n * g.C * g.H * g.W) + ((long)p * g.W);
        float* output = y + ((long)n * g.K * plane) + ((long)p * g.Q);
        for (int k0 = 0; k0 < filters; k0 += 8)
        {
            float* wk = w + ((long)k0 * taps);
            for (int q0 = 0; q0 < width; q0 += 16)
            {
                // The last chunk is moved back to end at Q; it rewrites a few outputs with the same values.
                int q = Math.Min(q0, width - 16);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int t = 0; t < taps; t++)
                {
                    var v = Vector512.Load(image + offsets[t] + q);
                    float* wt = wk + t;
                    a0 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[0]), a0);
                    a1 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[taps]), a1);
                    a2 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[2 * taps]), a2);
                    a3 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[3 * taps]), a3);
                    a4 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[4 * taps]), a4);
                    a5 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[5 * taps]), a5);
                    a6 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[6 * taps]), a6);
                    a7 = Avx512F.FusedMultiplyAdd(v, Vector512.Create(wt[7 * taps]), a7);
                }

                if (relu)
                {
                    float* b = bias == null ? null : bias + k0;
                    a0 = BiasRelu(a0, b, 0); a1 = BiasRelu(a1, b, 1); a2 = BiasRelu(a2, b, 2); a3 = BiasRelu(a3, b, 3);
                    a4 = BiasRelu(a4, b, 4); a5 = BiasRelu(a5, b, 5); a6 = BiasRelu(a6, b, 6); a7 = BiasRelu(a7, b, 7);
                }

                float* o = output + ((long)k0 * plane) + q;
                a0.Store(o);
                a1.Store(o + plane);
                a2.Store(o + (2 * plane));
                a3.Store(o + (3 * plane));
                a4.Store(o + (4 * plane));
                a5.Store(o + (5 * plane));
                a6.Store(o + (6 * plane));
                a7.Store(o + (7 * plane));
            }
        }
    }

    /// <summary>Output row p of image n for every filter; <paramref name="offsets"/> from <see cref="TapOffsets"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectRow(in Conv2dGeometry g, float* x, float* w, float* y, int* offsets, float* bias, bool relu, int n, int p)
    {
        int taps = g.C * g.R * g.S;
        long plane = (long)g.P * g.Q;
        float* image = x + ((long)n * g.C * g.H * g.W) + ((long)p * g.W);
        float* output = y + ((long)n * g.K * plane) + ((long)p * g.Q);
        for (int k0 = 0; k0 < g.K; k0 += 8)
        {
            float* wk = w + ((long)k0 * taps);
            for (int q0 = 0; q0 < g.Q; q0 += 8)
            {
                // The last chunk is moved back to end at Q; it rewrites a few outputs with the same values.
                int q = Math.Min(q0, g.Q - 8);
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int t = 0; t < taps; t++)
                {
                    var v = Avx.LoadVector256(image + offsets[t] + q);
                    float* wt = wk + t;
                    a0 = Fma.MultiplyAdd(v, Vector256.Create(wt[0]), a0);
                    a1 = Fma.MultiplyAdd(v, Vector256.Create(wt[taps]), a1);
                    a2 = Fma.MultiplyAdd(v, Vector256.Create(wt[2 * taps]), a2);
                    a3 = Fma.MultiplyAdd(v, Vector256.Create(wt[3 * taps]), a3);
                    a4 = Fma.MultiplyAdd(v, Vector256.Create(wt[4 * taps]), a4);
                    a5 = Fma.MultiplyAdd(v, Vector256.Create(wt[5 * taps]), a5);
                    a6 = Fma.MultiplyAdd(v, Vector256.Create(wt[6 * taps]), a6);
                    a7 = Fma.MultiplyAdd(v, Vector256.Create(wt[7 * taps]), a7);
                }

                if (relu)
                {
                    float* b = bias == null ? null : bias + k0;
                    a0 = BiasRelu(a0, b, 0); a1 = BiasRelu(a1, b, 1); a2 = BiasRelu(a2, b, 2); a3 = BiasRelu(a3, b, 3);
                    a4 = BiasRelu(a4, b, 4); a5 = BiasRelu(a5, b, 5); a6 = BiasRelu(a6, b, 6); a7 = BiasRelu(a7, b, 7);
                }

                float* o = output + ((long)k0 * plane) + q;
                Avx.Store(o, a0);
                Avx.Store(o + plane, a1);
                Avx.Store(o + (2 * plane), a2);
                Avx.Store(o + (3 * plane), a3);
                Avx.Store(o + (4 * plane), a4);
                Avx.Store(o + (5 * plane), a5);
                Avx.Store(o + (6 * plane), a6);
                Avx.Store(o + (7 * plane), a7);
            }
        }
    }

    /// <summary>
    /// The filter gradient of a first layer with 3-wide filters, without a column matrix: dW[k, c, r, s] =
    /// sum over images and output positions of dY[n, k, p, q] * x[n, c, p + r, q + s], sixteen positions of
    /// a row per register and eight filters by the three taps of one (c, r) in 24 register accumulators. Each image's eight gradient
    /// planes stay in L1 while every (c, r) pass reads them; per-lane partial sums go to a buffer that is
    /// reduced once at the end (one block of them per chunk of images when images are split across threads).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectBackwardFilter(in Conv2dGeometry g, float* x, float* dy, float* dw, PooledGradient pooled = default)
    {
        var geo = g;
        int outputs = g.K * g.C * g.R * g.S;
        int chunks = CpuParallel.ChunkCount(g.N, (long)outputs * g.P * g.Q);

        // One block of lane sums per chunk of images, in one scratch buffer of the calling thread.
        var scratch = Scratch(ref filterLaneSums, (long)chunks * outputs * 16);
        fixed (float* lanes = scratch)
        {
            float* all = lanes;
            new Span<float>(all, chunks * outputs * 16).Clear();
            CpuParallel.ForChunks(g.N, chunks, (geo, pooled, outputs, (nint)x, (nint)dy, (nint)all), static (in (Conv2dGeometry Geo, PooledGradient Pooled, int Outputs, nint X, nint Dy, nint All) s, int chunk, int n0, int n1) =>
            {
                var (geo, pooled, outputs, _, _, _) = s;
                float* x = (float*)s.X, dy = (float*)s.Dy, all = (float*)s.All;
                // With a pooled gradient, each chunk rebuilds eight gradient planes at a time in its own buffer.
                var planes = pooled.Gradient == null ? [] : Scratch(ref pooledGradientPlanes, 8L * geo.P * geo.Q);
                fixed (float* planeBuffer = planes)
                {
                    for (int n = n0; n < n1; n++)
                    {
                        DirectFilterImage(geo, x, dy, all + ((long)chunk * outputs * 16), n, pooled, planeBuffer);
                    }
                }
            });

            for (int t = 0; t < outputs; t++)
            {
                var total = Vector512<float>.Zero;
                for (int chunk = 0; chunk < chunks; chunk++)
                {
                    total += Vector512.Load(all + ((((long)chunk * outputs) + t) * 16));
                }

                dw[t] = Vector512.Sum(total);
            }
        }
    }

    /// <summary>Adds image n's contribution to the per-lane sums [K, C, R, S, 16] of <see cref="DirectBackwardFilter"/>.</summary>
    /// <remarks>With a <paramref name="pooled"/> gradient (dy null), the planes of filters k0..k0+7 are first rebuilt
    /// into <paramref name="planeBuffer"/> from it and the pooling's indices.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectFilterImage(in Conv2dGeometry g, float* x, float* dy, float* sums, int n, PooledGradient pooled = default, float* planeBuffer = null)
    {
        int height = g.H, width = g.W, rows = g.P, cols = g.Q, kh = g.R, kw = g.S, channels = g.C, filters = g.K;
        long plane = (long)rows * cols;
        float* image = x + ((long)n * channels * height * width);
        float* gradient = pooled.Gradient == null ? dy + ((long)n * filters * plane) : null;

        // The last chunk of a row is moved back to end at Q; its lanes that the previous chunk counted are masked off.
        int last = cols - 16, overlap = (cols % 16) == 0 ? 0 : 16 - (cols % 16);
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var tailMask = Vector512.GreaterThanOrEqual(lane, Vector512.Create(overlap)).AsSingle();
        for (int k0 = 0; k0 < filters; k0 += 8)
        {
            float* dk = gradient + ((long)k0 * plane);
            if (pooled.Gradient != null)
            {
                int first = (n * filters) + k0;
                MaxPool2x2BackwardPlanes(first, first + 8, rows, cols, pooled.OutH, pooled.OutW, pooled.Gradient, pooled.Indices, planeBuffer - ((long)first * plane));
                dk = planeBuffer;
            }

            for (int c = 0; c < channels; c++)
            {
                for (int r = 0; r < kh; r++)
                {
                    // a{f}{s}: filter k0 + f, tap (c, r, s), sixteen lanes of partial sums in registers.
                    Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
                    Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
                    Vector512<float> a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
                    Vector512<float> a60 = default, a61 = default, a62 = default, a70 = default, a71 = default, a72 = default;
                    for (int p = 0; p < rows; p++)
                    {
                        float* xr = image + ((((long)c * height) + p + r) * width);
                        float* dr = dk + ((long)p * cols);
                        for (int q0 = 0; q0 < cols; q0 += 16)
                        {
                            int q = Math.Min(q0, last);
                            var mask = q0 > last ? tailMask : Vector512<float>.AllBitsSet;
                            var x0 = Vector512.Load(xr + q);
                            var x1 = Vector512.Load(xr + q + 1);
                            var x2 = Vector512.Load(xr + q + 2);
                            var d = Vector512.Load(dr + q) & mask;
                            a00 = Avx512F.FusedMultiplyAdd(d, x0, a00); a01 = Avx512F.FusedMultiplyAdd(d, x1, a01); a02 = Avx512F.FusedMultiplyAdd(d, x2, a02);
                            d = Vector512.Load(dr + plane + q) & mask;
                            a10 = Avx512F.FusedMultiplyAdd(d, x0, a10); a11 = Avx512F.FusedMultiplyAdd(d, x1, a11); a12 = Avx512F.FusedMultiplyAdd(d, x2, a12);
                            d = Vector512.Load(dr + (2 * plane) + q) & mask;
                            a20 = Avx512F.FusedMultiplyAdd(d, x0, a20); a21 = Avx512F.FusedMultiplyAdd(d, x1, a21); a22 = Avx512F.FusedMultiplyAdd(d, x2, a22);
                            d = Vector512.Load(dr + (3 * plane) + q) & mask;
                            a30 = Avx512F.FusedMultiplyAdd(d, x0, a30); a31 = Avx512F.FusedMultiplyAdd(d, x1, a31); a32 = Avx512F.FusedMultiplyAdd(d, x2, a32);
                            d = Vector512.Load(dr + (4 * plane) + q) & mask;
                            a40 = Avx512F.FusedMultiplyAdd(d, x0, a40); a41 = Avx512F.FusedMultiplyAdd(d, x1, a41); a42 = Avx512F.FusedMultiplyAdd(d, x2, a42);
                            d = Vector512.Load(dr + (5 * plane) + q) & mask;
                            a50 = Avx512F.FusedMultiplyAdd(d, x0, a50); a51 = Avx512F.FusedMultiplyAdd(d, x1, a51); a52 = Avx512F.FusedMultiplyAdd(d, x2, a52);
                            d = Vector512.Load(dr + (6 * plane) + q) & mask;
                            a60 = Avx512F.FusedMultiplyAdd(d, x0, a60); a61 = Avx512F.FusedMultiplyAdd(d, x1, a61); a62 = Avx512F.FusedMultiplyAdd(d, x2, a62);
                            d = Vector512.Load(dr + (7 * plane) + q) & mask;
                            a70 = Avx512F.FusedMultiplyAdd(d, x0, a70); a71 = Avx512F.FusedMultiplyAdd(d, x1, a71); a72 = Avx512F.FusedMultiplyAdd(d, x2, a72);
                        }
                    }

                    // Filter k0 + f, tap (c, r, s) sums its lanes at [(k0 + f) * taps + (c * R + r) * 3 + s] * 16.
                    long tapsPerFilter = (long)channels * kh * 3, tap = ((c * kh) + r) * 3;
                    float* at = sums + ((((long)k0 * tapsPerFilter) + tap) * 16);
                    long step = tapsPerFilter * 16;
                    AddLanes(at, a00, a01, a02);
                    AddLanes(at + step, a10, a11, a12);
                    AddLanes(at + (2 * step), a20, a21, a22);
                    AddLanes(at + (3 * step), a30, a31, a32);
                    AddLanes(at + (4 * step), a40, a41, a42);
                    AddLanes(at + (5 * step), a50, a51, a52);
                    AddLanes(at + (6 * step), a60, a61, a62);
                    AddLanes(at + (7 * step), a70, a71, a72);
                }
            }
        }
    }

    /// <summary>Adds three taps' lane sums to the buffer at <paramref name="at"/> (16 floats per tap).</summary>
    private static void AddLanes(float* at, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2)
    {
        (Vector512.Load(at) + s0).Store(at);
        (Vector512.Load(at + 16) + s1).Store(at + 16);
        (Vector512.Load(at + 32) + s2).Store(at + 32);
    }

    /// <summary>A max-pooled convolution output's gradient: the pooled gradient, the pooling's indices, the pooled size.</summary>
    private readonly struct PooledGradient(float* gradient, int* indices, int outH, int outW)
    {
        public float* Gradient { get; } = gradient;

        public int* Indices { get; } = indices;

        public int OutH { get; } = outH;

        public int OutW { get; } = outW;
    }
}
