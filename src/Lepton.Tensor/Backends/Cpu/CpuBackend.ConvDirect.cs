// Direct convolution for first layers (few input channels: C*R*S of 9 for MNIST, 27 for CIFAR), stride 1,
// no padding or dilation: as a GEMM their inner dimension is tiny, so packing and the C tile's loads and
// stores cost more than the arithmetic. Here each output row is computed in 8-wide chunks along q, eight
// filters at a time: per tap one load of the input row segment and eight fused multiply-adds.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Filter taps (C*R*S) up to which the direct kernel runs.</summary>
    private const int DirectMaxTaps = 32;

    private static bool UseDirectConv(in Conv2dGeometry g) =>
        Fma.IsSupported && CpuGemm.Isa != CpuIsa.Scalar &&
        g.Groups == 1 && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 &&
        g.PadH == 0 && g.PadW == 0 && g.ExtraPadH == 0 && g.ExtraPadW == 0 &&
        g.C * g.R * g.S <= DirectMaxTaps && g.Q >= 8 && g.K % 8 == 0;

    private static void DirectForward(in Conv2dGeometry g, float* x, float* w, float* y)
    {
        var geo = g;
        bool wide = CpuGemm.Isa == CpuIsa.Avx512 && g.Q >= 16;
        int* offsets = stackalloc int[g.C * g.R * g.S];
        TapOffsets(g, offsets);
        CpuParallel.For(g.N * g.P, (long)g.K * g.C * g.R * g.S * g.Q, (r0, r1) =>
        {
            for (int row = r0; row < r1; row++)
            {
                if (wide)
                {
                    DirectRowWide(geo, x, w, y, offsets, row / geo.P, row % geo.P);
                }
                else
                {
                    DirectRow(geo, x, w, y, offsets, row / geo.P, row % geo.P);
                }
            }
        });
    }

    /// <summary>Where tap (c, r, s) starts in the image, relative to an output row's first input.</summary>
    private static void TapOffsets(in Conv2dGeometry g, int* offsets)
    {
        for (int t = 0, taps = g.C * g.R * g.S; t < taps; t++)
        {
            offsets[t] = ((((t / (g.R * g.S)) * g.H) + (t / g.S % g.R)) * g.W) + (t % g.S);
        }
    }

    /// <summary><see cref="DirectRow"/> with AVX-512: sixteen outputs of the row per register.</summary>
    private static void DirectRowWide(in Conv2dGeometry g, float* x, float* w, float* y, int* offsets, int n, int p)
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
    private static void DirectRow(in Conv2dGeometry g, float* x, float* w, float* y, int* offsets, int n, int p)
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
}
