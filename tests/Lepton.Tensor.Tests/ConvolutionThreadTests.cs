// The CPU's convolutions give each thread a contiguous part of the images and sum the parts' filter gradients
// at the end (chunked: late layers with small output planes; per image: the rest): one, two and three parts
// against loops. The thread count is global, so these run alone.
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class ConvolutionThreadTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ChunkedConvolutionMatchesLoopsOnEveryThreadCount(int threads) =>
        WithThreads(threads, () => ConvPoolTests.ChunkedConvolution(Device.Cpu));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PerImageConvolutionGradientsMatchLoopsOnEveryThreadCount(int threads) => WithThreads(threads, () =>
    {
        // 20 x 20 outputs with one pixel of padding and 36 taps: im2col + GEMM per image, three images.
        var x = Generators.Values([3, 4, 20, 20], 21);
        var w = Generators.Values([8, 4, 3, 3], 22);
        var dy = Generators.Values([3, 8, 20, 20], 23);
        var tx = x.ToTensor(Device.Cpu).RequiresGrad_();
        var tw = w.ToTensor(Device.Cpu).RequiresGrad_();
        var y = tx.Conv2d(tw, padding: (1, 1));
        Check.Close(ConvPoolTests.ConvRef(x, w, null, 1, 1, 1, 1), y, 1e-4, 1e-5, "per-image conv forward");
        (y * dy.ToTensor(Device.Cpu)).Sum().Backward();

        var dw = new double[w.Length];
        var dx = new double[x.Length];
        for (int n = 0; n < 3; n++)
        {
            for (int k = 0; k < 8; k++)
            {
                for (int p = 0; p < 20; p++)
                {
                    for (int q = 0; q < 20; q++)
                    {
                        for (int c = 0; c < 4; c++)
                        {
                            for (int r = 0; r < 3; r++)
                            {
                                for (int s = 0; s < 3; s++)
                                {
                                    int ih = p + r - 1, iw = q + s - 1;
                                    if ((uint)ih < 20 && (uint)iw < 20)
                                    {
                                        dw[Nd.Flat(w.Shape, [k, c, r, s])] += dy[n, k, p, q] * x[n, c, ih, iw];
                                        dx[Nd.Flat(x.Shape, [n, c, ih, iw])] += dy[n, k, p, q] * w[k, c, r, s];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        Check.Close(new Nd(dw, w.Shape), tw.Grad!, 1e-3, 1e-4, "per-image conv filter gradient");
        Check.Close(new Nd(dx, x.Shape), tx.Grad!, 1e-4, 1e-4, "per-image conv data gradient");
    });

    /// <summary>Runs body with <see cref="CpuParallel.Threads"/> set to <paramref name="threads"/>, then restores it.</summary>
    internal static void WithThreads(int threads, Action body)
    {
        int previous = CpuParallel.Threads;
        CpuParallel.Threads = threads;
        try
        {
            body();
        }
        finally
        {
            CpuParallel.Threads = previous;
        }
    }
}
