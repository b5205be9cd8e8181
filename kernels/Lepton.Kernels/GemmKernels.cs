// SGEMM: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], row-major, strided batches. A group of
// t x t threads computes a (4t x 4t) tile of C: both operand tiles are staged in shared memory
// BK columns at a time, and each thread accumulates a 4 x 4 block in registers. The tile follows the
// accelerator's group size (t = 16 on CUDA's 256 threads, t = 4 on ILGPU-CPU's 16).
namespace Lepton.Kernels;

/// <summary>Sizes, leading dimensions, offsets and batch strides of a strided batched GEMM.</summary>
public struct GemmShape
{
    /// <summary>op(A) is M x K, op(B) is K x N, C is M x N; Trans* non-zero when the operand is stored transposed.</summary>
    public int M, N, K, Lda, Ldb, Ldc, TransA, TransB, Batch;

    /// <summary>Element offsets of batch 0 and the element stride between batches.</summary>
    public long OffsetA, OffsetB, OffsetC, StrideA, StrideB, StrideC;

    /// <summary>Scale of the product and of the existing C (0 ignores C's contents).</summary>
    public float Alpha, Beta;
}

/// <summary>Four accumulators of one row of a thread's 4 x 4 block.</summary>
internal struct Quad
{
    public float X, Y, Z, W;

    public void Fma(float a, float b0, float b1, float b2, float b3)
    {
        X += a * b0;
        Y += a * b1;
        Z += a * b2;
        W += a * b3;
    }

    public readonly float Get(int j) => j == 0 ? X : j == 1 ? Y : j == 2 ? Z : W;
}

/// <summary>Matrix-product kernels.</summary>
public static class GemmKernels
{
    /// <summary>Depth of the shared-memory panels.</summary>
    public const int TileK = 16;

    /// <summary>Rows (and columns) of C each thread computes.</summary>
    public const int Block = 4;

    /// <summary>Floats of dynamic shared memory the tiled kernel needs for <paramref name="threadsPerSide"/>^2 threads.</summary>
    public static int SharedFloats(int threadsPerSide) => 2 * TileK * Block * threadsPerSide;

    /// <summary>The tiled kernel; launch with threadsPerSide^2 threads per group and <see cref="SharedFloats"/> of shared memory.</summary>
    public static void Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape g, int threadsPerSide)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int tileM = Block * threadsPerSide, tileN = tileM;
        var tileA = shared.SubView(0, TileK * tileM);
        var tileB = shared.SubView(TileK * tileM, TileK * tileN);
        int threads = threadsPerSide * threadsPerSide;
        int tid = Group.IdxX;
        int row4 = (tid / threadsPerSide) * Block, col4 = (tid % threadsPerSide) * Block;
        int tilesM = (g.M + tileM - 1) / tileM, tilesN = (g.N + tileN - 1) / tileN;
        long tiles = (long)g.Batch * tilesM * tilesN;
        for (long t = Grid.IdxX; t < tiles; t += Grid.DimX)
        {
            int batch = (int)(t / ((long)tilesM * tilesN));
            int rest = (int)(t % ((long)tilesM * tilesN));
            int m0 = rest / tilesN * tileM, n0 = rest % tilesN * tileN;
            long baseA = g.OffsetA + (batch * g.StrideA);
            long baseB = g.OffsetB + (batch * g.StrideB);
            long baseC = g.OffsetC + (batch * g.StrideC);
            Quad c0 = default, c1 = default, c2 = default, c3 = default;
            for (int k0 = 0; k0 < g.K; k0 += TileK)
            {
                // Stage op(A)[m0.., k0..] as tileA[kk, mm] and op(B)[k0.., n0..] as tileB[kk, nn], reading
                // along each operand's contiguous direction so neighbouring threads load neighbouring floats.
                for (int l = tid; l < TileK * tileM; l += threads)
                {
                    int kk = g.TransA == 0 ? l % TileK : l / tileM;
                    int mm = g.TransA == 0 ? l / TileK : l % tileM;
                    int m = m0 + mm, k = k0 + kk;
                    tileA[(kk * tileM) + mm] = m < g.M && k < g.K
                        ? a[baseA + (g.TransA == 0 ? ((long)m * g.Lda) + k : ((long)k * g.Lda) + m)]
                        : 0f;
                }

                for (int l = tid; l < TileK * tileN; l += threads)
                {
                    int kk = g.TransB == 0 ? l / tileN : l % TileK;
                    int nn = g.TransB == 0 ? l % tileN : l / TileK;
                    int n = n0 + nn, k = k0 + kk;
                    tileB[(kk * tileN) + nn] = n < g.N && k < g.K
                        ? b[baseB + (g.TransB == 0 ? ((long)k * g.Ldb) + n : ((long)n * g.Ldb) + k)]
                        : 0f;
                }

                Group.Barrier();
                for (int kk = 0; kk < TileK; kk++)
                {
                    int ra = (kk * tileM) + row4, rb = (kk * tileN) + col4;
                    float b0 = tileB[rb], b1 = tileB[rb + 1], b2 = tileB[rb + 2], b3 = tileB[rb + 3];
                    c0.Fma(tileA[ra], b0, b1, b2, b3);
                    c1.Fma(tileA[ra + 1], b0, b1, b2, b3);
                    c2.Fma(tileA[ra + 2], b0, b1, b2, b3);
                    c3.Fma(tileA[ra + 3], b0, b1, b2, b3);
                }

                Group.Barrier();
            }

            StoreRow(c, g, baseC, m0 + row4, n0 + col4, c0);
            StoreRow(c, g, baseC, m0 + row4 + 1, n0 + col4, c1);
            StoreRow(c, g, baseC, m0 + row4 + 2, n0 + col4, c2);
            StoreRow(c, g, baseC, m0 + row4 + 3, n0 + col4, c3);
        }
    }

    private static void StoreRow(ArrayView<float> c, GemmShape g, long baseC, int m, int n, Quad acc)
    {
        if (m >= g.M)
        {
            return;
        }

        for (int j = 0; j < Block; j++)
        {
            if (n + j < g.N)
            {
                long at = baseC + ((long)m * g.Ldc) + n + j;
                float value = g.Alpha * acc.Get(j);
                c[at] = g.Beta == 0f ? value : value + (g.Beta * c[at]);
            }
        }
    }
}
