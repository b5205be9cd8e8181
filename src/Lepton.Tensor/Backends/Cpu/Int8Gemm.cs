// The int8 GEMM under the quantized convolution and dense kernels: C (int32) = A (int8, row-major, read where it
// lies) times B (uint8, packed in NR-wide panels of 4-byte depth groups) by a register-tiled micro-kernel, and the
// epilogues that turn a tile of C into uint8 (requantized) or float32 (dequantized) outputs.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

/// <summary>Which int8 micro-kernel runs.</summary>
internal enum Int8Kernel
{
    /// <summary>Portable scalar code.</summary>
    Scalar,

    /// <summary>AVX2: vpmaddubsw on the low 7 bits and the top bit apart (each pair sum fits int16), then vpmaddwd.</summary>
    Avx2,

    /// <summary>AVX-VNNI (EVEX-encoded on AVX-512 machines): vpdpbusd, four uint8 x int8 products per int32 lane.</summary>
    Vnni,
}

/// <summary>
/// C[m, n] = sum over d of A[m, d] * B[d, n] in int32 (exact: the callers bound the depth). A is int8 with rows
/// <c>lda</c> bytes apart and a depth padded with zeros to a multiple of 4; B is uint8 packed by panels of
/// <see cref="Nr"/> columns, each panel [quads][Nr][4] (<see cref="PanelQuadBytes"/> bytes per depth group).
/// </summary>
internal static unsafe partial class Int8Gemm
{
    /// <summary>
    /// The AVX2 kernel's exact dot product of four uint8 activations with four int8 weights per int32 lane: the
    /// activations split into their low 7 bits and their top bit, so neither vpmaddubsw product pair can saturate int16.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SplitDot(Vector256<byte> low, Vector256<byte> high, Vector256<sbyte> w, Vector256<short> ones) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(low, w), ones) + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(high, w), ones);

    /// <summary>Rows of A per tile.</summary>
    public const int Mr = 4;

    /// <summary>Columns of B per tile (four 8-lane int32 vectors).</summary>
    public const int Nr = 32;

    /// <summary>Bytes of one depth group (4 rows of B) of a panel.</summary>
    public const int PanelQuadBytes = Nr * 4;

    /// <summary>The micro-kernel for this thread's <see cref="CpuGemm.Isa"/>: VNNI only with AVX-512's 32 registers.</summary>
    public static Int8Kernel Kernel => CpuGemm.Isa switch
    {
        CpuIsa.Avx512 when AvxVnni.IsSupported => Int8Kernel.Vnni,
        CpuIsa.Avx512 or CpuIsa.Avx2 when Avx2.IsSupported => Int8Kernel.Avx2,
        _ => Int8Kernel.Scalar,
    };

    /// <summary>Depth groups of 4 for a depth.</summary>
    public static int Quads(int depth) => (depth + 3) / 4;

    /// <summary>Columns rounded up to whole panels.</summary>
    public static int PaddedColumns(int n) => (n + Nr - 1) / Nr * Nr;

    /// <summary>c[i * Nr + j] = sum over quads of A rows i (a + i * lda) and panel column j (=), for an Mr x Nr tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile(Int8Kernel kernel, sbyte* a, nint lda, byte* b, int quads, int* c)
    {
        switch (kernel)
        {
            case Int8Kernel.Vnni:
                TileVnni(a, lda, b, quads, c);
                break;
            case Int8Kernel.Avx2:
                TileAvx2(a, lda, b, quads, c);
                break;
            default:
                TileScalar(a, lda, b, quads, c);
                break;
        }
    }

    /// <summary>sums[i] = sum of row i of A over its first <paramref name="depth"/> bytes, for <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowSums(sbyte* a, nint lda, int rows, int depth, int* sums)
    {
        for (int i = 0; i < rows; i++)
        {
            sbyte* row = a + (i * lda);
            int d = 0, sum = 0;
            if (Avx2.IsSupported)
            {
                var total = Vector256<int>.Zero;
                var ones = Vector256.Create((short)1);
                for (; d <= depth - 32; d += 32)
                {
                    var v = Vector256.Load(row + d);
                    var (lo, hi) = Vector256.Widen(v);
                    total += Avx2.MultiplyAddAdjacent(lo, ones) + Avx2.MultiplyAddAdjacent(hi, ones);
                }

                sum = Vector256.Sum(total);
            }

            for (; d < depth; d++)
            {
                sum += row[d];
            }

            sums[i] = sum;
        }
    }

