// The int8 fully connected layer as a tiled GEMM with int32 accumulation: y[r, u] = epilogue(sum over d of
// w[u, d] * (x[r, d] - zx)). A group of t x t threads computes a (4t x 4t) tile of y; x and w tiles are staged in
// shared memory sixteen bytes of depth at a time, packed four bytes to an int, and each thread accumulates a 4 x 4
// block with four-byte dot products (dp4a on CUDA). The zero point is taken out once at the end:
// sum w * (x - zx) = sum w * x - zx * sum w, equal in wrapping int32 arithmetic to the term-by-term sum.
namespace Lepton.Kernels;

/// <summary>What happens to each int32 accumulator of an int8 convolution or GEMM.</summary>
public interface IInt8Epilogue
{
    /// <summary>The input's zero point zx.</summary>
    int InputZeroPoint { get; }

    /// <summary>Writes output element <paramref name="index"/> of output channel <paramref name="channel"/> from acc.</summary>
    void Store(long index, int channel, int acc);
}

/// <summary>The requantizing epilogue: y = clamp((int)round((float)(acc + bias[k]) * multiplier[k]) + zy, relu ? zy : 0, 255).</summary>
public struct RequantizingEpilogue : IInt8Epilogue
{
    /// <summary>Int32 bias per channel (read only when <see cref="HasBias"/> != 0) and float32 multipliers per channel.</summary>
    public ArrayView<int> Bias;

    /// <summary>Float32 multiplier per channel: scale(x) * scale(w[k]) / scale(y).</summary>
    public ArrayView<float> Multipliers;

    /// <summary>Uint8 output.</summary>
    public ArrayView<byte> Y;

    /// <summary>Whether there is a bias, the input's and the output's zero points, and the smallest output (zy with ReLU, else 0).</summary>
    public int HasBias, InputZero, OutputZero, Low;

    /// <inheritdoc />
    public readonly int InputZeroPoint => InputZero;

    /// <inheritdoc />
    public readonly void Store(long index, int channel, int acc)
    {
        int v = HasBias != 0 ? acc + Bias[channel] : acc;
        float product = StrictFloat.ClampRequantized((float)v * Multipliers[channel]);
        Y[index] = (byte)StrictFloat.Clamp((int)StrictFloat.Round(product) + OutputZero, Low, 255);
    }
}

/// <summary>The float32 epilogue of the dynamically quantized layer: y = (float)acc * (s * weightScales[u]) + bias[u],
/// with s and z read from the device (range[0], range[1]).</summary>
public struct DequantizingEpilogue : IInt8Epilogue
{
    /// <summary>s and z of the input, written by <see cref="QuantizedKernels.DynamicRange"/>.</summary>
    public ArrayView<float> Range;

    /// <summary>Scale of each weight row, and the bias (read only when <see cref="HasBias"/> != 0).</summary>
    public ArrayView<float> WeightScales, Bias;

    /// <summary>Float32 output.</summary>
    public ArrayView<float> Y;

    /// <summary>Whether there is a bias.</summary>
    public int HasBias;

    /// <inheritdoc />
    public readonly int InputZeroPoint => (int)Range[1];

    /// <inheritdoc />
    public readonly void Store(long index, int channel, int acc)
    {
        float product = StrictFloat.Mul(acc, StrictFloat.Mul(Range[0], WeightScales[channel]));
        Y[index] = HasBias != 0 ? StrictFloat.Add(product, Bias[channel]) : product;
    }
}

/// <summary>A row-major [Rows, Depth] byte matrix read four bytes of depth at a time, packed little-endian into an int.</summary>
public struct PackedRows
{
    /// <summary>The matrix as bytes, and the same memory as ints (read when <see cref="Aligned"/> != 0).</summary>
    public ArrayView<byte> Bytes;

    /// <summary>The matrix as ints: row starts fall on whole ints when Depth is a multiple of four.</summary>
    public ArrayView<int> Words;

    /// <summary>Rows, bytes per row, and whether Depth % 4 == 0 (then a packed word is one aligned load).</summary>
    public int Rows, Depth, Aligned;

    /// <summary>Bytes d .. d + 3 (d a multiple of 4) of <paramref name="row"/>, 0 past either end.</summary>
    public readonly int Load(int row, int d)
    {
        if (row >= Rows || d >= Depth)
        {
            return 0;
        }

        long at = ((long)row * Depth) + d;
        if (Aligned != 0)
        {
            return Words[at >> 2];
        }

        int packed = Bytes[at];
        for (int i = 1; i < 4; i++)
        {
            if (d + i < Depth)
            {
                packed |= Bytes[at + i] << (8 * i);
            }
        }

        return packed;
    }
}

/// <summary>Four int32 accumulators of one row of a thread's 4 x 4 block.</summary>
internal struct IntQuad
{
    public int X, Y, Z, W;

    public void Dot<TDot>(TDot dot, int a, int b0, int b1, int b2, int b3)
        where TDot : struct, IDot4
    {
        X = dot.Dot(b0, a, X);
        Y = dot.Dot(b1, a, Y);
        Z = dot.Dot(b2, a, Z);
        W = dot.Dot(b3, a, W);
    }

