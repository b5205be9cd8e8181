// The CPU's convolutions give each thread a contiguous part of the images and sum the parts' filter gradients
// at the end (chunked: late layers with small output planes; per image: the rest): one, two and three parts
// against loops. The thread count is global, so these run alone.
using Lepton.Backends;
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

        var (dx, dw) = ConvPoolTests.ConvGradientsRef(x, w, dy, pad: 1);
        Check.Close(dw, tw.Grad!, 1e-3, 1e-4, "per-image conv filter gradient");
        Check.Close(dx, tx.Grad!, 1e-4, 1e-4, "per-image conv data gradient");
    });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void OneImageSplitIntoBandsOfRowsMatchesLoopsAndOneThread(int threads)
    {
        // One image through a late layer runs as Y^T = col^T W^T, one band of output rows per thread: the CIFAR CNN's
        // conv2 (valid: im2col of a band of rows from the shifted image) and a padded, strided one (the general im2col
        // over a band), each with bias + ReLU and with 2x2 pooling taken from the product by the fused kernel (bands of
        // pooled rows, whose windows skip a last odd row). Each must match loops and one thread's bits.
        foreach (var (c, h, w, stride, pad) in new[] { (32, 15, 15, 1, 0), (32, 16, 16, 2, 1) })
        {
            var x = Generators.Values([1, c, h, w], h);
            var wt = Generators.Values([64, c, 3, 3], c + h);
            var b = Generators.Values([64], 5);
            var g = new Conv2dGeometry(1, c, h, w, 64, 3, 3, stride, stride, pad, pad, pad, pad, 1, 1, 1);
            var pool = FusedKernelTests.MaxPool(g, 2, 2);
            // The transposed product pools its rows where it runs (with AVX); there is no fused pooling to check elsewhere.
            bool pools = ((CpuBackend)Device.Cpu.Backend).SupportsConv2dBiasReluMaxPool(g, pool);
            Tensor F(Nd v) => v.ToTensor(Device.Cpu);
            Tensor Pooled() => FusedKernelTests.Fused(g, pool, F(x), F(wt), F(b)).Pooled;
            float[][] Run() =>
            [
                F(x).Conv2dBiasRelu(F(wt), F(b), (stride, stride), (pad, pad), (1, 1), 1).ToArray(),
                pools ? Pooled().ToArray() : [],
            ];

            float[][] one = [];
            WithThreads(1, () => one = Run());
            WithThreads(threads, () =>
            {
                var relu = ConvPoolTests.ConvRef(x, wt, b, stride, pad, 1, 1).Map(v => Math.Max(v, 0));
                Check.Close(relu, F(x).Conv2dBiasRelu(F(wt), F(b), (stride, stride), (pad, pad), (1, 1), 1), 1e-4, 1e-5, $"{threads} threads, {h}x{h} conv");
                if (pools)
                {
                    Check.Close(ConvPoolTests.PoolRef(relu, 2, 2, 0, max: true, includePad: true), Pooled(), 1e-4, 1e-5, $"{threads} threads, {h}x{h} pooled");
                }

                var split = Run();
                Assert.Equal(one[0], split[0]);
                Assert.Equal(one[1], split[1]);
            });
        }
    }

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