    /// <summary>
    /// The requantizing epilogue of rows [0, rows) and columns [0, cols) of tile <paramref name="c"/>: with
    /// v = c + rowAdd[i] (int32, wrapping), y[i * ym + j * yn] = clamp(round((float)v * multipliers[i]) + zy, relu ? zy : 0, 255).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void StoreRequantized(int* c, int rows, int cols, int* rowAdd, float* multipliers, int zy, bool relu, byte* y, nint ym, nint yn)
    {
        int lo = relu ? zy : 0;
        byte* row = stackalloc byte[Nr];
        for (int i = 0; i < rows; i++)
        {
            int* ci = c + (i * Nr);
            int add = rowAdd[i];
            float m = multipliers[i];
            byte* yi = y + (i * ym);
            if (Avx2.IsSupported)
            {
                // All Nr columns are converted (those past cols hold sums of padding); only cols are stored.
                var addV = Vector256.Create(add);
                var mV = Vector256.Create(m);
                var zyV = Vector256.Create(zy);
                var r0 = Rounded(Vector256.Load(ci) + addV, mV, zyV);
                var r1 = Rounded(Vector256.Load(ci + 8) + addV, mV, zyV);
                var r2 = Rounded(Vector256.Load(ci + 16) + addV, mV, zyV);
                var r3 = Rounded(Vector256.Load(ci + 24) + addV, mV, zyV);

                // The saturating packs clamp to [0, 255]; they interleave 128-bit lanes, which the permutation undoes.
                var packed = Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(r0, r1), Avx2.PackSignedSaturate(r2, r3));
                var bytes = Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsByte();
                bytes = Avx2.Max(bytes, Vector256.Create((byte)lo));
                if (yn == 1 && cols == Nr)
                {
                    bytes.Store(yi);
                    continue;
                }

                bytes.Store(row);
                for (int j = 0; j < cols; j++)
                {
                    yi[j * yn] = row[j];
                }

                continue;
            }

            for (int j = 0; j < cols; j++)
            {
                yi[j * yn] = Requantize(unchecked(ci[j] + add), m, zy, lo);
            }
        }
    }

    /// <summary>
    /// The dequantizing epilogue of the dynamic dense layer: y[i * ym + j * yn] = (float)(c + rowAdd[i]) * factors[i]
    /// (+ bias[i]), float32 steps, rows [0, rows) and columns [0, cols) of tile <paramref name="c"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void StoreDequantized(int* c, int rows, int cols, int* rowAdd, float* factors, float* bias, float* y, nint ym, nint yn)
    {
        float* row = stackalloc float[Nr];
        for (int i = 0; i < rows; i++)
        {
            int* ci = c + (i * Nr);
            int add = rowAdd[i];
            float f = factors[i];
            float* yi = y + (i * ym);
            if (Avx2.IsSupported)
            {
                // A product, then a sum: never one fused multiply-add.
                var addV = Vector256.Create(add);
                var fV = Vector256.Create(f);
                for (int j = 0; j < Nr; j += 8)
                {
                    var product = Avx.Multiply(Avx.ConvertToVector256Single(Vector256.Load(ci + j) + addV), fV);
                    (bias is null ? product : Avx.Add(product, Vector256.Create(bias[i]))).Store(row + j);
                }

                for (int j = 0; j < cols; j++)
                {
                    yi[j * yn] = row[j];
                }

                continue;
            }

            for (int j = 0; j < cols; j++)
            {
                float product = (float)unchecked(ci[j] + add) * f;
                yi[j * yn] = bias is null ? product : product + bias[i];
            }
        }
    }

    /// <summary>One output of the requantizing epilogue. Clamping the product to [-512, 512] first changes no result
    /// (|zy| &lt;= 255) and keeps the conversion to int in range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Requantize(int v, float multiplier, int zy, int lo)
    {
        float p = Math.Clamp((float)v * multiplier, -512f, 512f);
        return (byte)Math.Clamp((int)MathF.Round(p) + zy, lo, 255);
    }

    /// <summary>round((float)v * m) + zy for 8 sums; products above 512 become 512 first (no result changes, and the
    /// conversion stays in range; one below -2^31 converts to int.MinValue, which still clamps to 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Rounded(Vector256<int> v, Vector256<float> m, Vector256<int> zy) =>
        Avx.ConvertToVector256Int32(Avx.Min(Avx.Multiply(Avx.ConvertToVector256Single(v), m), Vector256.Create(512f))) + zy;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TileScalar(sbyte* a, nint lda, byte* b, int quads, int* c)
    {
        for (int i = 0; i < Mr; i++)
        {
            for (int j = 0; j < Nr; j++)
            {
                int sum = 0;
                sbyte* ai = a + (i * lda);
                byte* bj = b + (j * 4);
                for (int q = 0; q < quads; q++)
                {
                    sbyte* aq = ai + (q * 4);
                    byte* bq = bj + ((nint)q * PanelQuadBytes);
                    sum += (aq[0] * bq[0]) + (aq[1] * bq[1]) + (aq[2] * bq[2]) + (aq[3] * bq[3]);
                }

                c[(i * Nr) + j] = sum;
            }
        }
    }

    // The accumulators are stored straight to c after the loop: copying them anywhere else made the JIT keep them on
    // the stack inside the loop (DESIGN.md). VNNI's destination must be one of ymm0-15 for the JIT, so the tile is 16
    // accumulators with the B columns and the broadcast weights in ymm16 and up.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TileVnni(sbyte* a, nint lda, byte* b, int quads, int* c)
    {
        nint a1 = lda, a2 = 2 * lda, a3 = 3 * lda;
        if (AvxVnni.IsSupported)
        {
            Vector256<int> c00 = Vector256<int>.Zero, c01 = Vector256<int>.Zero, c02 = Vector256<int>.Zero, c03 = Vector256<int>.Zero, c10 = Vector256<int>.Zero, c11 = Vector256<int>.Zero, c12 = Vector256<int>.Zero, c13 = Vector256<int>.Zero, c20 = Vector256<int>.Zero, c21 = Vector256<int>.Zero, c22 = Vector256<int>.Zero, c23 = Vector256<int>.Zero, c30 = Vector256<int>.Zero, c31 = Vector256<int>.Zero, c32 = Vector256<int>.Zero, c33 = Vector256<int>.Zero;
            for (int q = 0; q < quads; q++)
            {
                var b0 = Vector256.Load(b + 0);
                var b1 = Vector256.Load(b + 32);
                var b2 = Vector256.Load(b + 64);
                var b3 = Vector256.Load(b + 96);
                var w0 = Vector256.Create(*(int*)(a)).AsSByte();
                c00 = AvxVnni.MultiplyWideningAndAdd(c00, b0, w0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, b1, w0); c02 = AvxVnni.MultiplyWideningAndAdd(c02, b2, w0); c03 = AvxVnni.MultiplyWideningAndAdd(c03, b3, w0);
                var w1 = Vector256.Create(*(int*)(a + a1)).AsSByte();
                c10 = AvxVnni.MultiplyWideningAndAdd(c10, b0, w1); c11 = AvxVnni.MultiplyWideningAndAdd(c11, b1, w1); c12 = AvxVnni.MultiplyWideningAndAdd(c12, b2, w1); c13 = AvxVnni.MultiplyWideningAndAdd(c13, b3, w1);
                var w2 = Vector256.Create(*(int*)(a + a2)).AsSByte();
                c20 = AvxVnni.MultiplyWideningAndAdd(c20, b0, w2); c21 = AvxVnni.MultiplyWideningAndAdd(c21, b1, w2); c22 = AvxVnni.MultiplyWideningAndAdd(c22, b2, w2); c23 = AvxVnni.MultiplyWideningAndAdd(c23, b3, w2);
                var w3 = Vector256.Create(*(int*)(a + a3)).AsSByte();
                c30 = AvxVnni.MultiplyWideningAndAdd(c30, b0, w3); c31 = AvxVnni.MultiplyWideningAndAdd(c31, b1, w3); c32 = AvxVnni.MultiplyWideningAndAdd(c32, b2, w3); c33 = AvxVnni.MultiplyWideningAndAdd(c33, b3, w3);
                a += 4;
                b += PanelQuadBytes;
            }

            c00.Store(c + 0); c01.Store(c + 8); c02.Store(c + 16); c03.Store(c + 24);
            c10.Store(c + 32); c11.Store(c + 40); c12.Store(c + 48); c13.Store(c + 56);
            c20.Store(c + 64); c21.Store(c + 72); c22.Store(c + 80); c23.Store(c + 88);
            c30.Store(c + 96); c31.Store(c + 104); c32.Store(c + 112); c33.Store(c + 120);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TileAvx2(sbyte* a, nint lda, byte* b, int quads, int* c)
    {
        nint a1 = lda, a2 = 2 * lda, a3 = 3 * lda;
        if (Avx2.IsSupported)
        {
            Vector256<int> c00 = Vector256<int>.Zero, c01 = Vector256<int>.Zero, c02 = Vector256<int>.Zero, c03 = Vector256<int>.Zero, c10 = Vector256<int>.Zero, c11 = Vector256<int>.Zero, c12 = Vector256<int>.Zero, c13 = Vector256<int>.Zero, c20 = Vector256<int>.Zero, c21 = Vector256<int>.Zero, c22 = Vector256<int>.Zero, c23 = Vector256<int>.Zero, c30 = Vector256<int>.Zero, c31 = Vector256<int>.Zero, c32 = Vector256<int>.Zero, c33 = Vector256<int>.Zero;
            var low = Vector256.Create((byte)0x7F);
            var high = Vector256.Create((byte)0x80);
            var ones = Vector256.Create((short)1);
            for (int q = 0; q < quads; q++)
            {
                var b0 = Vector256.Load(b + 0); var l0 = b0 & low; var h0 = b0 & high;
                var b1 = Vector256.Load(b + 32); var l1 = b1 & low; var h1 = b1 & high;
                var b2 = Vector256.Load(b + 64); var l2 = b2 & low; var h2 = b2 & high;
                var b3 = Vector256.Load(b + 96); var l3 = b3 & low; var h3 = b3 & high;
                var w0 = Vector256.Create(*(int*)(a)).AsSByte();
                c00 += SplitDot(l0, h0, w0, ones);
                c01 += SplitDot(l1, h1, w0, ones);
                c02 += SplitDot(l2, h2, w0, ones);
                c03 += SplitDot(l3, h3, w0, ones);
                var w1 = Vector256.Create(*(int*)(a + a1)).AsSByte();
                c10 += SplitDot(l0, h0, w1, ones);
                c11 += SplitDot(l1, h1, w1, ones);
                c12 += SplitDot(l2, h2, w1, ones);
                c13 += SplitDot(l3, h3, w1, ones);
                var w2 = Vector256.Create(*(int*)(a + a2)).AsSByte();
                c20 += SplitDot(l0, h0, w2, ones);
                c21 += SplitDot(l1, h1, w2, ones);
                c22 += SplitDot(l2, h2, w2, ones);
                c23 += SplitDot(l3, h3, w2, ones);
                var w3 = Vector256.Create(*(int*)(a + a3)).AsSByte();
                c30 += SplitDot(l0, h0, w3, ones);
                c31 += SplitDot(l1, h1, w3, ones);
                c32 += SplitDot(l2, h2, w3, ones);
                c33 += SplitDot(l3, h3, w3, ones);
                a += 4;
                b += PanelQuadBytes;
            }

            c00.Store(c + 0); c01.Store(c + 8); c02.Store(c + 16); c03.Store(c + 24);
            c10.Store(c + 32); c11.Store(c + 40); c12.Store(c + 48); c13.Store(c + 56);
            c20.Store(c + 64); c21.Store(c + 72); c22.Store(c + 80); c23.Store(c + 88);
            c30.Store(c + 96); c31.Store(c + 104); c32.Store(c + 112); c33.Store(c + 120);
        }
    }
}
