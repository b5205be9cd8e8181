// Cache-blocked SGEMM (the Goto/BLIS scheme): B is packed in kc x nc blocks of NR-wide panels,
// A in mc x kc blocks of MR-tall panels (alpha folded in), and a register-tiled micro-kernel
// updates C. Work is split across threads over (row block, column-panel range) pairs.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

/// <summary>Single-precision row-major GEMM on the CPU.</summary>
internal static unsafe class CpuGemm
{
    private const int Kc = 256;
    private const int Nc = 2048;

    /// <summary>Up to this many rows of C, GEMM runs as row-times-matrix products without packing.</summary>
    private const int SmallM = 4;

    /// <summary>From this many multiply-adds per K block on, a GEMM of at most one row block per thread splits its rows
    /// across threads (each thread packs its own B); other shapes go parallel from 2^22.</summary>
    private const long RowSplitWork = 1 << 19;

    // The dot-product path: C at most this many elements, the inner dimension at least this long.
    private const int DotMaxOutputs = 1024;
    private const int DotMinDepth = 128;

    // Rows of B summed per partial sum in the row-times-matrix path.
    private const int RowBlock = 128;

    // From this many elements of B (1 MB) on, the row-times-matrix path runs B in blocks of rows, in
    // alternating order (a B that fits in L2 stays there whatever the order).
    private const long ZigzagFloats = 1 << 18;

    [ThreadStatic]
    private static float[]? packA;

    [ThreadStatic]
    private static float[]? packB;

    /// <summary>The partial products of a K-split product (every part but the first), on the calling thread.</summary>
    [ThreadStatic]
    private static float[]? depthPartials;

    // The row-times-matrix path's list of B's rows with a nonzero factor: offsets and factors.
    [ThreadStatic]
    private static long[]? rowOffsets;

    [ThreadStatic]
    private static float[]? rowFactors;

    // Its per-block partial sums, and the last few B it ran in blocks, each with its last direction in
    // bit 0 (a model's dense layers alternate, each on its own matrix).
    [ThreadStatic]
    private static float[]? rowPartials;

    [ThreadStatic]
    private static nint[]? recentMatrices;

    [ThreadStatic]
    private static int recentNext;

    // Per thread, so a test that forces one kernel does not change what concurrent work runs.
    [ThreadStatic]
    private static CpuIsa? isaOverride;

    /// <summary>The best instruction set this machine supports (LEPTON_CPU_ISA can lower it).</summary>
    public static CpuIsa DetectedIsa { get; } = Detect();

    /// <summary>The instruction set GEMMs started on this thread use; tests set it to check every kernel.</summary>
    public static CpuIsa Isa
    {
        get => isaOverride ?? DetectedIsa;
        set => isaOverride = value > DetectedIsa ? throw new PlatformNotSupportedException($"This CPU does not support {value}.") : value;
    }

    /// <summary>This thread's choice of <see cref="Isa"/>, if any (parallel loops hand it to their helper threads).</summary>
    internal static CpuIsa? IsaOverride
    {
        get => isaOverride;
        set => isaOverride = value;
    }

    /// <summary>How many floats <see cref="PackWholeA"/> writes for an M x K operand on this thread's instruction set.</summary>
    public static long WholeASize(int m, int k) => PanelRows(m, Tile(Isa).Mr) * k;

    /// <summary>
    /// Packs alpha * op(A) [M x K] once, as <see cref="Run"/> packs it for each product (MR-tall panels, every K
    /// block after the other), so that several products with the same A (a convolution's weights, one product per
    /// chunk of images) share one packing: pass it to <see cref="Run"/> as its packedA with the same A, alpha and
    /// instruction set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackWholeA(bool transA, int m, int k, float alpha, float* a, int lda, float* dst)
    {
        int mr = Tile(Isa).Mr;
        long rsA = transA ? 1 : lda, csA = transA ? lda : 1;
        long panelRows = PanelRows(m, mr);
        for (int pc = 0, kc; pc < k; pc += kc)
        {
            kc = BlockDepth(k - pc);
            PackA(a + (pc * csA), rsA, csA, m, kc, mr, alpha, dst);
            dst += panelRows * kc;
        }
    }