    public readonly int Get(int j) => j == 0 ? X : j == 1 ? Y : j == 2 ? Z : W;
}

/// <summary>Int8 matrix-product kernels.</summary>
public static class QuantizedGemmKernels
{
    /// <summary>Packed words (four bytes of depth each) per shared-memory stage.</summary>
    public const int TileWords = 4;

    /// <summary>Rows (and columns) of y each thread computes.</summary>
    public const int Block = 4;

    /// <summary>Ints of dynamic shared memory the dense kernel needs for <paramref name="threadsPerSide"/>^2 threads.</summary>
    /// <param name="threadsPerSide">Threads along each side of the group.</param>
    public static int SharedInts(int threadsPerSide) => 2 * TileWords * Block * threadsPerSide;

    /// <summary>
    /// x uint8 [rows, depth], w int8 [units, depth] (same depth) -> epilogue(acc[r, u]) at index r * units + u, channel u. Launch with
    /// threadsPerSide^2 threads per group and <see cref="SharedInts"/> of shared memory; grid-stride over tiles.
    /// </summary>
    public static void DenseForward<TEpilogue, TDot>(PackedRows x, PackedRows w, int threadsPerSide, TEpilogue epilogue, TDot dot)
        where TEpilogue : struct, IInt8Epilogue
        where TDot : struct, IDot4
    {
        int rows = x.Rows, units = w.Rows, depth = x.Depth;
        var shared = SharedMemory.GetDynamic<int>();
        int tileM = Block * threadsPerSide, tileN = tileM;
        var tileX = shared.SubView(0, TileWords * tileM);
        var tileW = shared.SubView(TileWords * tileM, TileWords * tileN);
        int threads = threadsPerSide * threadsPerSide;
        int tid = Group.IdxX;
        int row4 = tid / threadsPerSide * Block, col4 = tid % threadsPerSide * Block;
        int tilesM = (rows + tileM - 1) / tileM, tilesN = (units + tileN - 1) / tileN;
        long tiles = (long)tilesM * tilesN;
        int zx = epilogue.InputZeroPoint;
        for (long t = Grid.IdxX; t < tiles; t += Grid.DimX)
        {
            int m0 = (int)(t / tilesN) * tileM, n0 = (int)(t % tilesN) * tileN;
            IntQuad c0 = default, c1 = default, c2 = default, c3 = default, weightSums = default;
            for (int k0 = 0; k0 < depth; k0 += 4 * TileWords)
            {
                // Word kw of row mm holds depth k0 + 4kw .. k0 + 4kw + 3; neighbouring threads load neighbouring words.
                for (int l = tid; l < TileWords * tileM; l += threads)
                {
                    int mm = l / TileWords, kw = l % TileWords;
                    tileX[(kw * tileM) + mm] = x.Load(m0 + mm, k0 + (4 * kw));
                }

                for (int l = tid; l < TileWords * tileN; l += threads)
                {
                    int nn = l / TileWords, kw = l % TileWords;
                    tileW[(kw * tileN) + nn] = w.Load(n0 + nn, k0 + (4 * kw));
                }

                Group.Barrier();
                for (int kw = 0; kw < TileWords; kw++)
                {
                    int ra = (kw * tileM) + row4, rb = (kw * tileN) + col4;
                    int b0 = tileW[rb], b1 = tileW[rb + 1], b2 = tileW[rb + 2], b3 = tileW[rb + 3];
                    c0.Dot(dot, tileX[ra], b0, b1, b2, b3);
                    c1.Dot(dot, tileX[ra + 1], b0, b1, b2, b3);
                    c2.Dot(dot, tileX[ra + 2], b0, b1, b2, b3);
                    c3.Dot(dot, tileX[ra + 3], b0, b1, b2, b3);
                    weightSums.Dot(dot, 0x01010101, b0, b1, b2, b3);
                }

                Group.Barrier();
            }

            StoreRow(epilogue, m0 + row4, n0 + col4, rows, units, zx, c0, weightSums);
            StoreRow(epilogue, m0 + row4 + 1, n0 + col4, rows, units, zx, c1, weightSums);
            StoreRow(epilogue, m0 + row4 + 2, n0 + col4, rows, units, zx, c2, weightSums);
            StoreRow(epilogue, m0 + row4 + 3, n0 + col4, rows, units, zx, c3, weightSums);
        }
    }

    private static void StoreRow<TEpilogue>(TEpilogue epilogue, int m, int n, int rows, int units, int zx, IntQuad acc, IntQuad weightSums)
        where TEpilogue : struct, IInt8Epilogue
    {
        if (m >= rows)
        {
            return;
        }

        for (int j = 0; j < Block; j++)
        {
            if (n + j < units)
            {
                epilogue.Store(((long)m * units) + n + j, n + j, acc.Get(j) - (zx * weightSums.Get(j)));
            }
        }
    }
}
