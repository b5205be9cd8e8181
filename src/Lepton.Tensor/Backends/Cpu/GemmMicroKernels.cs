// Register-tiled GEMM micro-kernels: C[MR x NR] += Ap[kc x MR]^T * Bp[kc x NR] over packed panels
// (or C = ... when accumulate is false: C is then never read). Accumulators stay in registers for the
// whole k loop and are stored straight to C.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

/// <summary>The instruction sets the CPU GEMM can use.</summary>
public enum CpuIsa
{
    /// <summary>Portable scalar code.</summary>
    Scalar,

    /// <summary>AVX2 with FMA: 6x16 tile, 12 ymm accumulators.</summary>
    Avx2,

    /// <summary>AVX-512F: 12x32 tile, 24 zmm accumulators.</summary>
    Avx512,
}

/// <summary>The micro-kernels, one per <see cref="CpuIsa"/>.</summary>
internal static unsafe class GemmMicroKernels
{
    public const int ScalarMr = 4;
    public const int ScalarNr = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Start512(float* c, bool accumulate) => accumulate ? Vector512.Load(c) : Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Start256(float* c, bool accumulate) => accumulate ? Vector256.Load(c) : Vector256<float>.Zero;

    /// <summary>AVX-512: C[12 x 32] += A[12 x kc] B[kc x 32].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Kernel12x32(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        float* c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        float* c6 = c5 + ldc, c7 = c6 + ldc, c8 = c7 + ldc, c9 = c8 + ldc, c10 = c9 + ldc, c11 = c10 + ldc;
        Vector512<float> r00 = Start512(c0, accumulate), r01 = Start512(c0 + 16, accumulate);
        Vector512<float> r10 = Start512(c1, accumulate), r11 = Start512(c1 + 16, accumulate);
        Vector512<float> r20 = Start512(c2, accumulate), r21 = Start512(c2 + 16, accumulate);
        Vector512<float> r30 = Start512(c3, accumulate), r31 = Start512(c3 + 16, accumulate);
        Vector512<float> r40 = Start512(c4, accumulate), r41 = Start512(c4 + 16, accumulate);
        Vector512<float> r50 = Start512(c5, accumulate), r51 = Start512(c5 + 16, accumulate);
        Vector512<float> r60 = Start512(c6, accumulate), r61 = Start512(c6 + 16, accumulate);
        Vector512<float> r70 = Start512(c7, accumulate), r71 = Start512(c7 + 16, accumulate);
        Vector512<float> r80 = Start512(c8, accumulate), r81 = Start512(c8 + 16, accumulate);
        Vector512<float> r90 = Start512(c9, accumulate), r91 = Start512(c9 + 16, accumulate);
        Vector512<float> ra0 = Start512(c10, accumulate), ra1 = Start512(c10 + 16, accumulate);
        Vector512<float> rb0 = Start512(c11, accumulate), rb1 = Start512(c11 + 16, accumulate);
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> av;
            av = Vector512.Create(a[0]); r00 = Avx512F.FusedMultiplyAdd(av, b0, r00); r01 = Avx512F.FusedMultiplyAdd(av, b1, r01);
            av = Vector512.Create(a[1]); r10 = Avx512F.FusedMultiplyAdd(av, b0, r10); r11 = Avx512F.FusedMultiplyAdd(av, b1, r11);
            av = Vector512.Create(a[2]); r20 = Avx512F.FusedMultiplyAdd(av, b0, r20); r21 = Avx512F.FusedMultiplyAdd(av, b1, r21);
            av = Vector512.Create(a[3]); r30 = Avx512F.FusedMultiplyAdd(av, b0, r30); r31 = Avx512F.FusedMultiplyAdd(av, b1, r31);
            av = Vector512.Create(a[4]); r40 = Avx512F.FusedMultiplyAdd(av, b0, r40); r41 = Avx512F.FusedMultiplyAdd(av, b1, r41);
            av = Vector512.Create(a[5]); r50 = Avx512F.FusedMultiplyAdd(av, b0, r50); r51 = Avx512F.FusedMultiplyAdd(av, b1, r51);
            av = Vector512.Create(a[6]); r60 = Avx512F.FusedMultiplyAdd(av, b0, r60); r61 = Avx512F.FusedMultiplyAdd(av, b1, r61);
            av = Vector512.Create(a[7]); r70 = Avx512F.FusedMultiplyAdd(av, b0, r70); r71 = Avx512F.FusedMultiplyAdd(av, b1, r71);
            av = Vector512.Create(a[8]); r80 = Avx512F.FusedMultiplyAdd(av, b0, r80); r81 = Avx512F.FusedMultiplyAdd(av, b1, r81);
            av = Vector512.Create(a[9]); r90 = Avx512F.FusedMultiplyAdd(av, b0, r90); r91 = Avx512F.FusedMultiplyAdd(av, b1, r91);
            av = Vector512.Create(a[10]); ra0 = Avx512F.FusedMultiplyAdd(av, b0, ra0); ra1 = Avx512F.FusedMultiplyAdd(av, b1, ra1);
            av = Vector512.Create(a[11]); rb0 = Avx512F.FusedMultiplyAdd(av, b0, rb0); rb1 = Avx512F.FusedMultiplyAdd(av, b1, rb1);
            a += 12;
            b += 32;
        }

        r00.Store(c0); r01.Store(c0 + 16);
        r10.Store(c1); r11.Store(c1 + 16);
        r20.Store(c2); r21.Store(c2 + 16);
        r30.Store(c3); r31.Store(c3 + 16);
        r40.Store(c4); r41.Store(c4 + 16);
        r50.Store(c5); r51.Store(c5 + 16);
        r60.Store(c6); r61.Store(c6 + 16);
        r70.Store(c7); r71.Store(c7 + 16);
        r80.Store(c8); r81.Store(c8 + 16);
        r90.Store(c9); r91.Store(c9 + 16);
        ra0.Store(c10); ra1.Store(c10 + 16);
        rb0.Store(c11); rb1.Store(c11 + 16);
    }

    /// <summary>
    /// AVX-512: C[4 x 32] += A[4 x kc] B[kc x 32], the A rows read from a 12-row panel (rows 0-3 of it, or 4-7 or
    /// 8-11 when <paramref name="a"/> is offset): the last row panel of an M that is 4 or 8 more than a multiple of
    /// 12 (M = 64: a batch of 64, or 64 filters), which the 12-row kernel would compute in full on a scratch tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx512Kernel4x32(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        float* c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        Vector512<float> r00 = Start512(c0, accumulate), r01 = Start512(c0 + 16, accumulate);
        Vector512<float> r10 = Start512(c1, accumulate), r11 = Start512(c1 + 16, accumulate);
        Vector512<float> r20 = Start512(c2, accumulate), r21 = Start512(c2 + 16, accumulate);
        Vector512<float> r30 = Start512(c3, accumulate), r31 = Start512(c3 + 16, accumulate);
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            Vector512<float> av;
            av = Vector512.Create(a[0]); r00 = Avx512F.FusedMultiplyAdd(av, b0, r00); r01 = Avx512F.FusedMultiplyAdd(av, b1, r01);
            av = Vector512.Create(a[1]); r10 = Avx512F.FusedMultiplyAdd(av, b0, r10); r11 = Avx512F.FusedMultiplyAdd(av, b1, r11);
            av = Vector512.Create(a[2]); r20 = Avx512F.FusedMultiplyAdd(av, b0, r20); r21 = Avx512F.FusedMultiplyAdd(av, b1, r21);
            av = Vector512.Create(a[3]); r30 = Avx512F.FusedMultiplyAdd(av, b0, r30); r31 = Avx512F.FusedMultiplyAdd(av, b1, r31);
            a += 12;
            b += 32;
        }

        r00.Store(c0); r01.Store(c0 + 16);
        r10.Store(c1); r11.Store(c1 + 16);
        r20.Store(c2); r21.Store(c2 + 16);
        r30.Store(c3); r31.Store(c3 + 16);
    }

    /// <summary>AVX2 + FMA: C[6 x 16] += A[6 x kc] B[kc x 16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx2Kernel6x16(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        float* c0 = c, c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        Vector256<float> r00 = Start256(c0, accumulate), r01 = Start256(c0 + 8, accumulate);
        Vector256<float> r10 = Start256(c1, accumulate), r11 = Start256(c1 + 8, accumulate);
        Vector256<float> r20 = Start256(c2, accumulate), r21 = Start256(c2 + 8, accumulate);
        Vector256<float> r30 = Start256(c3, accumulate), r31 = Start256(c3 + 8, accumulate);
        Vector256<float> r40 = Start256(c4, accumulate), r41 = Start256(c4 + 8, accumulate);
        Vector256<float> r50 = Start256(c5, accumulate), r51 = Start256(c5 + 8, accumulate);
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            Vector256<float> av;
            av = Vector256.Create(a[0]); r00 = Fma.MultiplyAdd(av, b0, r00); r01 = Fma.MultiplyAdd(av, b1, r01);
            av = Vector256.Create(a[1]); r10 = Fma.MultiplyAdd(av, b0, r10); r11 = Fma.MultiplyAdd(av, b1, r11);
            av = Vector256.Create(a[2]); r20 = Fma.MultiplyAdd(av, b0, r20); r21 = Fma.MultiplyAdd(av, b1, r21);
            av = Vector256.Create(a[3]); r30 = Fma.MultiplyAdd(av, b0, r30); r31 = Fma.MultiplyAdd(av, b1, r31);
            av = Vector256.Create(a[4]); r40 = Fma.MultiplyAdd(av, b0, r40); r41 = Fma.MultiplyAdd(av, b1, r41);
            av = Vector256.Create(a[5]); r50 = Fma.MultiplyAdd(av, b0, r50); r51 = Fma.MultiplyAdd(av, b1, r51);
            a += 6;
            b += 16;
        }

        r00.Store(c0); r01.Store(c0 + 8);
        r10.Store(c1); r11.Store(c1 + 8);
        r20.Store(c2); r21.Store(c2 + 8);
        r30.Store(c3); r31.Store(c3 + 8);
        r40.Store(c4); r41.Store(c4 + 8);
        r50.Store(c5); r51.Store(c5 + 8);
    }

    /// <summary>Portable: C[4 x 8] += A[4 x kc] B[kc x 8].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScalarKernel4x8(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        float* acc = stackalloc float[ScalarMr * ScalarNr];
        for (int i = 0; i < ScalarMr; i++)
        {
            for (int j = 0; j < ScalarNr; j++)
            {
                acc[(i * ScalarNr) + j] = accumulate ? c[(i * ldc) + j] : 0f;
            }
        }

        for (int k = 0; k < kc; k++)
        {
            for (int i = 0; i < ScalarMr; i++)
            {
                float ai = a[i];
                for (int j = 0; j < ScalarNr; j++)
                {
                    acc[(i * ScalarNr) + j] += ai * b[j];
                }
            }

            a += ScalarMr;
            b += ScalarNr;
        }

        for (int i = 0; i < ScalarMr; i++)
        {
            for (int j = 0; j < ScalarNr; j++)
            {
                c[(i * ldc) + j] = acc[(i * ScalarNr) + j];
            }
        }
    }
}
