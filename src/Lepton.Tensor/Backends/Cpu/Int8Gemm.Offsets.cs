// The int8 micro-kernels of a convolution run straight on its input: the same Mr x Nr tile as Int8Gemm's, but each
// depth group of B is read at its own offset from one base (a stride-1 convolution's taps over a zero-point-padded,
// channel-interleaved image), so no im2col matrix is written.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

internal static unsafe partial class Int8Gemm
{
    /// <summary>c[i * Nr + j] = sum over quads q of A row i's bytes [4q, 4q + 4) times bytes [4j, 4j + 4) of b + offsets[q] (=).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TileAtOffsets(Int8Kernel kernel, sbyte* a, nint lda, byte* b, nint* offsets, int quads, int* c)
    {
        switch (kernel)
        {
            case Int8Kernel.Vnni:
                TileAtOffsetsVnni(a, lda, b, offsets, quads, c);
                break;
            case Int8Kernel.Avx2:
                TileAtOffsetsAvx2(a, lda, b, offsets, quads, c);
                break;
            default:
                TileAtOffsetsScalar(a, lda, b, offsets, quads, c);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TileAtOffsetsScalar(sbyte* a, nint lda, byte* b, nint* offsets, int quads, int* c)
    {
        for (int i = 0; i < Mr; i++)
        {
            for (int j = 0; j < Nr; j++)
            {
                int sum = 0;
                sbyte* ai = a + (i * lda);
                for (int q = 0; q < quads; q++)
                {
                    sbyte* aq = ai + (q * 4);
                    byte* bq = b + offsets[q] + (j * 4);
                    sum += (aq[0] * bq[0]) + (aq[1] * bq[1]) + (aq[2] * bq[2]) + (aq[3] * bq[3]);
                }

                c[(i * Nr) + j] = sum;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TileAtOffsetsVnni(sbyte* a, nint lda, byte* b, nint* offsets, int quads, int* c)
    {
        nint a1 = lda, a2 = 2 * lda, a3 = 3 * lda;
        if (AvxVnni.IsSupported)
        {
            Vector256<int> c00 = Vector256<int>.Zero, c01 = Vector256<int>.Zero, c02 = Vector256<int>.Zero, c03 = Vector256<int>.Zero, c10 = Vector256<int>.Zero, c11 = Vector256<int>.Zero, c12 = Vector256<int>.Zero, c13 = Vector256<int>.Zero, c20 = Vector256<int>.Zero, c21 = Vector256<int>.Zero, c22 = Vector256<int>.Zero, c23 = Vector256<int>.Zero, c30 = Vector256<int>.Zero, c31 = Vector256<int>.Zero, c32 = Vector256<int>.Zero, c33 = Vector256<int>.Zero;
            for (int q = 0; q < quads; q++)
            {
                byte* bq = b + offsets[q];
                var b0 = Vector256.Load(bq + 0);
                var b1 = Vector256.Load(bq + 32);
                var b2 = Vector256.Load(bq + 64);
                var b3 = Vector256.Load(bq + 96);
                var w0 = Vector256.Create(*(int*)(a)).AsSByte();
                c00 = AvxVnni.MultiplyWideningAndAdd(c00, b0, w0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, b1, w0); c02 = AvxVnni.MultiplyWideningAndAdd(c02, b2, w0); c03 = AvxVnni.MultiplyWideningAndAdd(c03, b3, w0);
                var w1 = Vector256.Create(*(int*)(a + a1)).AsSByte();
                c10 = AvxVnni.MultiplyWideningAndAdd(c10, b0, w1); c11 = AvxVnni.MultiplyWideningAndAdd(c11, b1, w1); c12 = AvxVnni.MultiplyWideningAndAdd(c12, b2, w1); c13 = AvxVnni.MultiplyWideningAndAdd(c13, b3, w1);
                var w2 = Vector256.Create(*(int*)(a + a2)).AsSByte();
                c20 = AvxVnni.MultiplyWideningAndAdd(c20, b0, w2); c21 = AvxVnni.MultiplyWideningAndAdd(c21, b1, w2); c22 = AvxVnni.MultiplyWideningAndAdd(c22, b2, w2); c23 = AvxVnni.MultiplyWideningAndAdd(c23, b3, w2);
                var w3 = Vector256.Create(*(int*)(a + a3)).AsSByte();
                c30 = AvxVnni.MultiplyWideningAndAdd(c30, b0, w3); c31 = AvxVnni.MultiplyWideningAndAdd(c31, b1, w3); c32 = AvxVnni.MultiplyWideningAndAdd(c32, b2, w3); c33 = AvxVnni.MultiplyWideningAndAdd(c33, b3, w3);
                a += 4;
            }

            c00.Store(c + 0); c01.Store(c + 8); c02.Store(c + 16); c03.Store(c + 24);
            c10.Store(c + 32); c11.Store(c + 40); c12.Store(c + 48); c13.Store(c + 56);
            c20.Store(c + 64); c21.Store(c + 72); c22.Store(c + 80); c23.Store(c + 88);
            c30.Store(c + 96); c31.Store(c + 104); c32.Store(c + 112); c33.Store(c + 120);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TileAtOffsetsAvx2(sbyte* a, nint lda, byte* b, nint* offsets, int quads, int* c)
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
                byte* bq = b + offsets[q];
                var b0 = Vector256.Load(bq + 0); var l0 = b0 & low; var h0 = b0 & high;
                var b1 = Vector256.Load(bq + 32); var l1 = b1 & low; var h1 = b1 & high;
                var b2 = Vector256.Load(bq + 64); var l2 = b2 & low; var h2 = b2 & high;
                var b3 = Vector256.Load(bq + 96); var l3 = b3 & low; var h3 = b3 & high;
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
            }

            c00.Store(c + 0); c01.Store(c + 8); c02.Store(c + 16); c03.Store(c + 24);
            c10.Store(c + 32); c11.Store(c + 40); c12.Store(c + 48); c13.Store(c + 56);
            c20.Store(c + 64); c21.Store(c + 72); c22.Store(c + 80); c23.Store(c + 88);
            c30.Store(c + 96); c31.Store(c + 104); c32.Store(c + 112); c33.Store(c + 120);
        }
    }
}
