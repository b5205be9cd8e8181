// Convolutions with small output planes (late layers: P*Q of 16 or 169, say) as one GEMM
// per chunk of images: the column matrices of the chunk's images sit side by side, [C*R*S, images*P*Q],
// so the GEMM sees a wide N instead of one narrow product per image (with N = 16 per image, the product
// over 64 images runs several times faster than 64 products). Chunks are
// small enough for their columns to be still in L2 when the GEMM packs them (forward, filter gradient)
// and when col2im reads them back (data gradient), and each thread runs the chunks of its own part of the
// images. Outputs and output gradients are regrouped between [images, K, P*Q] and [K, images*P*Q] around
// the GEMM.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Output planes below this many positions run as chunks of images.</summary>
    private const int ChunkedPlaneLimit = 256;

    /// <summary>The most floats of one chunk's column matrix (each thread runs its own chunks).</summary>
    /// <remarks>
    /// 512 KB, a quarter of a 2 MB L2, measured fastest among 256 KB-4 MB budgets on a convolutional training step;
    /// at 256 KB the GEMM's N shrinks to one image.
    /// </remarks>
    private const long ChunkColumnBudget = 1L << 17;

    /// <summary>A smaller budget for the calling thread only (tests use it to make several chunks of small inputs).</summary>
    [ThreadStatic]
    internal static long? ChunkColumnBudgetOverride;

    [ThreadStatic]
    private static float[]? chunkColumns;

    [ThreadStatic]
    private static float[]? chunkOutputs;

    [ThreadStatic]
    private static float[]? filterPartials;

    [ThreadStatic]
    private static float[]? packedWeights;

    /// <summary>The work on one chunk of <see cref="ForEachChunk"/>.</summary>
    private interface IChunkWork
    {
        /// <summary>Its part, whether it is the part's first chunk, its images and the thread's buffers.</summary>
        void Run(int part, bool first, int firstImage, int images, float* columns, float* outputs);
    }

    private static bool UseImageChunks(in Conv2dGeometry g) => g.P * g.Q < ChunkedPlaneLimit && g.N > 1 && !IsPointwise(g);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ChunkedForward(in Conv2dGeometry g, float* x, float* w, float* y, float* bias = null, bool relu = false) =>
        ForEachChunk(g, new ForwardChunks { Geo = g, X = x, W = w, Packed = PackWeights(g, w, transposed: false), Y = y, Bias = bias, Relu = relu });

    /// <summary>One chunk of <see cref="ChunkedForward"/>: its product, regrouped into y.</summary>
    private struct ForwardChunks : IChunkWork
    {
        public Conv2dGeometry Geo;
        public float* X, W, Packed, Y, Bias;
        public bool Relu;

        public readonly void Run(int part, bool first, int n0, int images, float* col, float* outputs)
        {
            ChunkProduct(Geo, X, W, Packed, n0, images, col, outputs);
            Regroup(Geo, outputs, Y, n0, images, toChunk: false, Bias, Relu);
        }
    }

    /// <summary>
    /// <see cref="ChunkedForward"/> with bias and ReLU followed by 2x2, stride-2 max pooling, pooled from the chunk's
    /// output while it is in cache: each image's plane gets bias and ReLU into a small buffer and is pooled from
    /// there with <see cref="MaxPool2x2Planes"/>, the same operations as the composition (identical values and
    /// positions), and the convolution's full-size output is never written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ChunkedPooledForward(in Conv2dGeometry g, in Pool2dGeometry pool, float* x, float* w, float* bias, float* pooled, int* indices)
    {
        // Only the outputs the windows cover are computed (see ChunkedPooledBackward); each plane is laid out at the
        // full width again for the pooling, whose indices are positions in the full plane.
        var geo = Cropped(g, 2 * pool.P, 2 * pool.Q);
        ForEachChunk(geo, new PooledForwardChunks
        {
            Geo = geo,
            FullQ = g.Q,
            FullPq = g.P * g.Q,
            OutH = pool.P,
            OutW = pool.Q,
            X = x,
            W = w,
            Packed = PackWeights(geo, w, transposed: false),
            Bias = bias,
            Pooled = pooled,
            Indices = indices,
        });
    }

    /// <summary>One chunk of <see cref="ChunkedPooledForward"/>: its product, then per plane bias, ReLU and the pooling.</summary>
    private struct PooledForwardChunks : IChunkWork
    {
        public Conv2dGeometry Geo;
        public int FullQ, FullPq, OutH, OutW;
        public float* X, W, Packed, Bias, Pooled;
        public int* Indices;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int part, bool first, int n0, int images, float* col, float* outputs)
        {
            ChunkProduct(Geo, X, W, Packed, n0, images, col, outputs);
            CpuParallel.For(images, (long)Geo.K * Geo.P * Geo.Q, (this, n0, images, (nint)outputs), [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in (PooledForwardChunks Chunk, int N0, int Images, nint Outputs) s, int i0, int i1) =>
                s.Chunk.PoolImages(s.N0, s.Images, (float*)s.Outputs, i0, i1));
        }

        /// <summary>Images [i0, i1) of the chunk: each plane gets bias and ReLU at the full width, and is pooled from there.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void PoolImages(int n0, int images, float* outputs, int i0, int i1)
        {
            int pq = Geo.P * Geo.Q, rows = Geo.P, q = Geo.Q, fullQ = FullQ, fullPq = FullPq, k = Geo.K, outH = OutH, outW = OutW;
            long pooledPlane = (long)outH * outW, cols = (long)images * pq;
            float* bias = Bias, pooled = Pooled;
            int* indices = Indices;
            float* plane = stackalloc float[fullPq];
            for (int i = i0; i < i1; i++)
            {
                for (int f = 0; f < k; f++)
                {
                    long at = (((long)(n0 + i) * k) + f) * pooledPlane;
                    float* output = outputs + (f * cols) + ((long)i * pq);
                    float b = bias == null ? 0f : bias[f];
                    if (q == fullQ)
                    {
                        BiasReluRow(output, plane, pq, b);
                    }
                    else
                    {
                        for (int r = 0; r < rows; r++)
                        {
                            BiasReluShortRow(output + (r * q), plane + (r * fullQ), q, b);
                        }
                    }

                    MaxPool2x2Planes(0, 1, fullQ, fullPq, outH, outW, plane, pooled + at, indices + at);
                }
            }
        }
    }

    /// <summary>The chunk's product [K, images*PQ] of images n0.. into <paramref name="outputs"/>, through its columns
    /// (the weights' GEMM panels from <paramref name="packed"/>, see <see cref="PackWeights"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChunkProduct(in Conv2dGeometry g, float* x, float* w, float* packed, int n0, int images, float* col, float* outputs)
    {
        int cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        long cols = (long)images * g.P * g.Q, perGroup = CpuGemm.WholeASize(kg, cgrs);
        ImagesToColumns(g, x, n0, images, col);
        for (int grp = 0; grp < g.Groups; grp++)
        {
            // Y_g [Kg, images*PQ] = W_g [Kg, CgRS] * col_g [CgRS, images*PQ]
            CpuGemm.Run(
                false, false, kg, (int)cols, cgrs, 1f, w + ((long)grp * kg * cgrs), cgrs, col + (grp * cgrs * cols), (int)cols, 0f, outputs + (grp * kg * cols), (int)cols, true,
                packed + (grp * perGroup));
        }
    }

    /// <summary>
    /// Packs each group's weights into the GEMM's panels once for all chunks, in a buffer of the calling thread that the
    /// chunks' threads only read: as W_g for the forward product, or as W_g^T (<paramref name="transposed"/>) for the
    /// input gradient's, instead of every chunk packing them again.
    /// </summary>
    private static float* PackWeights(in Conv2dGeometry g, float* w, bool transposed)
    {
        int cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        int m = transposed ? cgrs : kg, k = transposed ? kg : cgrs;
        long perGroup = CpuGemm.WholeASize(m, k);
        fixed (float* packed = Scratch(ref packedWeights, perGroup * g.Groups))
        {
            for (int grp = 0; grp < g.Groups; grp++)
            {
                CpuGemm.PackWholeA(transposed, m, k, 1f, w + ((long)grp * kg * cgrs), cgrs, packed + (grp * perGroup));
            }

            // A pinned array: the pointer stays valid after the fixed block.
            return packed;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ChunkedBackwardData(in Conv2dGeometry g, float* dy, float* w, float* dx) =>
        ForEachChunk(g, new DataGradientChunks { Geo = g, Dy = dy, W = w, Packed = PackWeights(g, w, transposed: true), Dx = dx });

    /// <summary>One chunk of <see cref="ChunkedBackwardData"/>.</summary>
    private struct DataGradientChunks : IChunkWork
    {
        public Conv2dGeometry Geo;
        public float* Dy, W, Packed, Dx;

        public readonly void Run(int part, bool first, int n0, int images, float* col, float* gradients)
        {
            Regroup(Geo, gradients, Dy, n0, images, toChunk: true);
            ChunkDataGradient(Geo, W, Packed, n0, images, col, gradients, Dx);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ChunkedBackwardFilter(in Conv2dGeometry g, float* x, float* dy, float* dw)
    {
        float* partials = FilterPartials(g, ChunkParts(g), out long length);
        int parts = ForEachChunk(g, new FilterGradientChunks { Geo = g, X = x, Dy = dy, Dw = dw, Partials = partials, Length = length });
        AddPartials(dw, partials, parts, length);
    }

    /// <summary>One chunk of <see cref="ChunkedBackwardFilter"/>, summed into its part's filter gradient.</summary>
    private struct FilterGradientChunks : IChunkWork
    {
        public Conv2dGeometry Geo;
        public float* X, Dy, Dw, Partials;
        public long Length;

        public readonly void Run(int part, bool first, int n0, int images, float* col, float* gradients)
        {
            Regroup(Geo, gradients, Dy, n0, images, toChunk: true);
            ChunkFilterGradient(Geo, X, n0, images, col, gradients, PartTarget(Dw, Partials, part, Length), first);
        }
    }

    /// <summary>
    /// The input and/or filter gradients (either pointer may be null) of a convolution whose output went through
    /// 2x2, stride-2 max pooling, from the pooled output's gradient: each chunk's output gradient is scattered from
    /// the pooled one through the pooling's indices straight into the chunk's layout (the windows do not overlap,
    /// so each pooled value lands on its argmax and every other position is 0) and serves both gradients, where
    /// the composition writes the full-size gradient and regroups it once per gradient. The GEMMs and col2im are
    /// <see cref="ChunkedBackwardData"/>'s and <see cref="ChunkedBackwardFilter"/>'s, in the same order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ChunkedPooledBackward(in Conv2dGeometry g, in Pool2dGeometry pool, float* x, float* w, float* pooledGrad, int* indices, float* dx, float* dw)
    {
        // The windows cover the convolution's outputs [0, 2 outH) x [0, 2 outW) only: a last odd row or column
        // (13 x 13 outputs under 6 x 6 windows, say) has no gradient, so both products run on the crop.
        var geo = Cropped(g, 2 * pool.P, 2 * pool.Q);
        float* partials = FilterPartials(geo, ChunkParts(geo), out long length);
        int parts = ForEachChunk(geo, new PooledBackwardChunks
        {
            Geo = geo,
            FullQ = g.Q,
            OutH = pool.P,
            OutW = pool.Q,
            X = x,
            W = w,
            Packed = dx == null ? null : PackWeights(geo, w, transposed: true),
            PooledGrad = pooledGrad,
            Indices = indices,
            Dx = dx,
            Dw = dw,
            Partials = partials,
            Length = length,
        });

        if (dw != null)
        {
            AddPartials(dw, partials, parts, length);
        }
    }

    /// <summary>One chunk of <see cref="ChunkedPooledBackward"/>: its output gradient scattered from the pooled one, then both gradients.</summary>
    private struct PooledBackwardChunks : IChunkWork
    {
        public Conv2dGeometry Geo;
        public int FullQ, OutH, OutW;
        public float* X, W, Packed, PooledGrad, Dx, Dw, Partials;
        public int* Indices;
        public long Length;

        public readonly void Run(int part, bool first, int n0, int images, float* col, float* gradients)
        {
            CpuParallel.For(images, (long)Geo.K * Geo.P * Geo.Q, (this, n0, images, (nint)gradients), [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in (PooledBackwardChunks Chunk, int N0, int Images, nint Gradients) s, int i0, int i1) =>
                s.Chunk.Scatter(s.N0, s.Images, (float*)s.Gradients, i0, i1));

            if (Dw != null)
            {
                ChunkFilterGradient(Geo, X, n0, images, col, gradients, PartTarget(Dw, Partials, part, Length), first);
            }

            if (Dx != null)
            {
                // The columns are free again once the filter gradient has read them.
                ChunkDataGradient(Geo, W, Packed, n0, images, col, gradients, Dx);
            }
        }

        /// <summary>The output gradient of images [i0, i1) of the chunk, from the pooled gradient through the pooling's indices.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Scatter(int n0, int images, float* gradients, int i0, int i1)
        {
            int pq = Geo.P * Geo.Q, k = Geo.K, fullQ = FullQ, q = Geo.Q, outH = OutH, outW = OutW;
            long pooledPlane = (long)outH * outW, cols = (long)images * pq;
            float* pooledGrad = PooledGrad;
            int* indices = Indices;

            // An index is its window's top-left corner in the full plane + 0, 1, Q or Q + 1: that offset's place
            // in the crop's window.
            int* inWindow = stackalloc int[fullQ + 2];
            inWindow[1] = 1;
            inWindow[fullQ] = q;
            inWindow[fullQ + 1] = q + 1;
            for (int i = i0; i < i1; i++)
            {
                for (int f = 0; f < k; f++)
                {
                    float* plane = gradients + (f * cols) + ((long)i * pq);
                    long at = (((long)(n0 + i) * k) + f) * pooledPlane;
                    float* from = pooledGrad + at;
                    int* where = indices + at;
                    new Span<float>(plane, pq).Clear();
                    for (int ph = 0, o = 0; ph < outH; ph++)
                    {
                        int fullTop = 2 * ph * fullQ, top = 2 * ph * q;
                        for (int pw = 0; pw < outW; pw++, o++)
                        {
                            plane[top + (2 * pw) + inWindow[where[o] - fullTop - (2 * pw)]] = from[o];
                        }
                    }
                }
            }
        }
    }

    /// <summary>dx of images n0.. from the chunk's output gradient [K, images*PQ]: dcol = W^T dY into the column buffer, then
    /// col2im per image (W^T's GEMM panels from <paramref name="packed"/>, see <see cref="PackWeights"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChunkDataGradient(in Conv2dGeometry g, float* w, float* packed, int n0, int images, float* col, float* gradients, float* dx)
    {
        int pq = g.P * g.Q, cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        long cols = (long)images * pq, perGroup = CpuGemm.WholeASize(cgrs, kg);
        for (int grp = 0; grp < g.Groups; grp++)
        {
            // dcol_g [CgRS, images*PQ] = W_g^T [CgRS, Kg] * dY_g [Kg, images*PQ]
            CpuGemm.Run(
                true, false, cgrs, (int)cols, kg, 1f, w + ((long)grp * kg * cgrs), cgrs, gradients + (grp * kg * cols), (int)cols, 0f, col + (grp * cgrs * cols), (int)cols, true,
                packed + (grp * perGroup));
        }

        var state = (g, n0, cols, (nint)col, (nint)dx);
        CpuParallel.For(images, (long)g.C * g.R * g.S * pq, state, static (in (Conv2dGeometry Geo, int N0, long Cols, nint Col, nint Dx) s, int i0, int i1) =>
        {
            int pq = s.Geo.P * s.Geo.Q, chw = s.Geo.C * s.Geo.H * s.Geo.W;
            for (int i = i0; i < i1; i++)
            {
                Col2Im(s.Geo, (float*)s.Col + ((long)i * pq), s.Cols, (float*)s.Dx + ((long)(s.N0 + i) * chw));
            }
        });
    }

    /// <summary>dW (+)= the chunk's output gradient [K, images*PQ] times its columns' transpose (written on a part's first chunk, added on later ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ChunkFilterGradient(in Conv2dGeometry g, float* x, int n0, int images, float* col, float* gradients, float* dw, bool first)
    {
        int cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        long cols = (long)images * g.P * g.Q;
        ImagesToColumns(g, x, n0, images, col);
        for (int grp = 0; grp < g.Groups; grp++)
        {
            // dW_g [Kg, CgRS] (+)= dY_g [Kg, images*PQ] * col_g^T [images*PQ, CgRS]
            CpuGemm.Run(false, true, kg, cgrs, (int)cols, 1f, gradients + (grp * kg * cols), (int)cols, col + (grp * cgrs * cols), (int)cols, first ? 0f : 1f, dw + ((long)grp * kg * cgrs), cgrs, true);
        }
    }

    /// <summary>
    /// Calls body.Run(part, first, first image, images, column buffer [C*R*S, images*PQ], output buffer [K, images*PQ])
    /// per chunk and returns the number of parts (<see cref="ChunkParts"/>): the images are split into contiguous
    /// parts, a few per thread, and a thread runs a part's chunks in order with its own buffers and single-threaded
    /// GEMMs (loops nested in a parallel loop run on their thread), so the threads never wait for each other inside
    /// a chunk, and one whose core is slowed down leaves parts to the others. With one part the chunk's own loops and
    /// GEMMs use every thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ForEachChunk<TWork>(in Conv2dGeometry g, in TWork body)
        where TWork : struct, IChunkWork
    {
        int parts = ChunkPlan(g, out int chunk, out int chunks);
        CpuParallel.ForChunks(chunks, parts, (body, g, chunk), [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in (TWork Body, Conv2dGeometry Geo, int Chunk) s, int part, int c0, int c1) =>
        {
            var g = s.Geo;
            int chunk = s.Chunk;
            long perImage = (long)g.C * g.R * g.S * g.P * g.Q, perOutput = (long)g.K * g.P * g.Q;
            fixed (float* cp = Scratch(ref chunkColumns, perImage * chunk), op = Scratch(ref chunkOutputs, perOutput * chunk))
            {
                for (int c = c0; c < c1; c++)
                {
                    int n0 = c * chunk;
                    s.Body.Run(part, c == c0, n0, Math.Min(chunk, g.N - n0), cp, op);
                }
            }
        });
        return parts;
    }

    /// <summary><see cref="BiasReluRow"/> into another buffer for rows of 8 floats or more (a cropped plane's 12): the
    /// last 8 are done again from the end, which rewrites the same values, instead of one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BiasReluShortRow(float* from, float* to, int length, float bias)
    {
        if (length < 8)
        {
            BiasReluRow(from, to, length, bias);
            return;
        }

        var b = Vector256.Create(bias);
        for (int i = 0; i < length - 8; i += 8)
        {
            Vector256.Max(Vector256.Load(from + i) + b, Vector256<float>.Zero).Store(to + i);
        }

        Vector256.Max(Vector256.Load(from + length - 8) + b, Vector256<float>.Zero).Store(to + length - 8);
    }

    /// <summary><paramref name="g"/> with its output cut to the first <paramref name="rows"/> x <paramref name="columns"/>
    /// positions (at most its own), through less (possibly negative) padding at the bottom and right.</summary>
    private static Conv2dGeometry Cropped(in Conv2dGeometry g, int rows, int columns) => g with
    {
        PadBottom = g.PadBottom - ((g.P - rows) * g.StrideH),
        PadRight = g.PadRight - ((g.Q - columns) * g.StrideW),
    };

    /// <summary>How many parts <see cref="ChunkPlan"/> gives <see cref="ForEachChunk"/>.</summary>
    private static int ChunkParts(in Conv2dGeometry g) => ChunkPlan(g, out _, out _);

    /// <summary>How <see cref="ForEachChunk"/> splits the images: <paramref name="chunk"/> images per chunk (as many as the
    /// column budget holds), <paramref name="chunks"/> chunks, and the returned number of parts, one per chunk up to
    /// <see cref="CpuParallel.MaxChunks"/>.</summary>
    private static int ChunkPlan(in Conv2dGeometry g, out int chunk, out int chunks)
    {
        long perImage = (long)g.C * g.R * g.S * g.P * g.Q;
        chunk = (int)Math.Clamp((ChunkColumnBudgetOverride ?? ChunkColumnBudget) / Math.Max(perImage, 1), 1, g.N);
        chunks = (g.N + chunk - 1) / chunk;
        return Math.Min(chunks, CpuParallel.MaxChunks);
    }

    /// <summary>A pinned buffer for the filter gradients of every part but the first (which writes dW itself), each
    /// <paramref name="length"/> floats: of a chunked or a per-image convolution's parts.</summary>
    private static float* FilterPartials(in Conv2dGeometry g, int parts, out long length)
    {
        length = (long)g.K * g.CPerGroup * g.R * g.S;
        fixed (float* p = Scratch(ref filterPartials, Math.Max(parts - 1, 1) * length))
        {
            // A pinned array: the pointer stays valid after the fixed block.
            return p;
        }
    }

    /// <summary>Where part <paramref name="part"/> sums its filter gradient: dW itself for the first, else its slot in <paramref name="partials"/>.</summary>
    private static float* PartTarget(float* dw, float* partials, int part, long length) =>
        part == 0 ? dw : partials + ((part - 1) * length);

    /// <summary>dW += the other parts' filter gradients, in part order (the same bits for the same number of threads).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddPartials(float* dw, float* partials, int parts, long length)
    {
        for (int part = 1; part < parts; part++)
        {
            float* from = partials + ((part - 1) * length);
            long i = 0;
            for (; i <= length - 8; i += 8)
            {
                (Vector256.Load(dw + i) + Vector256.Load(from + i)).Store(dw + i);
            }

            for (; i < length; i++)
            {
                dw[i] += from[i];
            }
        }
    }

    private static float[] Scratch(ref float[]? cached, long length)
    {
        if (cached is null || cached.Length < length)
        {
            cached = GC.AllocateUninitializedArray<float>((int)length, pinned: true);
        }

        return cached;
    }

    /// <summary>Each image's im2col into its column block of the chunk's matrix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ImagesToColumns(in Conv2dGeometry g, float* x, int n0, int images, float* col)
    {
        int pq = g.P * g.Q;
        long cols = (long)images * pq;
        CpuParallel.For(images, (long)g.C * g.R * g.S * pq, (g, n0, cols, (nint)x, (nint)col), static (in (Conv2dGeometry Geo, int N0, long Cols, nint X, nint Col) s, int i0, int i1) =>
        {
            int pq = s.Geo.P * s.Geo.Q, chw = s.Geo.C * s.Geo.H * s.Geo.W;
            for (int i = i0; i < i1; i++)
            {
                Im2Col(s.Geo, (float*)s.X + ((long)(s.N0 + i) * chw), (float*)s.Col + ((long)i * pq), s.Cols);
            }
        });
    }

    /// <summary>Copies between a tensor [N, K, PQ] (images n0..) and the chunk layout [K, images*PQ], in the direction asked (to the tensor with the forward's bias and ReLU when <paramref name="relu"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Regroup(in Conv2dGeometry g, float* chunk, float* tensor, int n0, int images, bool toChunk, float* bias = null, bool relu = false)
    {
        int pq = g.P * g.Q, k = g.K;
        var state = (pq, k, (long)images * pq, n0, toChunk, relu, (nint)chunk, (nint)tensor, (nint)bias);
        CpuParallel.For(images, (long)k * pq, state, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in (int Pq, int K, long Cols, int N0, bool ToChunk, bool Relu, nint Chunk, nint Tensor, nint Bias) s, int i0, int i1) =>
        {
            int pq = s.Pq, k = s.K, n0 = s.N0;
            long cols = s.Cols;
            float* chunk = (float*)s.Chunk, tensor = (float*)s.Tensor, bias = (float*)s.Bias;
            for (int i = i0; i < i1; i++)
            {
                for (int f = 0; f < k; f++)
                {
                    var inChunk = new Span<float>(chunk + (f * cols) + ((long)i * pq), pq);
                    var inTensor = new Span<float>(tensor + ((((long)(n0 + i) * k) + f) * pq), pq);
                    if (s.ToChunk)
                    {
                        inTensor.CopyTo(inChunk);
                    }
                    else if (s.Relu)
                    {
                        // The forward's bias and ReLU, applied on the way out.
                        BiasReluRow(chunk + (f * cols) + ((long)i * pq), tensor + ((((long)(n0 + i) * k) + f) * pq), pq, bias == null ? 0f : bias[f]);
                    }
                    else
                    {
                        inChunk.CopyTo(inTensor);
                    }
                }
            }
        });
    }
}
