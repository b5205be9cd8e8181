// The int8 convolution without an im2col matrix, for stride 1 and at least 4 input channels per group: each image's
// group is copied once into planes of 4 interleaved channels with the padding (zx) around them, and with the output
// columns taken over the padded width (j = p * Wp + q), every tap (r, s) of every output is one fixed offset from j,
// so the micro-kernel reads its 32 columns of each depth group straight from those planes. The columns q >= Q of the
// padded width are computed and dropped (R - 1 or S - 1 wasted of each Wp).
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>From this many input channels per group a stride-1 int8 convolution runs in place of the im2col one.</summary>
    private const int DirectConvolutionMinChannels = 4;

    [ThreadStatic]
    private static nint[]? quantizedOffsets;

    private static bool UsesDirectConvolution(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.CPerGroup >= DirectConvolutionMinChannels;

    /// <summary>The direct path of <see cref="QuantizedConv2d"/>, with the weights from <see cref="PrepareConvolutionWeights"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void QuantizedConv2dDirect(in Conv2dGeometry g, byte* x, int zx, sbyte* a, int lda, int* rowAdd, float* factors, int zy, bool relu, byte* y)
    {
        int taps = g.R * g.S, quads = lda / 4;
        int hp = g.P + ((g.R - 1) * g.DilationH), wp = g.Q + ((g.S - 1) * g.DilationW);
        int planeElements = (hp * wp) + wp + Int8Gemm.Nr;
        nint* offsets = Pinned(ref quantizedOffsets, quads);
        for (int quad = 0; quad < quads; quad++)
        {
            int cq = quad / taps, r = quad % taps / g.S, s = quad % g.S;
            offsets[quad] = (((nint)cq * planeElements) + (r * g.DilationH * wp) + (s * g.DilationW)) * 4;
        }

        var state = (g, zx, zy, relu, Int8Gemm.Kernel, lda, hp, wp, planeElements, (nint)x, (nint)a, (nint)rowAdd, (nint)factors, (nint)offsets, (nint)y);
        long work = (long)g.P * wp * g.KPerGroup * lda;
        CpuParallel.For(g.N * g.Groups, work, state, static (in (Conv2dGeometry G, int Zx, int Zy, bool Relu, Int8Kernel Kernel, int Lda, int Hp, int Wp, int PlaneElements, nint X, nint A, nint RowAdd, nint Factors, nint Offsets, nint Y) s, int start, int end) =>
        {
            var g = s.G;
            int kg = g.KPerGroup, kgPad = (kg + Int8Gemm.Mr - 1) / Int8Gemm.Mr * Int8Gemm.Mr, pq = g.P * g.Q, wp = s.Wp;
            int columns = g.P * wp, quads = s.Lda / 4;
            byte* image = Pinned(ref quantizedPanels, (long)(g.CPerGroup + 3) / 4 * s.PlaneElements * 4);
            byte* rows = Pinned(ref quantizedRows, 4L * ((wp + 15) & ~15));
            int* tile = Pinned(ref quantizedTile, (Int8Gemm.Mr * Int8Gemm.Nr) + (Int8Gemm.Mr * Int8Gemm.Nr / 4));
            byte* outputs = (byte*)(tile + (Int8Gemm.Mr * Int8Gemm.Nr));
            for (int item = start; item < end; item++)
            {
                int n = item / g.Groups, group = item % g.Groups;
                Int8Packing.PackChannelQuads(g, (byte*)s.X + ((((long)n * g.C) + (group * g.CPerGroup)) * g.H * g.W), s.Zx, s.Hp, wp, s.PlaneElements, rows, image);
                for (int j0 = 0; j0 < columns; j0 += Int8Gemm.Nr)
                {
                    int j1 = Math.Min(j0 + Int8Gemm.Nr, columns);
                    for (int m0 = 0; m0 < kg; m0 += Int8Gemm.Mr)
                    {
                        int row = (group * kgPad) + m0, mr = Math.Min(Int8Gemm.Mr, kg - m0);
                        Int8Gemm.TileAtOffsets(s.Kernel, (sbyte*)s.A + ((long)row * s.Lda), s.Lda, image + ((long)j0 * 4), (nint*)s.Offsets, quads, tile);
                        Int8Gemm.StoreRequantized(tile, mr, Int8Gemm.Nr, (int*)s.RowAdd + row, (float*)s.Factors + row, s.Zy, s.Relu, outputs, Int8Gemm.Nr, 1);

                        // Copy the runs of real output columns (q < Q) of each row to y.
                        byte* yk = (byte*)s.Y + ((((long)n * g.K) + (group * kg) + m0) * pq);
                        for (int j = j0; j < j1;)
                        {
                            int p = j / wp, q = j - (p * wp);
                            if (q >= g.Q)
                            {
                                j += wp - q;
                                continue;
                            }

                            int run = Math.Min(g.Q - q, j1 - j);
                            for (int i = 0; i < mr; i++)
                            {
                                new ReadOnlySpan<byte>(outputs + (i * Int8Gemm.Nr) + (j - j0), run).CopyTo(new Span<byte>(yk + ((long)i * pq) + (p * g.Q) + q, run));
                            }

                            j += run;
                        }
                    }
                }
            }
        });
    }
}
