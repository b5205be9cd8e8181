// SGEMM: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], row-major, strided batches. A group of
// t x t threads computes a (4t x 4t) tile of C: both operand tiles are staged in shared memory
// BK columns at a time, and each thread accumulates a 4 x 4 block in registers. The tile follows the
// accelerator's group size (t = 16 on CUDA's 256 threads, t = 4 on ILGPU-CPU's 16).
// Operands are read through loader structs: a dense matrix, or a convolution's column matrix computed
// on the fly from the image (implicit GEMM), so the same kernel also convolves without a workspace.
namespace Lepton.Kernels;

/// <summary>Sizes, leading dimensions, offsets and batch strides of a strided batched GEMM.</summary>
public struct GemmShape
{
    /// <summary>op(A) is M x K, op(B) is K x N, C is M x N with leading dimension Ldc; Trans* non-zero when an
    /// operand is contiguous along K (A) or N (B) rather than the other way, which decides how tiles are loaded.</summary>
    public int M, N, K, Ldc, TransA, TransB, Batch;

    /// <summary>Element offsets of batch 0 and the element stride between batches.</summary>
    public long OffsetA, OffsetB, OffsetC, StrideA, StrideB, StrideC;

    /// <summary>Scale of the product and of the existing C (0 ignores C's contents).</summary>
    public float Alpha, Beta;
}

/// <summary>Reads element (row, col) of a GEMM operand, op(A) [M, K] or op(B) [K, N], of batch <c>batchBase</c>.</summary>
public interface IGemmOperand
{
    /// <summary>The element, 0 for positions the operand treats as padding.</summary>
    float Load(ArrayView<float> data, long batchBase, int row, int col);
}

/// <summary>A dense row-major matrix with leading dimension <see cref="Ld"/>, stored transposed when <see cref="Trans"/> != 0.</summary>
public struct DenseOperand : IGemmOperand
{
    /// <summary>Leading dimension and whether the stored matrix is the transpose.</summary>
    public int Ld, Trans;

    /// <inheritdoc />
    public readonly float Load(ArrayView<float> data, long batchBase, int row, int col) =>
        data[batchBase + (Trans == 0 ? ((long)row * Ld) + col : ((long)col * Ld) + row)];
}

/// <summary>
/// A convolution's column matrix read straight from the image x [N, C, H, W]: entry (crs, j) is the input
/// pixel that filter tap crs = (c, r, s) of channel group offset <see cref="ChannelOffset"/> sees at output
/// position j = n * P * Q + p * Q + q. With <see cref="Transposed"/> != 0 the operand is its transpose.
/// </summary>
public struct ImplicitColumns : IGemmOperand
{
    /// <summary>The convolution.</summary>
    public ConvShape Shape;

    /// <summary>First input channel of the group, and whether rows are output positions instead of taps.</summary>
    public int ChannelOffset, Transposed;

    /// <inheritdoc />
    public readonly float Load(ArrayView<float> data, long batchBase, int row, int col)
    {
        int tap = Transposed == 0 ? row : col, j = Transposed == 0 ? col : row;
        int pq = Shape.P * Shape.Q;
        int n = j / pq, at = j % pq;
        int s = tap % Shape.S, r = tap / Shape.S % Shape.R, c = ChannelOffset + (tap / (Shape.R * Shape.S));
        int h = (at / Shape.Q * Shape.StrideH) - Shape.PadH + (r * Shape.DilationH);
        int w = (at % Shape.Q * Shape.StrideW) - Shape.PadW + (s * Shape.DilationW);
        return h >= 0 && h < Shape.H && w >= 0 && w < Shape.W
            ? data[batchBase + ((((long)n * Shape.C) + c) * Shape.H * Shape.W) + (h * Shape.W) + w]
            : 0f;
    }
}

/// <summary>The output gradient dy [N, K, P*Q] of one filter group read as a matrix [Kg, N*P*Q].</summary>
public struct GradientColumns : IGemmOperand
{
    /// <summary>All filters K, output positions per image P*Q, and the group's first filter.</summary>
    public int K, Positions, FilterOffset;

    /// <inheritdoc />
    public readonly float Load(ArrayView<float> data, long batchBase, int row, int col) =>
        data[batchBase + ((((long)(col / Positions) * K) + FilterOffset + row) * Positions) + (col % Positions)];
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

    /// <summary>
    /// The tiled kernel; launch with threadsPerSide^2 threads per group and <see cref="SharedFloats"/> of shared memory.
    /// <c>g.TransA</c>/<c>g.TransB</c> say which way each operand is contiguous, so tiles load along it.
    /// </summary>
    public static void Tiled<TA, TB>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape g, int threadsPerSide, TA opA, TB opB)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
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
                    tileA[(kk * tileM) + mm] = m < g.M && k < g.K ? opA.Load(a, baseA, m, k) : 0f;
                }

                for (int l = tid; l < TileK * tileN; l += threads)
                {
                    int kk = g.TransB == 0 ? l / tileN : l % TileK;
                    int nn = g.TransB == 0 ? l % tileN : l / TileK;
                    int n = n0 + nn, k = k0 + kk;
                    tileB[(kk * tileN) + nn] = n < g.N && k < g.K ? opB.Load(b, baseB, k, n) : 0f;
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