    /// <summary>C = alpha * op(A) * op(B) + beta * C with op(A) M x K, op(B) K x N, all row-major.</summary>
    /// <remarks>With <paramref name="packedA"/> (from <see cref="PackWholeA"/> with the same A and alpha), the
    /// packed path reads A's panels from there instead of packing them; the other paths read A itself.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(
        bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool parallel, float* packedA = null)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        bool dot = !transA && transB && (long)m * n <= DotMaxOutputs && k >= DotMinDepth;
        bool packed = !dot && m > SmallM && k > 0 && alpha != 0;

        // The packed path writes C without reading it on its first K block when beta is 0.
        if (!(packed && beta == 0f))
        {
            ScaleC(m, n, beta, c, ldc);
        }

        if (k == 0 || alpha == 0)
        {
            return;
        }

        if (dot)
        {
            // A small C over a long, contiguous inner dimension (a convolution's filter gradient): packing
            // would cost more than the product, and N may be far below the micro-kernel's width.
            DotProducts(m, n, k, alpha, a, lda, b, ldb, c, ldc, parallel);
            return;
        }

        if (m <= SmallM)
        {
            // A few rows (batch-1 inference): stream B once instead of packing it.
            SmallRows(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc, parallel);
            return;
        }

        var isa = Isa;
        (int mr, int nr) = Tile(isa);
        long panelRows = PanelRows(m, mr);
        int mc = mr * (isa == CpuIsa.Avx512 ? 12 : 16);
        long rsA = transA ? 1 : lda, csA = transA ? lda : 1;
        long rsB = transB ? 1 : ldb, csB = transB ? ldb : 1;

        int parts = parallel && !CpuParallel.InSharedLoop ? CpuParallel.Threads : 1;
        int rowPanels = (int)(panelRows / mr), columnPanels = (n + nr - 1) / nr, depthBlocks = 0;
        for (int pc = 0; pc < k; pc += BlockDepth(k - pc))
        {
            depthBlocks++;
        }

        // A deep product with a small C (a Dense layer's forward and weight gradient at batch 64) splits K: each
        // thread packs its own K blocks of A and B once, and the partial products are summed after.
        var split = (long)k >= 4L * Math.Max(m, n) && depthBlocks >= 2 * parts ? SplitKind.Depth
            : m < n ? SplitKind.Columns
            : SplitKind.Rows;
        int units = split switch { SplitKind.Depth => depthBlocks, SplitKind.Columns => columnPanels, _ => rowPanels };
        if (parts > 1 && (split == SplitKind.Depth || (m + mc - 1) / mc <= parts) && units >= 2 * parts && (long)m * n * Math.Min(k, Kc) >= RowSplitWork)
        {
            // At most one row block per thread: each thread takes its own part of the product, packs the blocks it needs
            // and runs every K block without waiting for the others. Split by columns where A is the smaller operand
            // (each thread packs all of A and its own panels of B), by rows otherwise (each packs all of B). A barrier per
            // K block, and packing all of A or B on each thread, cost more than they saved for the Dense layers of a batch
            // of 64 (64 x 128 x 5408 on two threads: 828 us, against 588-664 us on one thread).
            float* partials = split == SplitKind.Depth ? Rent(ref depthPartials, (parts - 1) * m * n) : null;
            var tasks = new SplitTasks
            {
                Isa = isa,
                Mr = mr,
                Nr = nr,
                Mc = mc,
                M = m,
                N = n,
                K = k,
                Parts = parts,
                Split = split,
                Units = units,
                Alpha = alpha,
                Beta = beta,
                A = a,
                RsA = rsA,
                CsA = csA,
                PackedA = packedA,
                PanelRows = panelRows,
                B = b,
                RsB = rsB,
                CsB = csB,
                C = c,
                Ldc = ldc,
                Partials = partials,
            };
            CpuParallel.ForChunks(parts, parts, tasks, static (in SplitTasks t, int part, int _, int _) => t.Run(part));
            if (partials != null)
            {
                AddPartials(m, n, parts - 1, partials, c, ldc);
            }

            return;
        }

        for (int jc = 0; jc < n; jc += Nc)
        {
            int nc = Math.Min(Nc, n - jc);
            int panels = (nc + nr - 1) / nr;
            for (int pc = 0, kc; pc < k; pc += kc)
            {
                kc = BlockDepth(k - pc);
                long work = (long)m * nc * kc;
                int threads = parallel && !CpuParallel.InSharedLoop ? CpuParallel.Threads : 1;
                int blockRows = mc, rowBlocks = (m + mc - 1) / mc, panelSplits = 1;
                bool splitRows = threads > 1 && rowBlocks <= threads && panelRows >= 2L * threads * mr && work >= RowSplitWork;
                if (splitRows)
                {
                    // At most one row block per thread: whole row panels split evenly instead, and each thread packs its
                    // own copy of B, where reading the panels another core has just written took longer than packing
                    // them (169 x 64 x 288 on two threads: 49 -> 44 us; 128^3: 29 -> 18 us; shared B: 59-75 us).
                    blockRows = (int)(((panelRows / mr) + threads - 1) / threads) * mr;
                    rowBlocks = (m + blockRows - 1) / blockRows;
                }
                else if (threads > 1 && work >= 1 << 22)
                {
                    panelSplits = Math.Max(1, Math.Min(panels, ((2 * threads) + rowBlocks - 1) / rowBlocks));
                }
                else
                {
                    threads = 1;
                }

                float* bPacked = splitRows ? null : PackedB(b, pc, jc, rsB, csB, kc, nc, nr, panels);
                int tasks = threads == 1 ? 1 : rowBlocks * panelSplits;
                bool accumulate = pc > 0 || beta != 0f;
                float* aBlock = packedA == null ? null : packedA + (panelRows * pc);
                if (tasks == 1)
                {
                    MacroKernel(isa, mr, nr, mc, 0, m, 0, panels, nc, kc, alpha, a, rsA, csA, pc, aBlock, bPacked, c, ldc, jc, accumulate);
                }
                else
                {
                    var blockTasks = new BlockTasks
                    {
                        Isa = isa,
                        Mr = mr,
                        Nr = nr,
                        M = m,
                        BlockRows = blockRows,
                        Panels = panels,
                        PanelSplits = panelSplits,
                        Nc = nc,
                        Kc = kc,
                        Pc = pc,
                        Jc = jc,
                        Alpha = alpha,
                        A = a,
                        RsA = rsA,
                        CsA = csA,
                        ABlock = aBlock,
                        B = b,
                        RsB = rsB,
                        CsB = csB,
                        BPacked = bPacked,
                        C = c,
                        Ldc = ldc,
                        Accumulate = accumulate,
                    };
                    CpuParallel.ForChunks(tasks, tasks, blockTasks, static (in BlockTasks t, int task, int _, int _) => t.Run(task));
                }
            }
        }
    }

    /// <summary>
    /// One K block of the packed product split into tasks, each a block of rows times a range of B's panels; with
    /// no shared <see cref="BPacked"/>, each task packs its own copy of B.
    /// </summary>
    private struct BlockTasks
    {
        public CpuIsa Isa;
        public int Mr, Nr, M, BlockRows, Panels, PanelSplits, Nc, Kc, Pc, Jc, Ldc;
        public float Alpha;
        public float* A, ABlock, B, BPacked, C;
        public long RsA, CsA, RsB, CsB;
        public bool Accumulate;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int task)
        {
            int rb = task / PanelSplits, ps = task % PanelSplits;
            int p0 = Panels * ps / PanelSplits, p1 = Panels * (ps + 1) / PanelSplits;
            int i0 = rb * BlockRows;
            float* bTask = BPacked == null ? PackedB(B, Pc, Jc, RsB, CsB, Kc, Nc, Nr, Panels) : BPacked;
            MacroKernel(Isa, Mr, Nr, BlockRows, i0, Math.Min(M, i0 + BlockRows), p0, p1, Nc, Kc, Alpha, A, RsA, CsA, Pc, ABlock, bTask, C, Ldc, Jc, Accumulate);
        }
    }

    /// <summary>How <see cref="SplitTasks"/> divides a product among threads.</summary>
    private enum SplitKind
    {
        /// <summary>Row panels of C.</summary>
        Rows,

        /// <summary>Column panels of C.</summary>
        Columns,

        /// <summary>K blocks; every part but the first writes its own partial C.</summary>
        Depth,
    }

    /// <summary>The whole product split into independent parts (rows, columns or K blocks): each part packs what it
    /// needs and runs its blocks of K on its own.</summary>
    private struct SplitTasks
    {
        public CpuIsa Isa;
        public int Mr, Nr, Mc, M, N, K, Parts, Units, Ldc;
        public SplitKind Split;
        public float Alpha, Beta;
        public float* A, PackedA, B, C, Partials;
        public long RsA, CsA, RsB, CsB, PanelRows;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int part)
        {
            int u0 = Units * part / Parts, u1 = Units * (part + 1) / Parts;
            int i0 = 0, i1 = M, j0 = 0, j1 = N, block0 = 0, block1 = int.MaxValue;
            float* c = C;
            int ldc = Ldc;
            bool overwrite = Beta == 0f;
            switch (Split)
            {
                case SplitKind.Columns:
                    (j0, j1) = (u0 * Nr, Math.Min(N, u1 * Nr));
                    break;
                case SplitKind.Rows:
                    (i0, i1) = (u0 * Mr, Math.Min(M, u1 * Mr));
                    break;
                default:
                    (block0, block1) = (u0, u1);
                    if (part > 0)
                    {
                        c = Partials + ((long)(part - 1) * M * N);
                        ldc = N;
                        overwrite = true;
                    }

                    break;
            }

            for (int jc = j0; jc < j1; jc += CpuGemm.Nc)
            {
                int nc = Math.Min(CpuGemm.Nc, j1 - jc);
                int panels = (nc + Nr - 1) / Nr;
                bool first = true;
                for (int pc = 0, kc, block = 0; pc < K && block < block1; pc += kc, block++)
                {
                    kc = BlockDepth(K - pc);
                    if (block < block0)
                    {
                        continue;
                    }

                    float* bPacked = PackedB(B, pc, jc, RsB, CsB, kc, nc, Nr, panels);
                    float* aBlock = PackedA == null ? null : PackedA + (PanelRows * pc);
                    // A partial C starts at its first block; the output skips its old values where beta is 0.
                    MacroKernel(Isa, Mr, Nr, Mc, i0, i1, 0, panels, nc, kc, Alpha, A, RsA, CsA, pc, aBlock, bPacked, c, ldc, jc, !(first && overwrite));
                    first = false;
                }
            }
        }
    }

    /// <summary>C[i, j] += the sum over <paramref name="count"/> partial m x n products stored one after another.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddPartials(int m, int n, int count, float* partials, float* c, int ldc)
    {
        for (int p = 0; p < count; p++)
        {
            float* partial = partials + ((long)p * m * n);
            for (int i = 0; i < m; i++)
            {
                float* from = partial + ((long)i * n), to = c + ((long)i * ldc);
                int j = 0;
                for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
                {
                    (Vector256.Load(to + j) + Vector256.Load(from + j)).Store(to + j);
                }

                for (; j < n; j++)
                {
                    to[j] += from[j];
                }
            }
        }
    }

    /// <summary>The block of B at depth pc and column jc, packed into this thread's panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* PackedB(float* b, int pc, int jc, long rsB, long csB, int kc, int nc, int nr, int panels)
    {
        float* packed = Rent(ref packB, panels * nr * kc);
        PackB(b + (pc * rsB) + (jc * csB), rsB, csB, kc, nc, nr, packed);
        return packed;
    }

    /// <summary>C[i, :] += alpha * op(A)[i, :] * op(B) for a handful of rows, split over columns of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SmallRows(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float* c, int ldc, bool parallel)
    {
        long rsA = transA ? 1 : lda, csA = transA ? lda : 1;
        bool vectorRows = Isa != CpuIsa.Scalar;
        if (parallel && vectorRows && !transB && CpuParallel.Threads > 1 && (long)k * n >= ZigzagFloats)
        {
            // A B of 1 MB or more: one contiguous range of its rows per thread, which stays in that core's L2
            // from one call to the next, where a split over columns makes every core stream all of B's rows.
            for (int i = 0; i < m; i++)
            {
                RowTimesMatrixSplit(k, alpha, a + (i * rsA), csA, b, ldb, c + ((long)i * ldc), n);
            }

            return;
        }

        var rowsOfC = new SmallRowsOfC
        {
            TransB = transB,
            VectorRows = vectorRows,
            M = m,
            K = k,
            Alpha = alpha,
            A = a,
            RsA = rsA,
            CsA = csA,
            B = b,
            Ldb = ldb,
            C = c,
            Ldc = ldc,
        };
        if (parallel && (long)m * n * k >= 1 << 18)
        {
            // One part of the columns per thread: each part gathers A's nonzero factors again, and its 128- and
            // 64-wide strips run the register-blocked kernels (a batch-1 Dense of 128 units in 16-column parts ran
            // 2.5x slower on two threads).
            CpuParallel.ForChunks(n, CpuParallel.OneChunkPerThread(n, (long)m * k), rowsOfC, static (in SmallRowsOfC r, int _, int j0, int j1) => r.Columns(j0, j1));
        }
        else
        {
            rowsOfC.Columns(0, n);
        }
    }

    /// <summary>The rows of C a few-row product writes, one range of columns at a time (<see cref="SmallRows"/>).</summary>
    private struct SmallRowsOfC
    {
        public bool TransB, VectorRows;
        public int M, K, Ldb, Ldc;
        public float Alpha;
        public float* A, B, C;
        public long RsA, CsA;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Columns(int j0, int j1)
        {
            for (int i = 0; i < M; i++)
            {
                float* ci = C + ((long)i * Ldc);
                if (!TransB && VectorRows)
                {
                    RowTimesMatrix(K, Alpha, A + (i * RsA), CsA, B, Ldb, ci, j0, j1);
                }
                else if (!TransB)
                {
                    // B is [k, n] row-major: axpy each row of B into C's row.
                    for (int p = 0; p < K; p++)
                    {
                        float s = Alpha * A[(i * RsA) + (p * CsA)];
                        if (s == 0f)
                        {
                            continue;
                        }

                        float* bp = B + ((long)p * Ldb);
                        var sv = new Vector<float>(s);
                        int w = Vector<float>.Count;
                        int j = j0;
                        for (; j <= j1 - w; j += w)
                        {
                            (Vector.Load(ci + j) + (sv * Vector.Load(bp + j))).Store(ci + j);
                        }

                        for (; j < j1; j++)
                        {
                            ci[j] += s * bp[j];
                        }
                    }
                }
                else
                {
                    // B is stored [n, k]: one dot product per column of C.
                    for (int j = j0; j < j1; j++)
                    {
                        float* bj = B + ((long)j * Ldb);
                        float dot = 0f;
                        if (CsA == 1)
                        {
                            dot = Dot(A + (i * RsA), bj, K);
                        }
                        else
                        {
                            for (int p = 0; p < K; p++)
                            {
                                dot += A[(i * RsA) + (p * CsA)] * bj[p];
                            }
                        }

                        ci[j] += Alpha * dot;
                    }
                }
            }
        }
    }

    /// <summary>
    /// c[j0..j1) += alpha * a * B[:, j0..j1) for one row a (element step csA) and row-major B: the rows of B
    /// whose factor is zero (a ReLU output's inactive half) are skipped, and 64 columns of c (128 with
    /// AVX-512) stay in eight registers over a block of rows instead of being loaded and stored once per row
    /// of B. Each block's partial sums are added to c in block order, so the result does not depend on the
    /// order the blocks ran in, and that order alternates from one call to the next: a B larger than L2 then
    /// starts where the previous call ended, on the part that is still in L2, instead of on the part that
    /// was evicted first (batch-1 inference through a 2.8 MB dense layer: half the time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTimesMatrix(int k, float alpha, float* a, long csA, float* b, int ldb, float* c, int j0, int j1)
    {
        long* rows = Rent(ref rowOffsets, k);
        float* factors = Rent(ref rowFactors, k);
        int live = GatherRows(k, a, csA, 0, ldb, rows, factors);

        // Strips of 128 columns (AVX-512), then of 64, each over every block of rows.
        int wide = Isa == CpuIsa.Avx512 ? (j1 - j0) / 128 : 0;
        int strips = wide + ((j1 - j0 - (wide * 128)) / 64);
        int blockRows = (long)live * (j1 - j0) >= ZigzagFloats ? RowBlock : Math.Max(live, 1);
        int blocks = (live + blockRows - 1) / blockRows;
        bool reverse = blocks > 1 && Reversed(b);
        float* partials = Rent(ref rowPartials, Math.Max(blocks, 1) * 128);
        for (int t = 0; t < strips; t++)
        {
            int s = reverse ? strips - 1 - t : t;
            int width = s < wide ? 128 : 64;
            float* bj = b + j0 + (s < wide ? s * 128 : (wide * 128) + ((s - wide) * 64));
            for (int u = 0; u < blocks; u++)
            {
                int block = reverse ? blocks - 1 - u : u;
                int q0 = block * blockRows, q1 = Math.Min(live, q0 + blockRows);
                if (width == 128)
                {
                    RowBlock128(bj, rows, factors, q0, q1, partials + (block * 128));
                }
                else
                {
                    RowBlock64(bj, rows, factors, q0, q1, partials + (block * 64));
                }
            }

            AddPartials(alpha, partials, blocks, width, c + (bj - b));
        }

        int j = j0 + (wide * 128) + ((strips - wide) * 64);
        for (; j <= j1 - 8; j += 8)
        {
            float* bj = b + j;
            Vector256<float> s0 = default, s1 = default;
            int q = 0;
            for (; q <= live - 2; q += 2)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Create(factors[q]), Vector256.Load(bj + rows[q]), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Create(factors[q + 1]), Vector256.Load(bj + rows[q + 1]), s1);
            }

            if (q < live)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Create(factors[q]), Vector256.Load(bj + rows[q]), s0);
            }

            Vector256.FusedMultiplyAdd(Vector256.Create(alpha), s0 + s1, Vector256.Load(c + j)).Store(c + j);
        }

        for (; j < j1; j++)
        {
            float sum = 0f;
            for (int q = 0; q < live; q++)
            {
                sum += factors[q] * b[rows[q] + j];
            }

            c[j] += alpha * sum;
        }
    }

    /// <summary>
    /// The offsets in B of rows p0, p0 + 1, ... (k of them) whose factor in a (element step csA, starting at
    /// row p0's) is nonzero, and those factors, gathered without branches; returns how many.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int GatherRows(int k, float* a, long csA, int p0, int ldb, long* rows, float* factors)
    {
        int live = 0;
        for (int p = 0; p < k; p++)
        {
            float v = a[p * csA];
            rows[live] = (long)(p0 + p) * ldb;
            factors[live] = v;
            live += v != 0f ? 1 : 0;
        }

        return live;
    }

    /// <summary>
    /// c[0..n) += alpha * a * B for one row a and row-major B, with B's rows split into one contiguous range per
    /// thread: each range's nonzero factors run in blocks of <see cref="RowBlock"/> rows into partial sums, which
    /// are added to c in range and block order, so the result depends on the thread count only, not on which
    /// thread ran which range.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTimesMatrixSplit(int k, float alpha, float* a, long csA, float* b, int ldb, float* c, int n)
    {
        var isa = Isa;
        int parts = CpuParallel.OneChunkPerThread(k, n);
        int partBlocks = (((k + parts - 1) / parts) + RowBlock - 1) / RowBlock;
        // Eight floats past the last block: the sums below load whole vectors at a last group narrower than 8.
        float* partials = Rent(ref rowPartials, (Math.Max(parts * partBlocks, 1) * n) + 8);
        int* blockCounts = stackalloc int[parts];
        var rangeParts = new RowRangeParts
        {
            Isa = isa,
            A = a,
            CsA = csA,
            B = b,
            Ldb = ldb,
            N = n,
            PartBlocks = partBlocks,
            Partials = partials,
            BlockCounts = blockCounts,
        };
        CpuParallel.ForChunks(k, parts, rangeParts, static (in RowRangeParts r, int part, int p0, int p1) => r.Run(part, p0, p1));

        for (int j = 0; j < n; j += 8)
        {
            int width = Math.Min(8, n - j);
            Vector256<float> sum = default;
            for (int part = 0; part < parts; part++)
            {
                float* partPartials = partials + ((long)part * partBlocks * n) + j;
                for (int block = 0; block < blockCounts[part]; block++)
                {
                    sum += Vector256.Load(partPartials + ((long)block * n));
                }
            }

            if (width == 8)
            {
                Vector256.FusedMultiplyAdd(Vector256.Create(alpha), sum, Vector256.Load(c + j)).Store(c + j);
            }
            else
            {
                for (int t = 0; t < width; t++)
                {
                    c[j + t] += alpha * sum.GetElement(t);
                }
            }
        }
    }

    /// <summary>The partial sums of one range of B's rows per part (<see cref="RowTimesMatrixSplit"/>).</summary>
    private struct RowRangeParts
    {
        public CpuIsa Isa;
        public float* A, B, Partials;
        public long CsA;
        public int Ldb, N, PartBlocks;
        public int* BlockCounts;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int part, int p0, int p1)
        {
            long* rows = Rent(ref rowOffsets, p1 - p0);
            float* factors = Rent(ref rowFactors, p1 - p0);
            int live = GatherRows(p1 - p0, A + (p0 * CsA), CsA, p0, Ldb, rows, factors);
            int blocks = (live + RowBlock - 1) / RowBlock;
            BlockCounts[part] = blocks;
            float* partPartials = Partials + ((long)part * PartBlocks * N);
            bool reverse = blocks > 1 && Reversed(B + ((long)p0 * Ldb));
            for (int u = 0; u < blocks; u++)
            {
                int block = reverse ? blocks - 1 - u : u;
                int q0 = block * RowBlock, q1 = Math.Min(live, q0 + RowBlock);
                BlockPartial(Isa, B, rows, factors, q0, q1, N, partPartials + ((long)block * N));
            }
        }
    }

    /// <summary>partial[0..n) = sum over q in [q0, q1) of factors[q] * B's row at rows[q], in strips of 128
    /// columns (with <paramref name="isa"/> AVX-512), then of 64, then of 8, then one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockPartial(CpuIsa isa, float* b, long* rows, float* factors, int q0, int q1, int n, float* partial)
    {
        int j = 0;
        if (isa == CpuIsa.Avx512)
        {
            for (; j <= n - 128; j += 128)
            {
                RowBlock128(b + j, rows, factors, q0, q1, partial + j);
            }
        }

        for (; j <= n - 64; j += 64)
        {
            RowBlock64(b + j, rows, factors, q0, q1, partial + j);
        }

        for (; j <= n - 8; j += 8)
        {
            Vector256<float> s = default;
            for (int q = q0; q < q1; q++)
            {
                s = Vector256.FusedMultiplyAdd(Vector256.Create(factors[q]), Vector256.Load(b + rows[q] + j), s);
            }

            s.Store(partial + j);
        }

        for (; j < n; j++)
        {
            float s = 0f;
            for (int q = q0; q < q1; q++)
            {
                s += factors[q] * b[rows[q] + j];
            }

            partial[j] = s;
        }
    }

    /// <summary>Whether this call on <paramref name="b"/> runs its blocks in reverse: the opposite of the last
    /// call on the same matrix among the last eight this thread ran in blocks, else forwards.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Reversed(float* b)
    {
        var recent = recentMatrices ??= new nint[8];
        for (int i = 0; i < recent.Length; i++)
        {
            if ((recent[i] & ~(nint)1) == (nint)b)
            {
                recent[i] ^= 1;
                return (recent[i] & 1) != 0;
            }
        }

        recent[recentNext] = (nint)b;
        recentNext = (recentNext + 1) % recent.Length;
        return false;
    }

    /// <summary>partial[0..128) = sum over q in [q0, q1) of factors[q] * bj[rows[q] ..][0..128).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RowBlock128(float* bj, long* rows, float* factors, int q0, int q1, float* partial)
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        Vector512<float> s4 = default, s5 = default, s6 = default, s7 = default;
        for (int q = q0; q < q1; q++)
        {
            float* row = bj + rows[q];
            var f = Vector512.Create(factors[q]);
            s0 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row), s0);
            s1 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 16), s1);
            s2 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 32), s2);
            s3 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 48), s3);
            s4 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 64), s4);
            s5 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 80), s5);
            s6 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 96), s6);
            s7 = Vector512.FusedMultiplyAdd(f, Vector512.Load(row + 112), s7);
        }

        s0.Store(partial);
        s1.Store(partial + 16);
        s2.Store(partial + 32);
        s3.Store(partial + 48);
        s4.Store(partial + 64);
        s5.Store(partial + 80);
        s6.Store(partial + 96);
        s7.Store(partial + 112);
    }

    /// <summary>partial[0..64) = sum over q in [q0, q1) of factors[q] * bj[rows[q] ..][0..64).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void RowBlock64(float* bj, long* rows, float* factors, int q0, int q1, float* partial)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        Vector256<float> s4 = default, s5 = default, s6 = default, s7 = default;
        for (int q = q0; q < q1; q++)
        {
            float* row = bj + rows[q];
            var f = Vector256.Create(factors[q]);
            s0 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row), s0);
            s1 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 8), s1);
            s2 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 16), s2);
            s3 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 24), s3);
            s4 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 32), s4);
            s5 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 40), s5);
            s6 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 48), s6);
            s7 = Vector256.FusedMultiplyAdd(f, Vector256.Load(row + 56), s7);
        }

        s0.Store(partial);
        s1.Store(partial + 8);
        s2.Store(partial + 16);
        s3.Store(partial + 24);
        s4.Store(partial + 32);
        s5.Store(partial + 40);
        s6.Store(partial + 48);
        s7.Store(partial + 56);
    }

    /// <summary>c[0..width) += alpha * (partials of blocks 0, 1, ... summed in that order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddPartials(float alpha, float* partials, int blocks, int width, float* c)
    {
        if (blocks == 0)
        {
            return;
        }

        var scale = Vector256.Create(alpha);
        for (int j = 0; j < width; j += 8)
        {
            var sum = Vector256.Load(partials + j);
            for (int block = 1; block < blocks; block++)
            {
                sum += Vector256.Load(partials + (block * width) + j);
            }

            Vector256.FusedMultiplyAdd(scale, sum, Vector256.Load(c + j)).Store(c + j);
        }
    }

    /// <summary>C[i, j] += alpha * dot(A[i, :], B[j, :]) with both rows contiguous, four rows of A by two of B at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotProducts(int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float* c, int ldc, bool parallel)
    {
        var rows = new DotRows { N = n, K = k, Alpha = alpha, A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc };
        if (parallel && (long)m * n * k >= 1 << 20 && m >= 8)
        {
            CpuParallel.For((m + 3) / 4, (long)4 * n * k, (rows, m), static (in (DotRows Rows, int M) s, int q0, int q1) => s.Rows.Run(q0 * 4, Math.Min(s.M, q1 * 4)));
        }
        else
        {
            rows.Run(0, m);
        }
    }

    /// <summary>Rows [i0, i1) of C in <see cref="DotProducts"/>.</summary>
    private struct DotRows
    {
        public int N, K, Lda, Ldb, Ldc;
        public float Alpha;
        public float* A, B, C;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int i0, int i1)
        {
            int n = N, k = K, lda = Lda, ldb = Ldb, ldc = Ldc;
            float alpha = Alpha;
            float* a = A, b = B, c = C;
            int i = i0;
            for (; i <= i1 - 4; i += 4)
            {
                int j = 0;
                for (; j <= n - 2; j += 2)
                {
                    DotBlock4x2(k, alpha, a + ((long)i * lda), lda, b + ((long)j * ldb), ldb, c + ((long)i * ldc) + j, ldc);
                }

                for (; j < n; j++)
                {
                    for (int r = 0; r < 4; r++)
                    {
                        c[((long)(i + r) * ldc) + j] += alpha * Dot(a + ((long)(i + r) * lda), b + ((long)j * ldb), k);
                    }
                }
            }

            for (; i < i1; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    c[((long)i * ldc) + j] += alpha * Dot(a + ((long)i * lda), b + ((long)j * ldb), k);
                }
            }
        }
    }

    /// <summary>Eight dot products (rows i..i+3 of A with rows j, j+1 of B) in eight vector accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlock4x2(int k, float alpha, float* a, int lda, float* b, int ldb, float* c, int ldc)
    {
        int w = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        float* a1 = a + lda, a2 = a + (2L * lda), a3 = a + (3L * lda), b1 = b + ldb;
        int p = 0;
        for (; p <= k - w; p += w)
        {
            var x0 = Vector.Load(b + p);
            var x1 = Vector.Load(b1 + p);
            var y = Vector.Load(a + p);
            c00 += y * x0;
            c01 += y * x1;
            y = Vector.Load(a1 + p);
            c10 += y * x0;
            c11 += y * x1;
            y = Vector.Load(a2 + p);
            c20 += y * x0;
            c21 += y * x1;
            y = Vector.Load(a3 + p);
            c30 += y * x0;
            c31 += y * x1;
        }

        float s00 = Vector.Sum(c00), s01 = Vector.Sum(c01), s10 = Vector.Sum(c10), s11 = Vector.Sum(c11);
        float s20 = Vector.Sum(c20), s21 = Vector.Sum(c21), s30 = Vector.Sum(c30), s31 = Vector.Sum(c31);
        for (; p < k; p++)
        {
            float x0 = b[p], x1 = b1[p];
            s00 += a[p] * x0;
            s01 += a[p] * x1;
            s10 += a1[p] * x0;
            s11 += a1[p] * x1;
            s20 += a2[p] * x0;
            s21 += a2[p] * x1;
            s30 += a3[p] * x0;
            s31 += a3[p] * x1;
        }

        c[0] += alpha * s00;
        c[1] += alpha * s01;
        c[ldc] += alpha * s10;
        c[ldc + 1] += alpha * s11;
        c[2L * ldc] += alpha * s20;
        c[(2L * ldc) + 1] += alpha * s21;
        c[3L * ldc] += alpha * s30;
        c[(3L * ldc) + 1] += alpha * s31;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(float* x, float* y, int length)
    {
        int w = Vector<float>.Count;
        var acc0 = Vector<float>.Zero;
        var acc1 = Vector<float>.Zero;
        int i = 0;
        for (; i <= length - (2 * w); i += 2 * w)
        {
            acc0 += Vector.Load(x + i) * Vector.Load(y + i);
            acc1 += Vector.Load(x + i + w) * Vector.Load(y + i + w);
        }

        float sum = Vector.Sum(acc0 + acc1);
        for (; i < length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>Updates C rows [i0, i1) x panels [p0, p1) of the current B block (A's panels of this K block from
    /// <paramref name="aBlock"/> when it is given, else packed here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroKernel(
        CpuIsa isa, int mr, int nr, int mc, int i0, int i1, int p0, int p1, int nc, int kc, float alpha,
        float* a, long rsA, long csA, int pc, float* aBlock, float* bPacked, float* c, int ldc, int jc, bool accumulate)
    {
        float* ap = aBlock == null ? Rent(ref packA, (mc + mr) * kc) : null;
        float* tile = stackalloc float[12 * 32];
        for (int ic = i0; ic < i1; ic += mc)
        {
            int mcCur = Math.Min(mc, i1 - ic);
            if (aBlock == null)
            {
                PackA(a + (ic * rsA) + (pc * csA), rsA, csA, mcCur, kc, mr, alpha, ap);
            }
            else
            {
                // Row blocks start at multiples of mc, itself a multiple of mr: the block's panels are consecutive.
                ap = aBlock + ((long)ic * kc);
            }

            for (int p = p0; p < p1; p++)
            {
                int j = p * nr;
                int nrCur = Math.Min(nr, nc - j);
                float* bPanel = bPacked + ((long)p * nr * kc);
                for (int i = 0; i < mcCur; i += mr)
                {
                    int mrCur = Math.Min(mr, mcCur - i);
                    float* aPanel = ap + ((long)(i / mr) * mr * kc);
                    float* cTile = c + ((long)(ic + i) * ldc) + jc + j;
                    if (mrCur == mr && nrCur == nr)
                    {
                        Kernel(isa, kc, aPanel, bPanel, cTile, ldc, accumulate);
                        continue;
                    }

                    if (isa == CpuIsa.Avx512 && nrCur == nr && mrCur % 4 == 0)
                    {
                        // A last row panel of 4 or 8 rows: only those rows, straight into C.
                        for (int r = 0; r < mrCur; r += 4)
                        {
                            GemmMicroKernels.Avx512Kernel4x32(kc, aPanel + r, bPanel, cTile + ((long)r * ldc), ldc, accumulate);
                        }

                        continue;
                    }

                    // Edge tile: run the full kernel on a scratch tile, then add (or copy) the valid part.
                    Kernel(isa, kc, aPanel, bPanel, tile, nr, accumulate: false);
                    AddTile(tile, nr, cTile, ldc, mrCur, nrCur, accumulate);
                }
            }
        }
    }

    /// <summary>C[rows, cols] (+)= the top-left corner of a scratch tile whose rows are <paramref name="nr"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddTile(float* tile, int nr, float* c, int ldc, int rows, int cols, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
        {
            float* cRow = c + ((long)r * ldc), tileRow = tile + (r * nr);
            int q = 0;
            for (; q <= cols - 8; q += 8)
            {
                var v = Vector256.Load(tileRow + q);
                (accumulate ? Vector256.Load(cRow + q) + v : v).Store(cRow + q);
            }

            for (; q < cols; q++)
            {
                cRow[q] = accumulate ? cRow[q] + tileRow[q] : tileRow[q];
            }
        }
    }

    /// <summary>
    /// The depth of the next K block with <paramref name="remaining"/> rows of K left: <see cref="Kc"/>, or all of them
    /// where the block after would be shallower than Kc / 4 (such a block loads and stores every C tile for few
    /// products). A 3 x 3 convolution with 32 input channels has K = 288, which ran more slowly as 256 + 32.
    /// </summary>
    private static int BlockDepth(int remaining) => remaining < Kc + (Kc / 4) ? remaining : Kc;

    /// <summary>M rounded up to whole MR-tall panels: the rows of one K block of packed A.</summary>
    private static long PanelRows(int m, int mr) => (long)((m + mr - 1) / mr) * mr;

    private static (int Mr, int Nr) Tile(CpuIsa isa) => isa switch
    {
        CpuIsa.Avx512 => (12, 32),
        CpuIsa.Avx2 => (6, 16),
        _ => (GemmMicroKernels.ScalarMr, GemmMicroKernels.ScalarNr),
    };

    private static void Kernel(CpuIsa isa, int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        switch (isa)
        {
            case CpuIsa.Avx512:
                GemmMicroKernels.Avx512Kernel12x32(kc, a, b, c, ldc, accumulate);
                break;
            case CpuIsa.Avx2:
                GemmMicroKernels.Avx2Kernel6x16(kc, a, b, c, ldc, accumulate);
                break;
            default:
                GemmMicroKernels.ScalarKernel4x8(kc, a, b, c, ldc, accumulate);
                break;
        }
    }

    /// <summary>Packs op(A)[mc x kc] into MR-tall panels, k-major inside a panel, scaled by alpha and zero-padded.</summary>
    /// <remarks>Reads along whichever dimension of A is contiguous, so both layouts stream through memory.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(float* a, long rs, long cs, int mc, int kc, int mr, float alpha, float* dst)
    {
        for (int i = 0; i < mc; i += mr, dst += (long)mr * kc)
        {
            int rows = Math.Min(mr, mc - i);
            float* block = a + (i * rs);
            if (rows < mr)
            {
                // A last, partial panel: cleared in one pass (its padding rows were a strided store per k each).
                new Span<float>(dst, mr * kc).Clear();
            }

            if (cs == 1)
            {
                // Row-major A: each row is contiguous in k. Four rows at a time go through 4 x 4 register
                // transposes, whose 4-float stores land inside a panel row (8 x 8 transposes measured slower:
                // with 12-row panels their 8-float stores straddle rows; 129 against 156 GFLOP/s at n = 128).
                int r = 0;
                if (Sse.IsSupported && Isa != CpuIsa.Scalar)
                {
                    for (; r <= rows - 4; r += 4)
                    {
                        PackFourRows(block + (r * rs), rs, kc, mr, alpha, dst + r);
                    }
                }

                for (; r < rows; r++)
                {
                    float* src = block + (r * rs);
                    for (int k = 0; k < kc; k++)
                    {
                        dst[(k * mr) + r] = alpha * src[k];
                    }
                }
            }
            else if (rs == 1 && Isa != CpuIsa.Scalar)
            {
                // Transposed A: the values of one k are contiguous, a panel row copied as it stands (a partial
                // panel's padding, cleared above, left as it is).
                PackContiguousRows(block, cs, kc, mr, rows, alpha, dst);
            }
            else
            {
                for (int k = 0; k < kc; k++)
                {
                    float* src = block + (k * cs);
                    for (int r = 0; r < rows; r++)
                    {
                        dst[(k * mr) + r] = alpha * src[r * rs];
                    }
                }
            }
        }
    }

    /// <summary>dst[k * mr + i] = alpha * a[k * cs + i] for rows i below <paramref name="rows"/> (at most mr): one contiguous run per k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackContiguousRows(float* a, long cs, int kc, int mr, int rows, float alpha, float* dst)
    {
        var scale = Vector256.Create(alpha);
        for (int k = 0; k < kc; k++, a += cs, dst += mr)
        {
            int r = 0;
            for (; r <= rows - 8; r += 8)
            {
                (Vector256.Load(a + r) * scale).Store(dst + r);
            }

            for (; r <= rows - 4; r += 4)
            {
                (Vector128.Load(a + r) * scale.GetLower()).Store(dst + r);
            }

            for (; r < rows; r++)
            {
                dst[r] = alpha * a[r];
            }
        }
    }

    /// <summary>dst[k * mr + i] = alpha * a[i * rs + k] for rows i = 0..3: four k at a time as a 4 x 4 transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackFourRows(float* a, long rs, int kc, int mr, float alpha, float* dst)
    {
        var scale = Vector128.Create(alpha);
        float* a1 = a + rs, a2 = a1 + rs, a3 = a2 + rs;
        int k = 0;
        for (; k <= kc - 4; k += 4)
        {
            var r0 = Vector128.Load(a + k) * scale;
            var r1 = Vector128.Load(a1 + k) * scale;
            var r2 = Vector128.Load(a2 + k) * scale;
            var r3 = Vector128.Load(a3 + k) * scale;
            var low01 = Sse.UnpackLow(r0, r1);
            var low23 = Sse.UnpackLow(r2, r3);
            var high01 = Sse.UnpackHigh(r0, r1);
            var high23 = Sse.UnpackHigh(r2, r3);
            float* to = dst + ((long)k * mr);
            Sse.MoveLowToHigh(low01, low23).Store(to);
            Sse.MoveHighToLow(low23, low01).Store(to + mr);
            Sse.MoveLowToHigh(high01, high23).Store(to + (2 * mr));
            Sse.MoveHighToLow(high23, high01).Store(to + (3 * mr));
        }

        for (; k < kc; k++)
        {
            float* to = dst + ((long)k * mr);
            to[0] = alpha * a[k];
            to[1] = alpha * a1[k];
            to[2] = alpha * a2[k];
            to[3] = alpha * a3[k];
        }
    }

    /// <summary>Packs op(B)[kc x nc] into NR-wide panels, k-major inside a panel, zero-padded.</summary>
    /// <remarks>Reads along whichever dimension of B is contiguous, so both layouts stream through memory.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(float* b, long rs, long cs, int kc, int nc, int nr, float* dst)
    {
        for (int j = 0; j < nc; j += nr, dst += (long)nr * kc)
        {
            int cols = Math.Min(nr, nc - j);
            float* block = b + (j * cs);
            if (cs == 1 && cols == nr && nr % 8 == 0)
            {
                // Whole panels (all but the last): rows of 16 or 32 floats copied in registers, which costs
                // less than a call to a general memory copy per row.
                for (int k = 0; k < kc; k++)
                {
                    float* from = block + (k * rs), to = dst + (k * nr);
                    for (int v = 0; v < nr; v += 8)
                    {
                        Vector256.Load(from + v).Store(to + v);
                    }
                }
            }
            else if (cs == 1)
            {
                for (int k = 0; k < kc; k++)
                {
                    new ReadOnlySpan<float>(block + (k * rs), cols).CopyTo(new Span<float>(dst + (k * nr), cols));
                }
            }
            else
            {
                PackTransposed(block, rs, cs, kc, cols, nr, dst);
            }

            if (cols < nr)
            {
                for (int k = 0; k < kc; k++)
                {
                    new Span<float>(dst + (k * nr) + cols, nr - cols).Clear();
                }
            }
        }
    }

    /// <summary>Packing a transposed B transposes 8 x 8 tiles with AVX unless the scalar kernels were asked for (which must run anywhere).</summary>
    private static bool TransposeInRegisters => Avx.IsSupported && Isa != CpuIsa.Scalar;

    /// <summary>
    /// Packs a transposed block (column q's k values contiguous, columns <paramref name="cs"/> apart) into rows
    /// of <paramref name="nr"/>: 8 x 8 tiles are transposed in AVX registers, so reads stay contiguous and
    /// writes stay in order whatever the stride (a power-of-two stride would thrash L1 read column-wise).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTransposed(float* block, long rs, long cs, int kc, int cols, int nr, float* dst)
    {
        int k0 = 0;
        if (TransposeInRegisters && rs == 1)
        {
            for (; k0 <= kc - 8; k0 += 8)
            {
                int q = 0;
                for (; q <= cols - 8; q += 8)
                {
                    float* src = block + (q * cs) + k0;
                    Transpose8x8(src, cs, dst + (k0 * nr) + q, nr);
                }

                for (; q < cols; q++)
                {
                    float* src = block + (q * cs);
                    for (int k = k0; k < k0 + 8; k++)
                    {
                        dst[(k * nr) + q] = src[k];
                    }
                }
            }
        }

        for (int q = 0; q < cols; q++)
        {
            float* src = block + (q * cs);
            for (int k = k0; k < kc; k++)
            {
                dst[(k * nr) + q] = src[k * rs];
            }
        }
    }

    /// <summary>dst[j * ldd + i] = src[i * lds + j] for an 8 x 8 tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Transpose8x8(float* src, long lds, float* dst, int ldd)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + (2 * lds));
        var r3 = Avx.LoadVector256(src + (3 * lds));
        var r4 = Avx.LoadVector256(src + (4 * lds));
        var r5 = Avx.LoadVector256(src + (5 * lds));
        var r6 = Avx.LoadVector256(src + (6 * lds));
        var r7 = Avx.LoadVector256(src + (7 * lds));
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + (2 * ldd), Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + (3 * ldd), Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + (4 * ldd), Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + (5 * ldd), Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + (6 * ldd), Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + (7 * ldd), Avx.Permute2x128(s3, s7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f)
        {
            return;
        }

        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + ((long)i * ldc), n);
            if (beta == 0f)
            {
                row.Clear();
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    row[j] *= beta;
                }
            }
        }
    }

    private static T* Rent<T>(ref T[]? slot, int length)
        where T : unmanaged
    {
        if (slot is null || slot.Length - (AlignedArrays.Alignment / sizeof(T)) < length)
        {
            slot = AlignedArrays.Allocate<T>(Math.Max(length, 1024));
        }

        return AlignedArrays.Start(slot);
    }

    private static CpuIsa Detect()
    {
        var best = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? CpuIsa.Avx512
            : System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported ? CpuIsa.Avx2
            : CpuIsa.Scalar;
        return Enum.TryParse<CpuIsa>(Environment.GetEnvironmentVariable("LEPTON_CPU_ISA"), ignoreCase: true, out var wanted) && wanted < best
            ? wanted
            : best;
    }
}
