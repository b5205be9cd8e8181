// Batched GEMM and conv2d on the CPU. Convolution is im2col + GEMM per image, with images split
// across threads (each thread owns its column buffer and, for the filter gradient, its partial sum).
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gemm(in GemmArgs g)
    {
        float* a = Cpu(g.A).Pointer + g.OffsetA;
        float* b = Cpu(g.B).Pointer + g.OffsetB;
        float* c = Cpu(g.C).Pointer + g.OffsetC;
        if (g.Batch > 1 && CpuParallel.ChunkCount(g.Batch, (long)g.M * g.N * g.K) > 1 && (long)g.M * g.N * g.K < 1 << 22)
        {
            // Many small products: one thread per group of batch items.
            CpuParallel.For(g.Batch, (long)g.M * g.N * g.K, (g, (nint)a, (nint)b, (nint)c), static (in (GemmArgs Args, nint A, nint B, nint C) s, int b0, int b1) =>
            {
                for (int i = b0; i < b1; i++)
                {
                    RunOne(s.Args, (float*)s.A, (float*)s.B, (float*)s.C, i, parallel: false);
                }
            });
            return;
        }

        for (int i = 0; i < g.Batch; i++)
        {
            RunOne(g, a, b, c, i, parallel: true);
        }
    }

    /// <inheritdoc />
    public void Conv2dForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y) =>
        Forward(g, Cpu(x).Pointer, Cpu(w).Pointer, Cpu(y).Pointer, null, relu: false);

    /// <inheritdoc />
    /// <remarks>Every geometry: the direct kernel applies bias and ReLU in registers, the GEMM paths while each image's output is still in cache.</remarks>
    public bool SupportsConv2dBiasRelu(in Conv2dGeometry g) => true;

    /// <inheritdoc />
    public void Conv2dBiasReluForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer? bias, DeviceBuffer y) =>
        Forward(g, Cpu(x).Pointer, Cpu(w).Pointer, Cpu(y).Pointer, bias is null ? null : Cpu(bias).Pointer, relu: true);

    /// <summary>The convolution; with <paramref name="relu"/>, y = relu(conv + bias[k]) (bias may be null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(in Conv2dGeometry g, float* xp, float* wp, float* yp, float* bias, bool relu)
    {
        if (UseDirectConv(g))
        {
            DirectForward(g, xp, wp, yp, bias, relu);
            return;
        }

        if (UseImageChunks(g))
        {
            ChunkedForward(g, xp, wp, yp, bias, relu);
            return;
        }

        if (UseTransposedProduct(g))
        {
            TransposedForward(g, xp, wp, yp, bias, relu);
            return;
        }

        var geo = g;
        int pq = g.P * g.Q, crs = g.CPerGroup * g.R * g.S, chw = g.C * g.H * g.W;
        bool direct = IsPointwise(g);
        long workPerImage = (long)g.K * crs * pq;

        // The GEMMs go multithreaded only when the images are not already split across threads.
        bool perImage = CpuParallel.ChunkCount(g.N, workPerImage) > 1;
        CpuParallel.For(g.N, workPerImage, (geo, direct, perImage, relu, crs, pq, chw, (nint)xp, (nint)wp, (nint)yp, (nint)bias), static (in (Conv2dGeometry Geo, bool Direct, bool PerImage, bool Relu, int Crs, int Pq, int Chw, nint Xp, nint Wp, nint Yp, nint Bias) s, int n0, int n1) =>
        {
            var (geo, direct, perImage, relu, crs, pq, chw, _, _, _, _) = s;
            float* xp = (float*)s.Xp, wp = (float*)s.Wp, yp = (float*)s.Yp, bias = (float*)s.Bias;
            float[] col = direct ? [] : ColumnScratch(geo, pq);
            fixed (float* cp = col)
            {
                for (int n = n0; n < n1; n++)
                {
                    float* xn = xp + ((long)n * chw);
                    float* yn = yp + ((long)n * geo.K * pq);
                    float* colp = Columns(geo, xn, cp, direct);

                    for (int grp = 0; grp < geo.Groups; grp++)
                    {
                        CpuGemm.Run(
                            false, false, geo.KPerGroup, pq, crs, 1f,
                            wp + ((long)grp * geo.KPerGroup * crs), crs,
                            colp + ((long)grp * crs * pq), pq,
                            0f, yn + ((long)grp * geo.KPerGroup * pq), pq, !perImage);
                    }

                    if (relu)
                    {
                        BiasReluPlanes(yn, geo.K, pq, bias);
                    }
                }
            }
        });
    }

    /// <summary>
    /// One image with a small output plane and a multiple of 32 filters (batch-1 inference through late
    /// layers) runs as Y^T [P*Q, K] = col^T W^T and is transposed back: the filters then fill the GEMM's
    /// 32-wide panels exactly, where P*Q = 169 or 16 columns left the last panel mostly padding and every
    /// row block an edge tile (products of 64 x 169 x 288 and 64 x 16 x 576 ran measurably faster).
    /// </summary>
    private static bool UseTransposedProduct(in Conv2dGeometry g) =>
        g.N == 1 && g.Groups == 1 && g.K % 32 == 0 && g.P * g.Q < ChunkedPlaneLimit && !IsPointwise(g) && Avx.IsSupported && CpuGemm.Isa != CpuIsa.Scalar;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposedForward(in Conv2dGeometry g, float* x, float* w, float* y, float* bias, bool relu) =>
        ForEachOutputBand(g, g.P, new TransposedBand { Geo = g, X = x, W = w, Y = y, Yt = TransposedOutputs(g), Bias = bias, Relu = relu });

    /// <summary>Output rows [row0, row1) of <see cref="TransposedForward"/>: their product, transposed back into y.</summary>
    private struct TransposedBand : IOutputBand
    {
        public Conv2dGeometry Geo;
        public float* X, W, Y, Yt, Bias;
        public bool Relu;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int row0, int row1, bool parallel)
        {
            float* y = Y, yt = Yt, bias = Bias;
            int pq = Geo.P * Geo.Q, k = Geo.K, q = Geo.Q;
            TransposedProduct(Geo, X, W, row0, row1, yt, parallel);

            // y [K, PQ] = yt^T in 8 x 8 tiles over the band's positions, the last few one by one.
            int p = row0 * q, end = row1 * q;
            for (; p <= end - 8; p += 8)
            {
                for (int f = 0; f < k; f += 8)
                {
                    CpuGemm.Transpose8x8(yt + ((long)p * k) + f, k, y + ((long)f * pq) + p, pq);
                }
            }

            for (; p < end; p++)
            {
                for (int f = 0; f < k; f++)
                {
                    y[((long)f * pq) + p] = yt[((long)p * k) + f];
                }
            }

            if (Relu)
            {
                for (int f = 0; f < k; f++)
                {
                    float* plane = y + ((long)f * pq) + (row0 * q);
                    BiasReluRow(plane, plane, end - (row0 * q), bias == null ? 0f : bias[f]);
                }
            }
        }
    }

    /// <summary>The work on one band of output rows of a batch-1 transposed convolution.</summary>
    private interface IOutputBand
    {
        /// <summary>Rows [row0, row1); <paramref name="parallel"/>: whether the band may use every thread.</summary>
        void Run(int row0, int row1, bool parallel);
    }

    /// <summary>
    /// Runs body.Run(first output row, end row, whether it may use every thread) over [0, rows) rows of a batch-1
    /// transposed convolution (pooled rows for the pooled one): one band of rows per thread when several threads are
    /// free and the product has at least 2^19 multiply-adds, so each thread makes its own columns, product and output
    /// (a split of the product alone left the columns and the product crossing cores), else one band whose GEMM may
    /// split itself. The other core still runs its band more slowly, reading and writing lines this core last held.
    /// </summary>
    private static void ForEachOutputBand<TBand>(in Conv2dGeometry g, int rows, in TBand body)
        where TBand : struct, IOutputBand
    {
        long work = (long)g.P * g.Q * g.K * g.C * g.R * g.S;
        int bands = CpuParallel.InSharedLoop || work < 1 << 19 ? 1 : Math.Min(rows, CpuParallel.Threads);
        if (bands <= 1)
        {
            body.Run(0, rows, true);
            return;
        }

        CpuParallel.ForChunks(rows, bands, body, static (in TBand b, int _, int row0, int row1) => b.Run(row0, row1, false));
    }

    /// <summary>This thread's pinned scratch for a batch-1 transposed product Y^T [P*Q, K].</summary>
    private static float* TransposedOutputs(in Conv2dGeometry g)
    {
        fixed (float* yt = Scratch(ref transposedOutputs, (long)g.P * g.Q * g.K))
        {
            // A pinned array: the pointer stays valid after the fixed block.
            return yt;
        }
    }

    /// <summary>
    /// The rows of Y^T [P*Q, K] = col^T W^T (see <see cref="UseTransposedProduct"/>) at the positions of output rows
    /// [row0, row1) of one image, through this thread's column scratch.
    /// </summary>
    private static void TransposedProduct(in Conv2dGeometry g, float* x, float* w, int row0, int row1, float* yt, bool parallel)
    {
        int positions = (row1 - row0) * g.Q, crs = g.C * g.R * g.S;
        fixed (float* col = ColumnScratch(g, positions))
        {
            Im2Col(g, x, col, positions, row0, row1);
            CpuGemm.Run(true, true, positions, g.K, crs, 1f, col, positions, w, crs, 0f, yt + ((long)row0 * g.Q * g.K), g.K, parallel);
        }
    }

    /// <summary>
    /// <see cref="TransposedForward"/> followed by 2x2, stride-2 max pooling, pooled straight from the transposed
    /// product: a row of it holds every filter's value at one position, so each window's four rows are compared
    /// eight filters at a time, after bias and ReLU, with <see cref="MaxPool2x2Row"/>'s take-rule (the same values
    /// and positions as the composition), and the convolution's output is never transposed back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposedPooledForward(in Conv2dGeometry g, in Pool2dGeometry pool, float* x, float* w, float* bias, float* pooled, int* indices) =>
        ForEachOutputBand(g, pool.P, new TransposedPooledBand { Geo = g, OutH = pool.P, OutW = pool.Q, X = x, W = w, Yt = TransposedOutputs(g), Bias = bias, Pooled = pooled, Indices = indices });

    /// <summary>Pooled rows [ph0, ph1) of <see cref="TransposedPooledForward"/>: the product of the convolution rows their windows read, pooled.</summary>
    private struct TransposedPooledBand : IOutputBand
    {
        public Conv2dGeometry Geo;
        public int OutH, OutW;
        public float* X, W, Yt, Bias, Pooled;
        public int* Indices;

        public readonly void Run(int ph0, int ph1, bool parallel)
        {
            // The band's windows read convolution rows [2 ph0, 2 ph1) only.
            TransposedProduct(Geo, X, W, 2 * ph0, 2 * ph1, Yt, parallel);
            PoolTransposedRows(Geo.K, Geo.Q, OutW, (long)OutH * OutW, ph0, ph1, Yt, Bias, Pooled, Indices);
        }
    }

    /// <summary>Pooled rows [ph0, ph1) of <see cref="TransposedPooledForward"/> from the transposed product <paramref name="yt"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PoolTransposedRows(int k, int q, int outW, long plane, int ph0, int ph1, float* yt, float* bias, float* pooled, int* indices)
    {
        float* lanes = stackalloc float[16];
        for (int ph = ph0; ph < ph1; ph++)
        {
            for (int pw = 0; pw < outW; pw++)
            {
                int top = (2 * ph * q) + (2 * pw);
                float* r00 = yt + ((long)top * k);
                float* r10 = r00 + ((long)q * k);
                var at = Vector256.Create((float)top);
                long output = ((long)ph * outW) + pw;
                for (int f = 0; f < k; f += 8)
                {
                    // Bias and ReLU as BiasReluRow applies them, with each lane's own filter's bias.
                    var b = bias == null ? Vector256<float>.Zero : Vector256.Load(bias + f);
                    var best = Vector256.Max(Vector256.Load(r00 + f) + b, Vector256<float>.Zero);
                    var bestAt = at;
                    TakeLanes(ref best, ref bestAt, Vector256.Max(Vector256.Load(r00 + k + f) + b, Vector256<float>.Zero), at + Vector256.Create(1f));
                    TakeLanes(ref best, ref bestAt, Vector256.Max(Vector256.Load(r10 + f) + b, Vector256<float>.Zero), at + Vector256.Create((float)q));
                    TakeLanes(ref best, ref bestAt, Vector256.Max(Vector256.Load(r10 + k + f) + b, Vector256<float>.Zero), at + Vector256.Create((float)(q + 1)));
                    best.Store(lanes);
                    bestAt.Store(lanes + 8);
                    for (int j = 0; j < 8; j++)
                    {
                        pooled[((f + j) * plane) + output] = lanes[j];
                        indices[((f + j) * plane) + output] = (int)lanes[8 + j];
                    }
                }
            }
        }
    }

    /// <summary>y[f] = max(y[f] + bias[f], 0) in place for planes f of <paramref name="length"/> (bias may be null).</summary>
    private static void BiasReluPlanes(float* y, int planes, int length, float* bias)
    {
        for (int f = 0; f < planes; f++)
        {
            BiasReluRow(y + ((long)f * length), y + ((long)f * length), length, bias == null ? 0f : bias[f]);
        }
    }

    /// <summary>to[i] = max(from[i] + bias, 0) (from and to may be the same row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BiasReluRow(float* from, float* to, int length, float bias)
    {
        var b = Vector256.Create(bias);
        int i = 0;
        for (; i <= length - 8; i += 8)
        {
            Vector256.Max(Vector256.Load(from + i) + b, Vector256<float>.Zero).Store(to + i);
        }

        for (; i < length; i++)
        {
            to[i] = MathF.Max(from[i] + bias, 0f);
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Conv2dBackwardData(in Conv2dGeometry g, DeviceBuffer dy, DeviceBuffer w, DeviceBuffer dx)
    {
        if (UseImageChunks(g))
        {
            ChunkedBackwardData(g, Cpu(dy).Pointer, Cpu(w).Pointer, Cpu(dx).Pointer);
            return;
        }

        var geo = g;
        float* gp = Cpu(dy).Pointer, wp = Cpu(w).Pointer, dp = Cpu(dx).Pointer;
        int pq = g.P * g.Q, crs = g.CPerGroup * g.R * g.S, chw = g.C * g.H * g.W;
        bool direct = IsPointwise(g);
        long workPerImage = (long)g.K * crs * pq;

        // The GEMMs go multithreaded only when the images are not already split across threads.
        bool perImage = CpuParallel.ChunkCount(g.N, workPerImage) > 1;
        CpuParallel.For(g.N, workPerImage, (geo, direct, perImage, crs, pq, chw, (nint)gp, (nint)wp, (nint)dp), static (in (Conv2dGeometry Geo, bool Direct, bool PerImage, int Crs, int Pq, int Chw, nint Gp, nint Wp, nint Dp) s, int n0, int n1) =>
        {
            var (geo, direct, perImage, crs, pq, chw, _, _, _) = s;
            float* gp = (float*)s.Gp, wp = (float*)s.Wp, dp = (float*)s.Dp;
            float[] col = direct ? [] : ColumnScratch(geo, pq);
            fixed (float* cp = col)
            {
                for (int n = n0; n < n1; n++)
                {
                    float* dxn = dp + ((long)n * chw);
                    float* colp = direct ? dxn : cp;
                    for (int grp = 0; grp < geo.Groups; grp++)
                    {
                        // dcol_g [CgRS, PQ] = W_g^T [CgRS, Kg] * dy_g [Kg, PQ]
                        CpuGemm.Run(
                            true, false, crs, pq, geo.KPerGroup, 1f,
                            wp + ((long)grp * geo.KPerGroup * crs), crs,
                            gp + ((((long)n * geo.K) + (grp * geo.KPerGroup)) * pq), pq,
                            0f, colp + ((long)grp * crs * pq), pq, !perImage);
                    }

                    if (!direct)
                    {
                        Col2Im(geo, colp, pq, dxn);
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Conv2dBackwardFilter(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw)
    {
        if (UseDirectFilter(g))
        {
            DirectBackwardFilter(g, Cpu(x).Pointer, Cpu(dy).Pointer, Cpu(dw).Pointer);
            return;
        }

        if (UseImageChunks(g))
        {
            ChunkedBackwardFilter(g, Cpu(x).Pointer, Cpu(dy).Pointer, Cpu(dw).Pointer);
            return;
        }

        var geo = g;
        float* xp = Cpu(x).Pointer, gp = Cpu(dy).Pointer, wp = Cpu(dw).Pointer;
        int pq = g.P * g.Q, crs = g.CPerGroup * g.R * g.S, chw = g.C * g.H * g.W;
        bool direct = IsPointwise(g);
        int chunks = CpuParallel.ChunkCount(g.N, (long)g.K * crs * pq);
        float* partials = FilterPartials(g, chunks, out long length);
        CpuParallel.ForChunks(g.N, chunks, (geo, direct, chunks, length, crs, pq, chw, (nint)xp, (nint)gp, (nint)wp, (nint)partials), static (in (Conv2dGeometry Geo, bool Direct, int Chunks, long Length, int Crs, int Pq, int Chw, nint Xp, nint Gp, nint Wp, nint Partials) s, int chunk, int n0, int n1) =>
        {
            var (geo, direct, chunks, length, crs, pq, chw, _, _, _, _) = s;
            float* xp = (float*)s.Xp, gp = (float*)s.Gp, wp = (float*)s.Wp, partials = (float*)s.Partials;
            // With several threads each sums into its own partial gradient; they are added at the end.
            float* target = PartTarget(wp, partials, chunk, length);
            new Span<float>(target, (int)length).Clear();
            fixed (float* cp = direct ? [] : ColumnScratch(geo, pq))
            {
                for (int n = n0; n < n1; n++)
                {
                    float* xn = xp + ((long)n * chw);
                    float* colp = Columns(geo, xn, cp, direct);

                    for (int grp = 0; grp < geo.Groups; grp++)
                    {
                        // dW_g [Kg, CgRS] += dy_g [Kg, PQ] * col_g^T [PQ, CgRS]
                        CpuGemm.Run(
                            false, true, geo.KPerGroup, crs, pq, 1f,
                            gp + ((((long)n * geo.K) + (grp * geo.KPerGroup)) * pq), pq,
                            colp + ((long)grp * crs * pq), pq,
                            1f, target + ((long)grp * geo.KPerGroup * crs), crs, chunks == 1);
                    }
                }
            }
        });

        AddPartials(wp, partials, chunks, length);
    }

    [ThreadStatic]
    private static float[]? columnScratch;

    [ThreadStatic]
    private static float[]? transposedOutputs;

    private static float[] ColumnScratch(in Conv2dGeometry g, int pq) => Scratch(ref columnScratch, (long)g.C * g.R * g.S * pq);

    /// <summary>The column matrix of one image: the image itself for a pointwise conv, else im2col into the scratch.</summary>
    private static float* Columns(in Conv2dGeometry g, float* image, float* scratch, bool direct)
    {
        if (direct)
        {
            return image;
        }

        Im2Col(g, image, scratch, (long)g.P * g.Q);
        return scratch;
    }

    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0;

    private static void RunOne(in GemmArgs g, float* a, float* b, float* c, int i, bool parallel) =>
        CpuGemm.Run(
            g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha,
            a + (i * g.BatchStrideA), g.Lda, b + (i * g.BatchStrideB), g.Ldb,
            g.Beta, c + (i * g.BatchStrideC), g.Ldc, parallel);

    /// <summary>x [C,H,W] -> col [C*R*S, P*Q] with rows <paramref name="ld"/> apart (P*Q for one image); out-of-image taps are 0.
    /// With <paramref name="row0"/> and <paramref name="row1"/> (an end of -1 is P), only the positions of output rows
    /// [row0, row1), from the first column of col on.</summary>
    /// <remarks>
    /// Late layers copy many short rows (13 or 4 floats, say), so the loop keeps the geometry
    /// in locals (read through the reference it would be reloaded after every store) and copies and clears
    /// rows inline rather than through a library call per row.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Im2Col(in Conv2dGeometry g, float* x, float* col, long ld, int row0 = 0, int row1 = -1)
    {
        row1 = row1 < 0 ? g.P : row1;
        int p = row1 - row0, q = g.Q, channels = g.C, kh = g.R, kw = g.S, height = g.H, width = g.W;
        int strideH = g.StrideH, strideW = g.StrideW, padH = g.PadTop, padW = g.PadLeft, dilationH = g.DilationH, dilationW = g.DilationW;
        float* dst = col;
        if (IsValidUnitStride(g))
        {
            if (q <= 16 && CpuGemm.Isa == CpuIsa.Avx512 && Avx512F.IsSupported)
            {
                ValidUnitStrideIm2Col(new MaskedRows(q), channels * height, height, width, kh, kw, p, q, x + ((long)row0 * width), col, ld);
                return;
            }

            ValidUnitStrideIm2Col(new ShortRows(q), channels * height, height, width, kh, kw, p, q, x + ((long)row0 * width), col, ld);
            return;
        }

        for (int c = 0; c < channels; c++)
        {
            float* plane = x + ((long)c * height * width);
            for (int r = 0; r < kh; r++)
            {
                for (int s = 0; s < kw; s++, dst += ld)
                {
                    int iw0 = (s * dilationW) - padW;
                    var (owStart, owEnd) = ValidOutputs(iw0, strideW, width, q);
                    for (int oh = row0; oh < row1; oh++)
                    {
                        int ih = (oh * strideH) - padH + (r * dilationH);
                        float* row = dst + ((oh - row0) * q);
                        if ((uint)ih >= (uint)height || owStart >= owEnd)
                        {
                            ClearRow(row, q);
                            continue;
                        }

                        float* src = plane + ((long)ih * width) + iw0;
                        ClearRow(row, owStart);
                        if (strideW == 1)
                        {
                            CopyRow(src + owStart, row + owStart, owEnd - owStart);
                        }
                        else
                        {
                            for (int ow = owStart; ow < owEnd; ow++)
                            {
                                row[ow] = src[ow * strideW];
                            }
                        }

                        ClearRow(row + owEnd, q - owEnd);
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Im2Col"/> when every tap lies inside the image and steps by one (a "valid" convolution with
    /// unit strides): each column row is P input rows of Q floats, copied by <paramref name="rows"/> with no bounds
    /// to work out. A method of its own with few values, which the JIT keeps in registers (inside Im2Col they were
    /// spilled), compiled once per kind of row copy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ValidUnitStrideIm2Col<TRows>(TRows rows, int planes, int height, int width, int kh, int kw, int p, int q, float* x, float* col, long ld)
        where TRows : struct, IRowCopy
    {
        float* dst = col;
        for (int plane = 0; plane < planes; plane += height)
        {
            for (int r = 0; r < kh; r++)
            {
                float* src = x + ((long)(plane + r) * width);
                for (int s = 0; s < kw; s++, dst += ld)
                {
                    for (int oh = 0; oh < p; oh++)
                    {
                        rows.Copy(src + s + ((long)oh * width), dst + (oh * q));
                    }
                }
            }
        }
    }

    /// <summary>Copies one row of a fixed length.</summary>
    private interface IRowCopy
    {
        void Copy(float* from, float* to);
    }

    /// <summary>Rows of any length, with <see cref="CopyRow"/>.</summary>
    private readonly struct ShortRows(int length) : IRowCopy
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Copy(float* from, float* to) => CopyRow(from, to, length);
    }

    /// <summary>
    /// Rows of at most 16 floats (late layers' 13 or 4, say) on AVX-512: one masked load and one masked
    /// store each, where <see cref="CopyRow"/> takes two overlapping 8-float loads and stores for 13 floats.
    /// </summary>
    private readonly struct MaskedRows(int length) : IRowCopy
    {
        private readonly Vector512<float> inRow = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(length)).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Copy(float* from, float* to) => Avx512F.MaskStore(to, inRow, Avx512F.MaskLoad(from, inRow, Vector512<float>.Zero));
    }

    /// <summary>Whether every tap of every output lies inside the image and steps by one (stride and dilation 1, no padding;
    /// the output may stop short of the image's last rows and columns, as a cropped one does).</summary>
    private static bool IsValidUnitStride(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.PadTop == 0 && g.PadLeft == 0 && g.P <= g.H - g.R + 1 && g.Q <= g.W - g.S + 1;

    /// <summary>The outputs [start, end) whose input column ow * stride + iw0 lies inside [0, width).</summary>
    private static (int Start, int End) ValidOutputs(int iw0, int stride, int width, int outputs)
    {
        int start = iw0 >= 0 ? 0 : (-iw0 + stride - 1) / stride;
        int end = width - iw0 <= 0 ? 0 : Math.Min(outputs, ((width - iw0 - 1) / stride) + 1);
        return (Math.Min(start, outputs), Math.Max(end, Math.Min(start, outputs)));
    }

    /// <summary>col [C*R*S, P*Q] (rows <paramref name="ld"/> apart) -> x [C,H,W] by summing overlapping taps (x is overwritten).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Col2Im(in Conv2dGeometry g, float* col, long ld, float* x)
    {
        int p = g.P, q = g.Q, channels = g.C, kh = g.R, kw = g.S, height = g.H, width = g.W;
        int strideH = g.StrideH, strideW = g.StrideW, padH = g.PadTop, padW = g.PadLeft, dilationH = g.DilationH, dilationW = g.DilationW;
        if (width <= 16 && IsValidUnitStride(g) && CpuGemm.Isa == CpuIsa.Avx512 && Avx512F.IsSupported)
        {
            ValidUnitStrideCol2Im(channels, height, width, kh, kw, p, q, col, ld, x);
            return;
        }

        new Span<float>(x, channels * height * width).Clear();
        float* src = col;
        for (int c = 0; c < channels; c++)
        {
            float* plane = x + ((long)c * height * width);
            for (int r = 0; r < kh; r++)
            {
                for (int s = 0; s < kw; s++, src += ld)
                {
                    int iw0 = (s * dilationW) - padW;
                    var (owStart, owEnd) = ValidOutputs(iw0, strideW, width, q);
                    for (int oh = 0; oh < p; oh++)
                    {
                        int ih = (oh * strideH) - padH + (r * dilationH);
                        if ((uint)ih >= (uint)height)
                        {
                            continue;
                        }

                        float* dst = plane + ((long)ih * width) + iw0;
                        float* row = src + (oh * q);
                        if (strideW == 1)
                        {
                            AddRow(row + owStart, dst + owStart, owEnd - owStart);
                        }
                        else
                        {
                            for (int ow = owStart; ow < owEnd; ow++)
                            {
                                dst[ow * strideW] += row[ow];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Col2Im"/> of a valid, unit-stride convolution whose input rows fit one AVX-512 register (late
    /// layers' 15 or 6 floats, say): each input row is the sum of its R x S column rows, each loaded shifted
    /// into place with a mask, summed in the register in Col2Im's order ((r, s) ascending, from 0, so the bits are
    /// the same) and stored once, where Col2Im clears the image and adds every column row into memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ValidUnitStrideCol2Im(int channels, int height, int width, int kh, int kw, int p, int q, float* col, long ld, float* x)
    {
        var lanes = Vector512<int>.Indices;
        var inRow = Vector512.LessThan(lanes, Vector512.Create(width)).AsSingle();
        for (int c = 0; c < channels; c++)
        {
            float* plane = x + ((long)c * height * width);
            float* rows = col + ((long)c * kh * kw * ld);
            for (int ih = 0; ih < height; ih++)
            {
                var sum = Vector512<float>.Zero;
                for (int r = 0; r < kh; r++)
                {
                    int oh = ih - r;
                    if ((uint)oh >= (uint)p)
                    {
                        continue;
                    }

                    float* row = rows + ((long)r * kw * ld) + (oh * q);
                    for (int s = 0; s < kw; s++)
                    {
                        // Lanes [s, s + q) take the column row's q values (the row read from s floats before it).
                        var taps = Vector512.LessThan((lanes - Vector512.Create(s)).AsUInt32(), Vector512.Create((uint)q)).AsSingle();
                        sum += Avx512F.MaskLoad(row + (s * ld) - s, taps, Vector512<float>.Zero);
                    }
                }

                Avx512F.MaskStore(plane + ((long)ih * width), inRow, sum);
            }
        }
    }

    /// <summary>
    /// Copies a short row (an output row of a late layer is 4 to 30 floats) in 8-float vectors, the last
    /// one moved back to end at the row's end, instead of a call to a general memory copy per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* from, float* to, int length)
    {
        if (length < 8)
        {
            if (length >= 4)
            {
                Vector128.Load(from).Store(to);
                Vector128.Load(from + length - 4).Store(to + length - 4);
                return;
            }

            for (int i = 0; i < length; i++)
            {
                to[i] = from[i];
            }

            return;
        }

        int last = length - 8;
        for (int i = 0; i < last; i += 8)
        {
            Vector256.Load(from + i).Store(to + i);
        }

        Vector256.Load(from + last).Store(to + last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ClearRow(float* row, int length)
    {
        for (int i = 0; i < length; i++)
        {
            row[i] = 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* from, float* to, int length)
    {
        int i = 0;
        for (; i <= length - 8; i += 8)
        {
            (Vector256.Load(to + i) + Vector256.Load(from + i)).Store(to + i);
        }

        if (i <= length - 4)
        {
            (Vector128.Load(to + i) + Vector128.Load(from + i)).Store(to + i);
            i += 4;
        }

        for (; i < length; i++)
        {
            to[i] += from[i];
        }
    }
}
