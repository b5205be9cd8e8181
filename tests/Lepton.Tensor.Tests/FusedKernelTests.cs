// The CPU's fused convolution kernels (IFusedKernels) against the unfused primitives they stand for, on every
// instruction set: which geometries each query accepts, the pooled forward bit for bit, and the pooled gradients.
using Lepton.Backends;
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public sealed class FusedKernelTests
{
    private static CpuBackend Cpu => (CpuBackend)Device.Cpu.Backend;

    private static IEnumerable<CpuIsa> Isas => Enum.GetValues<CpuIsa>().Where(i => i <= CpuGemm.DetectedIsa);

    [Fact]
    public void QueriesAcceptTheGeometriesTheKernelsCoverAndRefuseOthers()
    {
        // A batch through a late layer (small output planes, 72 taps) pools in chunks of images on every instruction set.
        var late = Convolution(4, 8, 15, 15, 16, 0);
        var plain = MaxPool(late, 2, 2);
        Assert.True(Cpu.SupportsConv2dBiasRelu(late));
        Assert.True(Cpu.SupportsConv2dBiasReluMaxPool(late, plain));
        Assert.True(Cpu.SupportsConv2dPooledBackward(late, plain, dx: true, dw: true));
        Assert.True(Cpu.SupportsConv2dPooledBackward(late, plain, dx: false, dw: true));
        Assert.True(Cpu.SupportsConv2dPooledBackward(late, plain, dx: true, dw: false));
        Assert.False(Cpu.SupportsConv2dPooledBackward(late, plain, dx: false, dw: false));

        // Overlapping 3x3 windows, 2x2 windows one step apart, and a pointwise convolution have no fused kernel.
        foreach (var (g, pool) in new[] { (late, MaxPool(late, 3, 2)), (late, MaxPool(late, 2, 1)), (Pointwise(), MaxPool(Pointwise(), 2, 2)) })
        {
            Assert.True(Cpu.SupportsConv2dBiasRelu(g));
            Assert.False(Cpu.SupportsConv2dBiasReluMaxPool(g, pool));
            Assert.False(Cpu.SupportsConv2dPooledBackward(g, pool, dx: true, dw: true));
            Assert.False(Cpu.SupportsConv2dPooledBackward(g, pool, dx: false, dw: true));
        }

        // Calling where the query is false writes nothing and names the method, the geometries and the query.
        var overlapping = MaxPool(late, 3, 2);
        var x = Tensor.Zeros([late.N, late.C, late.H, late.W]);
        var w = Tensor.Zeros([late.K, late.C, late.R, late.S]);
        var pooled = Tensor.Zeros([overlapping.N, overlapping.C, overlapping.P, overlapping.Q]);
        var indices = Tensor.Zeros([overlapping.N, overlapping.C, overlapping.P, overlapping.Q], DType.Int32);
        var before = pooled.ToArray();
        var error = Assert.Throws<NotSupportedException>(() => Cpu.Conv2dBiasReluMaxPoolForward(late, overlapping, x.Buffer, w.Buffer, null, pooled.Buffer, indices.Buffer));
        Assert.Contains(nameof(IFusedKernels.Conv2dBiasReluMaxPoolForward), error.Message);
        Assert.Contains(late.ToString(), error.Message);
        Assert.Contains(overlapping.ToString(), error.Message);
        Assert.Contains(nameof(IFusedKernels.SupportsConv2dBiasReluMaxPool), error.Message);
        Assert.Equal(before, pooled.ToArray());
        error = Assert.Throws<NotSupportedException>(() => Cpu.Conv2dPooledBackward(late, plain, x.Buffer, w.Buffer, pooled.Buffer, indices.Buffer, null, null));
        Assert.Contains(nameof(IFusedKernels.Conv2dPooledBackward), error.Message);
        Assert.Contains(late.ToString(), error.Message);
        Assert.Contains(nameof(IFusedKernels.SupportsConv2dPooledBackward), error.Message);
    }

    [Theory]
    [InlineData(2, 1, 12, 20, 0, 2, 2, true)]
    [InlineData(1, 1, 13, 21, 0, 2, 2, true)]
    [InlineData(2, 1, 28, 28, 0, 2, 2, false)]
    [InlineData(2, 3, 9, 11, 1, 2, 2, false)]
    [InlineData(1, 4, 8, 9, 0, 3, 2, true)]
    [InlineData(2, 2, 7, 6, 1, 2, 1, true)]
    [InlineData(3, 16, 9, 9, 0, 2, 2, true)]
    public void ConvolutionReluAndMaxPoolingMatchTheUnfusedKernels(int n, int c, int h, int w, int pad, int size, int stride, bool withBias)
    {
        // The first-layer kernel that pools in registers (one channel; rows of 18, 19 and 26, so one or two 16-wide
        // chunks, and an odd height and width that leave a row and a column outside every window), chunks of images
        // (3 and 16 channels), and pooling no kernel covers (overlapping windows, 3 wide with step 2, and step 1),
        // which the queries refuse and the methods reject, on every instruction set.
        var x = Generators.Values([n, c, h, w], 21);
        var wt = Generators.Values([8, c, 3, 3], 22);
        var b = withBias ? Generators.Values([8], 23) : null;
        var g = Convolution(n, c, h, w, 8, pad);
        var pool = MaxPool(g, size, stride);
        var reference = ConvPoolTests.PoolRef(ConvPoolTests.ConvRef(x, wt, b, 1, pad, 1, 1).Map(v => Math.Max(v, 0)), size, stride, 0, max: true, includePad: true);
        var (tx, tw, tb) = (OnCpu(x), OnCpu(wt), b is null ? null : OnCpu(b));
        var pooledGrad = OnCpu(Generators.Values([pool.N, pool.C, pool.P, pool.Q], 24));
        foreach (var isa in Isas)
        {
            CpuGemmKernelTests.WithIsa(isa, () =>
            {
                var (expected, expectedIndices) = Unfused(g, pool, tx, tw, tb);
                if (size != 2 || stride != 2)
                {
                    Assert.False(Cpu.SupportsConv2dBiasReluMaxPool(g, pool), $"{isa}");
                    Assert.False(Cpu.SupportsConv2dPooledBackward(g, pool, dx: true, dw: true), $"{isa}");
                    Assert.Throws<NotSupportedException>(() => Fused(g, pool, tx, tw, tb));
                    return;
                }

                if (Cpu.SupportsConv2dBiasReluMaxPool(g, pool))
                {
                    var (pooled, indices) = Fused(g, pool, tx, tw, tb);
                    Check.Close(reference, pooled, 1e-5, 1e-5, $"{isa}");
                    Assert.Equal(expected.ToArray(), pooled.ToArray());
                    Assert.Equal(expectedIndices.ToInt32Array(), indices.ToInt32Array());
                }

                foreach (var (dx, dw) in new[] { (true, true), (false, true), (true, false) })
                {
                    if (Cpu.SupportsConv2dPooledBackward(g, pool, dx, dw))
                    {
                        var (fusedDx, fusedDw) = FusedGradients(g, pool, tx, tw, pooledGrad, expectedIndices, dx, dw);
                        var (unfusedDx, unfusedDw) = UnfusedGradients(g, pool, tx, tw, pooledGrad, expectedIndices, dx, dw);
                        SameGradient(unfusedDx, fusedDx, 1e-5, $"{isa} input gradient");
                        SameGradient(unfusedDw, fusedDw, 1e-4, $"{isa} filter gradient");
                    }
                }
            });
        }
    }

    [Theory]
    [InlineData(32, 15, 15, 64, true)]
    [InlineData(16, 10, 9, 32, false)]
    public void OneImageConvolutionReluAndPoolingMatchTheUnfusedKernelsBitForBit(int c, int h, int w, int k, bool withBias)
    {
        // One image through a late layer (the CIFAR CNN's conv2 at batch 1 first: 13x13 outputs, so the last
        // row and column lie outside every window): the CPU pools the transposed product's rows without
        // writing the convolution's output.
        FusedPoolingMatchesTheUnfusedKernels(1, c, h, w, k, withBias);
    }

    [Theory]
    [InlineData(32, 15, 15, 64, true)]
    [InlineData(16, 10, 9, 24, false)]
    [InlineData(8, 6, 20, 16, true)]
    public void ChunksOfImagesThroughConvolutionReluAndPoolingMatchTheUnfusedKernelsBitForBit(int c, int h, int w, int k, bool withBias)
    {
        // A batch through a late layer runs in chunks of images on the CPU (here 2 + 2 + 1, the budget lowered
        // on this thread), and each chunk's product is pooled while in cache, without the convolution's output:
        // rows of fewer than eight outputs (6 and 3 here) one vector step each, wider ones (9) as planes.
        CpuBackend.ChunkColumnBudgetOverride = 2L * c * 9 * (h - 2) * (w - 2);
        try
        {
            FusedPoolingMatchesTheUnfusedKernels(5, c, h, w, k, withBias);
        }
        finally
        {
            CpuBackend.ChunkColumnBudgetOverride = null;
        }
    }

    [Fact]
    public void ConvolutionReluAndMaxPoolingBreakTiesAndKeepNaNsLikeMaxPooling()
    {
        // A first layer (the direct kernel, pooled in registers with AVX-512). Small integers make equal maxima common
        // inside windows (the first one in reading order takes the gradient, which moves the filter gradient if it is
        // broken); a NaN pixel spreads over a 3x3 patch of the convolution, whose windows stay NaN.
        var rng = new Random(8);
        var xs = Enumerable.Range(0, 2 * 20 * 22).Select(_ => (float)rng.Next(0, 3)).ToArray();
        var ws = Enumerable.Range(0, 8 * 9).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        var g = Convolution(2, 1, 20, 22, 8, 0);
        var pool = MaxPool(g, 2, 2);
        var tw = Tensor.FromArray(ws, [8, 1, 3, 3]);
        var tx = Tensor.FromArray(xs, [2, 1, 20, 22]);
        if (!Cpu.SupportsConv2dBiasReluMaxPool(g, pool))
        {
            // Only AVX-512 pools a first layer in registers.
            Assert.NotEqual(CpuIsa.Avx512, CpuGemm.Isa);
            return;
        }

        var (fused, indices) = Fused(g, pool, tx, tw, null);
        var (composed, composedIndices) = Unfused(g, pool, tx, tw, null);
        Assert.Equal(composed.ToArray(), fused.ToArray());
        Assert.Equal(composedIndices.ToInt32Array(), indices.ToInt32Array());
        var dy = Tensor.FromArray(Enumerable.Range(0, (int)fused.Numel).Select(i => 1f + (i % 7)).ToArray(), fused.Shape);
        if (Cpu.SupportsConv2dPooledBackward(g, pool, dx: false, dw: true))
        {
            var (_, dw) = FusedGradients(g, pool, tx, tw, dy, indices, dx: false, dw: true);
            var (_, expected) = UnfusedGradients(g, pool, tx, tw, dy, indices, dx: false, dw: true);
            Assert.Equal(expected!.ToArray(), dw!.ToArray());
        }

        xs[(20 * 22) + (7 * 22) + 9] = float.NaN;
        var nan = Tensor.FromArray(xs, [2, 1, 20, 22]);
        var (pooled, nanIndices) = Fused(g, pool, nan, tw, null);
        var (unfused, unfusedIndices) = Unfused(g, pool, nan, tw, null);
        Assert.Equal(unfused.ToArray(), pooled.ToArray());
        Assert.Equal(unfusedIndices.ToInt32Array(), nanIndices.ToInt32Array());
        Assert.Contains(pooled.ToArray(), float.IsNaN);
    }

    /// <summary>The pooled values and indices of <see cref="IFusedKernels.Conv2dBiasReluMaxPoolForward"/> on the CPU.</summary>
    internal static (Tensor Pooled, Tensor Indices) Fused(in Conv2dGeometry g, in Pool2dGeometry pool, Tensor x, Tensor w, Tensor? b)
    {
        var pooled = Tensor.Empty([pool.N, pool.C, pool.P, pool.Q], Device.Cpu);
        var indices = Tensor.Empty([pool.N, pool.C, pool.P, pool.Q], Device.Cpu, DType.Int32);
        Cpu.Conv2dBiasReluMaxPoolForward(g, pool, x.Buffer, w.Buffer, b?.Buffer, pooled.Buffer, indices.Buffer);
        return (pooled, indices);
    }

    /// <summary>The same through the unfused kernels: <see cref="IFusedKernels.Conv2dBiasReluForward"/>, then max pooling.</summary>
    internal static (Tensor Pooled, Tensor Indices) Unfused(in Conv2dGeometry g, in Pool2dGeometry pool, Tensor x, Tensor w, Tensor? b)
    {
        var y = Tensor.Empty([g.N, g.K, g.P, g.Q], Device.Cpu);
        var pooled = Tensor.Empty([pool.N, pool.C, pool.P, pool.Q], Device.Cpu);
        var indices = Tensor.Empty([pool.N, pool.C, pool.P, pool.Q], Device.Cpu, DType.Int32);
        Cpu.Conv2dBiasReluForward(g, x.Buffer, w.Buffer, b?.Buffer, y.Buffer);
        Cpu.MaxPool2dForward(pool, y.Buffer, pooled.Buffer, indices.Buffer);
        return (pooled, indices);
    }

    /// <summary>The gradients asked of <see cref="IFusedKernels.Conv2dPooledBackward"/> on the CPU.</summary>
    private static (Tensor? Dx, Tensor? Dw) FusedGradients(
        in Conv2dGeometry g, in Pool2dGeometry pool, Tensor x, Tensor w, Tensor pooledGrad, Tensor indices, bool dx, bool dw)
    {
        var (inputGrad, filterGrad) = GradientTensors(g, dx, dw);
        Cpu.Conv2dPooledBackward(g, pool, x.Buffer, w.Buffer, pooledGrad.Buffer, indices.Buffer, inputGrad?.Buffer, filterGrad?.Buffer);
        return (inputGrad, filterGrad);
    }

    /// <summary>The same through the unfused kernels: max pooling's backward, then the convolution's data and filter gradients.</summary>
    private static (Tensor? Dx, Tensor? Dw) UnfusedGradients(
        in Conv2dGeometry g, in Pool2dGeometry pool, Tensor x, Tensor w, Tensor pooledGrad, Tensor indices, bool dx, bool dw)
    {
        var (inputGrad, filterGrad) = GradientTensors(g, dx, dw);
        var dy = Tensor.Empty([g.N, g.K, g.P, g.Q], Device.Cpu);
        Cpu.MaxPool2dBackward(pool, pooledGrad.Buffer, indices.Buffer, dy.Buffer);
        if (inputGrad is not null)
        {
            Cpu.Conv2dBackwardData(g, dy.Buffer, w.Buffer, inputGrad.Buffer);
        }

        if (filterGrad is not null)
        {
            Cpu.Conv2dBackwardFilter(g, x.Buffer, dy.Buffer, filterGrad.Buffer);
        }

        return (inputGrad, filterGrad);
    }

    private static (Tensor? Dx, Tensor? Dw) GradientTensors(in Conv2dGeometry g, bool dx, bool dw) =>
        (dx ? Tensor.Empty([g.N, g.C, g.H, g.W], Device.Cpu) : null, dw ? Tensor.Empty([g.K, g.CPerGroup, g.R, g.S], Device.Cpu) : null);

    /// <summary>A 3x3 convolution with unit stride and dilation and <paramref name="pad"/> on every side.</summary>
    internal static Conv2dGeometry Convolution(int n, int c, int h, int w, int k, int pad) =>
        new(n, c, h, w, k, 3, 3, 1, 1, pad, pad, pad, pad, 1, 1, 1);

    /// <summary>Unpadded max pooling over the output of <paramref name="g"/>.</summary>
    internal static Pool2dGeometry MaxPool(in Conv2dGeometry g, int size, int stride) =>
        new(g.N, g.K, g.P, g.Q, size, size, stride, stride, 0, 0, 0, 0);

    /// <summary>A 1x1 convolution of 64 channels, whose outputs no fused pooling covers.</summary>
    private static Conv2dGeometry Pointwise() => new(2, 64, 8, 8, 32, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);

    private static Tensor OnCpu(Nd values) => values.ToTensor(Device.Cpu);

    /// <summary>
    /// conv + bias + ReLU + 2x2 max pooling, fused, against loops and bit for bit against the unfused kernels on every
    /// ISA that has a fused kernel for it. Small integers make ties common; a NaN pixel makes NaN windows. The pooled
    /// values and indices and the input gradient must equal the unfused kernels' exactly, and so must the filter
    /// gradient unless a last odd row or column is cropped (then within rounding).
    /// </summary>
    private static void FusedPoolingMatchesTheUnfusedKernels(int n, int c, int h, int w, int k, bool withBias)
    {
        var x = Generators.Values([n, c, h, w], 31).Map(v => Math.Round(v));
        var wt = Generators.Values([k, c, 3, 3], 32).Map(v => Math.Round(v));
        var b = withBias ? Generators.Values([k], 33).Map(v => Math.Round(v)) : null;
        var g = Convolution(n, c, h, w, k, 0);
        var pool = MaxPool(g, 2, 2);
        var (tx, tw, tb) = (OnCpu(x), OnCpu(wt), b is null ? null : OnCpu(b));
        var dy = OnCpu(Generators.Values([n, k, (h - 2) / 2, (w - 2) / 2], 34));
        var withNaN = (double[])x.Data.Clone();
        withNaN[((n - 1) * c * h * w) + (c / 2 * h * w) + (h / 2 * w) + (w / 2)] = double.NaN;
        var nan = OnCpu(new Nd(withNaN, x.Shape));

        // Where the windows leave a last odd row or column of the convolution's output, the fused backward runs its
        // products on the covered crop, so its filter gradient sums the same products in another order.
        bool cropped = (h - 2) % 2 != 0 || (w - 2) % 2 != 0;
        int forwards = 0;
        foreach (var isa in Isas)
        {
            CpuGemmKernelTests.WithIsa(isa, () =>
            {
                if (!Cpu.SupportsConv2dBiasReluMaxPool(g, pool))
                {
                    return;
                }

                forwards++;
                var (pooled, indices) = Fused(g, pool, tx, tw, tb);
                var (expected, expectedIndices) = Unfused(g, pool, tx, tw, tb);
                Check.Close(ConvPoolTests.PoolRef(ConvPoolTests.ConvRef(x, wt, b, 1, 0, 1, 1).Map(v => Math.Max(v, 0)), 2, 2, 0, max: true, includePad: true), pooled, 1e-5, 1e-5, $"{isa}");
                Assert.Equal(expected.ToArray(), pooled.ToArray());
                Assert.Equal(expectedIndices.ToInt32Array(), indices.ToInt32Array());
                Assert.Equal(Unfused(g, pool, nan, tw, tb).Pooled.ToArray(), Fused(g, pool, nan, tw, tb).Pooled.ToArray());

                foreach (var (wantDx, wantDw) in new[] { (true, true), (false, true) })
                {
                    if (!Cpu.SupportsConv2dPooledBackward(g, pool, wantDx, wantDw))
                    {
                        continue;
                    }

                    var (fusedDx, fusedDw) = FusedGradients(g, pool, tx, tw, dy, indices, wantDx, wantDw);
                    var (unfusedDx, unfusedDw) = UnfusedGradients(g, pool, tx, tw, dy, indices, wantDx, wantDw);
                    if (wantDx)
                    {
                        Assert.Equal(unfusedDx!.ToArray(), fusedDx!.ToArray());
                    }

                    if (cropped)
                    {
                        SameGradient(unfusedDw, fusedDw, 1e-4, $"{isa} filter gradient");
                    }
                    else
                    {
                        Assert.Equal(unfusedDw!.ToArray(), fusedDw!.ToArray());
                    }
                }
            });
        }

        Assert.True(forwards > 0 || !System.Runtime.Intrinsics.X86.Avx.IsSupported, "no instruction set ran the fused forward");
    }

    /// <summary>The unfused kernels' gradient and the fused one's within <paramref name="atol"/>, or both absent.</summary>
    private static void SameGradient(Tensor? expected, Tensor? actual, double atol, string what)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is not null)
        {
            Check.Close(Array.ConvertAll(expected.ToArray(), v => (double)v), actual!.ToArray(), atol, 1e-5, what);
        }
    }
}
