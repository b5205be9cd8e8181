// Conv2d (stride, padding, dilation, groups), max/avg pooling and global average pooling against
// naive float64 loops on FsCheck geometries; gradients by finite differences; bad geometry.
using FsCheck.Fluent;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class ConvPoolTests : BackendTests
{
    public static FsCheck.Gen<(int N, int C, int H, int W, int K, int R, int S, int Stride, int Pad, int Dil, int Groups)> ConvCases =>
        from n in Gen.Choose(1, 3)
        from groups in Gen.Elements(1, 1, 2)
        from cPer in Gen.Choose(1, 3)
        from kPer in Gen.Choose(1, 3)
        from r in Gen.Choose(1, 3)
        from s in Gen.Choose(1, 3)
        from stride in Gen.Choose(1, 2)
        from pad in Gen.Choose(0, 2)
        from dil in Gen.Choose(1, 2)
        from h in Gen.Choose(((r - 1) * dil) + 1, 8)
        from w in Gen.Choose(((s - 1) * dil) + 1, 8)
        select (n, cPer * groups, h, w, kPer * groups, r, s, stride, pad, dil, groups);

    [Fact]
    public void Conv2dMatchesNaiveLoops()
    {
        Generators.ForAll(ConvCases.Seeded(), c =>
        {
            var g = c.Case;
            var x = Generators.Values([g.N, g.C, g.H, g.W], c.Seed);
            var w = Generators.Values([g.K, g.C / g.Groups, g.R, g.S], c.Seed + 1);
            var b = Generators.Values([g.K], c.Seed + 2);
            var y = T(x).Conv2d(T(w), T(b), (g.Stride, g.Stride), (g.Pad, g.Pad), (g.Dil, g.Dil), g.Groups);
            Check.Close(ConvRef(x, w, b, g.Stride, g.Pad, g.Dil, g.Groups), y, 1e-5, 1e-5, $"conv {g}");
        }, 40);
    }

    [Theory]
    [InlineData(3, 3, 12, 20, 8)]
    [InlineData(1, 2, 5, 18, 16)]
    [InlineData(2, 1, 28, 28, 32)]
    [InlineData(1, 1, 6, 12, 8)]
    [InlineData(5, 3, 9, 32, 16)]
    [InlineData(3, 3, 12, 20, 5)]
    public void FirstLayerConvolutionsMatchNaiveLoops(int n, int c, int h, int w, int k)
    {
        // First layers (few input channels, MNIST's 28x28 among them): with filters in multiples of eight
        // the CPU runs its direct kernel (eight filters by 8 or, with AVX-512 and rows of 16 or more, 16
        // outputs of a row, the row's last chunk overlapping the one before); five filters take the GEMM
        // path. Every instruction set this machine has is tried (the scalar one turns the direct kernel off).
        var x = Generators.Values([n, c, h, w], n + c);
        var wt = Generators.Values([k, c, 3, 3], k);
        var b = Generators.Values([k], 5);
        foreach (var isa in Enum.GetValues<Lepton.Backends.Cpu.CpuIsa>().Where(i => i <= Lepton.Backends.Cpu.CpuGemm.DetectedIsa))
        {
            CpuGemmKernelTests.WithIsa(isa, () =>
            {
                Check.Close(ConvRef(x, wt, b, 1, 0, 1, 1), T(x).Conv2d(T(wt), T(b)), 1e-5, 1e-5, $"conv {n}x{c}x{h}x{w} k{k} {isa}");

                // The filter gradient (a direct kernel too with AVX-512 and rows of 16 or more) against
                // loops, weighting every output by a distinct value.
                var g = Generators.Values([n, k, h - 2, w - 2], 9);
                var tw = T(wt).RequiresGrad_();
                (T(x).Conv2d(tw, T(b)) * T(g)).Sum().Backward();
                var dw = new double[wt.Data.Length];
                for (int i = 0; i < n; i++)
                {
                    for (int f = 0; f < k; f++)
                    {
                        for (int ch = 0; ch < c; ch++)
                        {
                            for (int r = 0; r < 3; r++)
                            {
                                for (int s = 0; s < 3; s++)
                                {
                                    double sum = 0;
                                    for (int p = 0; p < h - 2; p++)
                                    {
                                        for (int q = 0; q < w - 2; q++)
                                        {
                                            sum += g[i, f, p, q] * x[i, ch, p + r, q + s];
                                        }
                                    }

                                    dw[Nd.Flat(wt.Shape, [f, ch, r, s])] += sum;
                                }
                            }
                        }
                    }
                }

                Check.Close(new Nd(dw, wt.Shape), tw.Grad!, 1e-4, 1e-4, $"conv filter gradient {n}x{c}x{h}x{w} k{k} {isa}");
            });
        }
    }

    [Theory]
    [InlineData(2, 3, 6, 20, 0, true)]
    [InlineData(1, 2, 5, 10, 0, false)]
    [InlineData(2, 3, 6, 9, 1, true)]
    [InlineData(1, 4, 5, 7, 1, true)]
    [InlineData(2, 4, 16, 16, 1, false)]
    public void ConvolutionWithBiasAndReluMatchesLoopsAndFiniteDifferences(int n, int c, int h, int w, int pad, bool withBias)
    {
        // What Conv2D(activation: "relu") runs. On the CPU, bias and ReLU are applied as the output is
        // written: in registers by the first-layer direct kernel (rows of 18 and 8: its 16- and 8-wide
        // forms), while regrouping a chunk of small output planes (2 images of 6x9), or per image after its
        // GEMM (one image; 16x16 planes); ILGPU runs the convolution then the fused bias + ReLU. The
        // backward uses only the output.
        var x = Generators.Values([n, c, h, w], 11);
        var wt = Generators.Values([8, c, 3, 3], 12);
        var b = withBias ? Generators.Values([8], 13) : null;
        Nd Reference(Nd xs, Nd ws, Nd? bs) => ConvRef(xs, ws, bs, 1, pad, 1, 1).Map(v => Math.Max(v, 0));
        foreach (var isa in Enum.GetValues<Lepton.Backends.Cpu.CpuIsa>().Where(i => i <= Lepton.Backends.Cpu.CpuGemm.DetectedIsa))
        {
            CpuGemmKernelTests.WithIsa(isa, () =>
                Check.Close(Reference(x, wt, b), T(x).Conv2dBiasRelu(T(wt), b is null ? null : T(b), (1, 1), (pad, pad), (1, 1), 1), 1e-5, 1e-5, $"{isa}"));
        }

        if (h * w > 200)
        {
            // The backward does not depend on how the forward ran; finite differences on small inputs only.
            return;
        }

        if (b is null)
        {
            GradCheck.Run(Device, [x, wt], t => t[0].Conv2dBiasRelu(t[1], null, (1, 1), (pad, pad), (1, 1), 1), r => Reference(r[0], r[1], null));
        }
        else
        {
            GradCheck.Run(Device, [x, wt, b], t => t[0].Conv2dBiasRelu(t[1], t[2], (1, 1), (pad, pad), (1, 1), 1), r => Reference(r[0], r[1], r[2]));
        }
    }

    [Theory]
    [InlineData(32, 15, 15, 64, 1, 0, 1)]
    [InlineData(64, 6, 6, 64, 1, 0, 1)]
    [InlineData(5, 9, 11, 32, 2, 1, 1)]
    [InlineData(3, 10, 9, 96, 1, 1, 2)]
    public void OneImageWithASmallOutputPlaneMatchesLoops(int c, int h, int w, int k, int stride, int pad, int dilation)
    {
        // One image, an output plane under 256 positions and a multiple of 32 filters (batch-1 inference
        // through the CIFAR CNN's conv2 and conv3, the first two cases): the CPU computes Y^T = col^T W^T and
        // transposes it back in 8 x 8 tiles and the last positions one by one. Plain, with a bias, and with
        // bias and ReLU fused, on every instruction set (the scalar one keeps the untransposed product).
        var x = Generators.Values([1, c, h, w], c);
        var wt = Generators.Values([k, c, 3, 3], k);
        var b = Generators.Values([k], 3);
        var (st, pd, dl) = ((stride, stride), (pad, pad), (dilation, dilation));
        foreach (var isa in Enum.GetValues<Lepton.Backends.Cpu.CpuIsa>().Where(i => i <= Lepton.Backends.Cpu.CpuGemm.DetectedIsa))
        {
            CpuGemmKernelTests.WithIsa(isa, () =>
            {
                Check.Close(ConvRef(x, wt, null, stride, pad, dilation, 1), T(x).Conv2d(T(wt), null, st, pd, dl, 1), 1e-4, 1e-5, $"{isa} conv");
                Check.Close(ConvRef(x, wt, b, stride, pad, dilation, 1), T(x).Conv2d(T(wt), T(b), st, pd, dl, 1), 1e-4, 1e-5, $"{isa} conv + bias");
                Check.Close(
                    ConvRef(x, wt, b, stride, pad, dilation, 1).Map(v => Math.Max(v, 0)),
                    T(x).Conv2dBiasRelu(T(wt), T(b), st, pd, dl, 1),
                    1e-4,
                    1e-5,
                    $"{isa} conv + bias + relu");
            });
        }
    }

    [Fact]
    public void Conv2dOverSeveralImageChunksMatchesNaiveLoops()
    {
        // Small output planes with many channels: the CPU runs these as GEMMs over chunks of images (here,
        // with the budget lowered on this thread, 2 + 2 + 1), so the chunk boundaries and the accumulated
        // filter gradient are checked against loops.
        ChunkedConvolution(Device);
    }

    /// <summary>A convolution over 2 + 2 + 1 image chunks on the CPU (the budget lowered on this thread) against loops.</summary>
    internal static void ChunkedConvolution(Device device)
    {
        var x = Generators.Values([5, 64, 17, 17], 11);
        var w = Generators.Values([8, 64, 3, 3], 12);
        var dy = Generators.Values([5, 8, 15, 15], 13);
        var tx = x.ToTensor(device).RequiresGrad_();
        var tw = w.ToTensor(device).RequiresGrad_();
        Lepton.Backends.Cpu.CpuBackend.ChunkColumnBudgetOverride = 1 << 18;
        try
        {
            var y = tx.Conv2d(tw);
            Check.Close(ConvRef(x, w, null, 1, 0, 1, 1), y, 1e-4, 1e-5, "chunked conv forward");
            (y * dy.ToTensor(device)).Sum().Backward();
        }
        finally
        {
            Lepton.Backends.Cpu.CpuBackend.ChunkColumnBudgetOverride = null;
        }

        var (dx, dw) = ConvGradientsRef(x, w, dy, pad: 0);
        Check.Close(dw, tw.Grad!, 1e-3, 1e-4, "chunked conv filter gradient");
        Check.Close(dx, tx.Grad!, 1e-4, 1e-4, "chunked conv data gradient");
    }

    [Theory]
    [InlineData(1, 0, 1, 1)]
    [InlineData(2, 1, 1, 1)]
    [InlineData(1, 2, 2, 2)]
    [InlineData(1, 0, 1, 1, 1)]
    public void Conv2dGradientsMatchFiniteDifferences(int stride, int pad, int dil, int groups, int kernel = 3)
    {
        var x = Generators.Values([2, 2 * groups, 6, 5], 1);
        var w = Generators.Values([3 * groups, 2, kernel, kernel], 2);
        var b = Generators.Values([3 * groups], 3);
        GradCheck.Run(
            Device, [x, w, b],
            t => t[0].Conv2d(t[1], t[2], (stride, stride), (pad, pad), (dil, dil), groups),
            r => ConvRef(r[0], r[1], r[2], stride, pad, dil, groups));
    }

    [Fact]
    public void PoolingMatchesNaiveLoops()
    {
        var gen =
            from n in Gen.Choose(1, 2)
            from c in Gen.Choose(1, 3)
            from k in Gen.Choose(1, 3)
            from stride in Gen.Choose(1, 3)
            from pad in Gen.Choose(0, k / 2)
            from h in Gen.Choose(k, 9)
            from w in Gen.Choose(k, 9)
            from includePad in Gen.Elements(true, false)
            select (n, c, h, w, k, stride, pad, includePad);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var (n, ch, h, w, k, stride, pad, includePad) = c.Case;
            var x = Generators.Values([n, ch, h, w], c.Seed);
            Check.Close(PoolRef(x, k, stride, pad, max: true, includePad), T(x).MaxPool2d((k, k), (stride, stride), (pad, pad)), 0, 0, "max pool");
            Check.Close(PoolRef(x, k, stride, pad, max: false, includePad), T(x).AvgPool2d((k, k), (stride, stride), (pad, pad), includePad), 1e-6, 1e-5, "avg pool");
        });
    }

    [Theory]
    [InlineData(2, 2, 0)]
    [InlineData(3, 2, 1)]
    [InlineData(3, 1, 1)]
    public void PoolingGradientsMatchFiniteDifferences(int k, int stride, int pad)
    {
        var x = Generators.Values([2, 2, 6, 7], 5);
        GradCheck.Run(Device, [x], t => t[0].MaxPool2d((k, k), (stride, stride), (pad, pad)), r => PoolRef(r[0], k, stride, pad, true, true));
        GradCheck.Run(Device, [x], t => t[0].AvgPool2d((k, k), (stride, stride), (pad, pad)), r => PoolRef(r[0], k, stride, pad, false, true));
        GradCheck.Run(Device, [x], t => t[0].AvgPool2d((k, k), (stride, stride), (pad, pad), countIncludePad: false), r => PoolRef(r[0], k, stride, pad, false, false));
    }

    [Theory]
    [InlineData(26, 6)]
    [InlineData(34, 6)]
    [InlineData(17, 7)]
    [InlineData(13, 13)]
    [InlineData(9, 7)]
    [InlineData(7, 4)]
    public void TwoByTwoMaxPoolingKeepsTheTakeRule(int width, int h)
    {
        // Rows for the CPU's vectorized 2x2 paths (eight outputs at a time, forward overlapping the last
        // eight and backward finishing with scalar windows; fewer than eight in one masked step, the last
        // rows of a plane without sixteen floats after them in scalar windows): small integers make ties,
        // NaNs sit at assorted lanes, and an odd width or height leaves a column or row that no window reads.
        var rng = new Random(width);
        int planes = 3;
        var values = Enumerable.Range(0, planes * h * width).Select(_ => (float)rng.Next(-2, 3)).ToArray();
        foreach (int at in new[] { 1, width + 4, (2 * width) + 9, (3 * width) + 14, (5 * width) - 1, (5 * width) + 3 })
        {
            values[at] = float.NaN;
        }

        var x = Nd.From(values, [1, planes, h, width]);
        var tx = T(values, 1, planes, h, width).RequiresGrad_();
        var y = tx.MaxPool2d((2, 2));
        var expected = PoolRef(x, 2, 2, 0, max: true, includePad: true);
        var actual = y.ToArray();
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.True(float.IsNaN(actual[i]) ? double.IsNaN(expected.Data[i]) : actual[i] == expected.Data[i], $"output {i}: {actual[i]} against {expected.Data[i]}");
        }

        // Each window's gradient lands on its first maximum, or on a NaN when it has one; every other input gets 0.
        int outH = h / 2, outW = width / 2;
        var weights = Enumerable.Range(0, planes * outH * outW).Select(i => (float)(i + 1)).ToArray();
        (y * T(weights, 1, planes, outH, outW)).Sum().Backward();
        var grad = tx.Grad!.ToArray();
        var wanted = new float[values.Length];
        for (int p = 0; p < planes; p++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                for (int ow = 0; ow < outW; ow++)
                {
                    int bestAt = -1;
                    foreach (var (dh, dw) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                    {
                        int at = (p * h * width) + (((2 * oh) + dh) * width) + (2 * ow) + dw;
                        if (bestAt < 0 || values[at] > values[bestAt] || float.IsNaN(values[at]))
                        {
                            bestAt = at;
                        }
                    }

                    wanted[bestAt] = weights[(((p * outH) + oh) * outW) + ow];
                }
            }
        }

        Assert.Equal(wanted, grad);
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    public void MaxPoolingPropagatesNaNAndKeepsTheFirstMaximum(int k, int stride)
    {
        var values = new float[16];
        values[0] = float.NaN;
        values[10] = 7f;
        values[11] = 7f;
        var y = T(values, 1, 1, 4, 4).MaxPool2d((k, k), (stride, stride)).ToArray();
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(7f, y[^1]);
        var x = T(values, 1, 1, 4, 4).RequiresGrad_();
        x.MaxPool2d((k, k), (stride, stride)).Sum().Backward();
        var g = x.Grad!.ToArray();
        Assert.True(g[10] > 0f);
        Assert.Equal(0f, g[11]);
    }

    [Fact]
    public void GlobalAveragePoolingAveragesEachPlane()
    {
        var x = Generators.Values([2, 3, 4, 5], 6);
        GradCheck.Run(Device, [x], t => t[0].GlobalAvgPool2d(), r => r[0].Reduce([2, 3], false, v => v.Average()));
    }

    [Fact]
    public void BadGeometryIsRejectedWithShapes()
    {
        var x = Tensor.Zeros([1, 3, 5, 5], device: Device);
        var e = Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([4, 2, 3, 3], device: Device)));
        Assert.Contains("Conv2d", e.Message);
        Assert.Contains("[1, 3, 5, 5]", e.Message);
        Assert.Contains("[4, 2, 3, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([4, 3, 7, 7], device: Device)));
        Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([4, 3, 6, 6], device: Device), stride: (2, 2)));
        Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([4, 3, 3, 3], device: Device), Tensor.Zeros([3], device: Device)));
        Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([4, 3, 3, 3], device: Device), stride: (0, 1)));
        Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([4, 1, 3, 3], device: Device), groups: 2));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([3, 5, 5], device: Device).MaxPool2d((2, 2)));
        Assert.Throws<ArgumentException>(() => x.MaxPool2d((6, 6)));
        Assert.Throws<ArgumentException>(() => x.MaxPool2d((6, 6), stride: (7, 7)));
        Assert.Throws<ArgumentException>(() => x.AvgPool2d((2, 2), padding: (2, 2)));
    }

    internal static Nd ConvRef(Nd x, Nd w, Nd? b, int stride, int pad, int dil, int groups)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3];
        int k = w.Shape[0], cg = w.Shape[1], r = w.Shape[2], s = w.Shape[3];
        int p = ((h + (2 * pad) - (dil * (r - 1)) - 1) / stride) + 1;
        int q = ((wd + (2 * pad) - (dil * (s - 1)) - 1) / stride) + 1;
        int kg = k / groups;
        var y = new double[n * k * p * q];
        for (int ni = 0; ni < n; ni++)
        {
            for (int ki = 0; ki < k; ki++)
            {
                int g = ki / kg;
                for (int oh = 0; oh < p; oh++)
                {
                    for (int ow = 0; ow < q; ow++)
                    {
                        double sum = b is null ? 0 : b.Data[ki];
                        for (int ci = 0; ci < cg; ci++)
                        {
                            for (int ri = 0; ri < r; ri++)
                            {
                                for (int si = 0; si < s; si++)
                                {
                                    int ih = (oh * stride) - pad + (ri * dil), iw = (ow * stride) - pad + (si * dil);
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < wd)
                                    {
                                        sum += x[ni, (g * cg) + ci, ih, iw] * w[ki, ci, ri, si];
                                    }
                                }
                            }
                        }

                        y[(((((ni * k) + ki) * p) + oh) * q) + ow] = sum;
                    }
                }
            }
        }

        return new Nd(y, [n, k, p, q]);
    }

    /// <summary>The input and filter gradients of a unit-stride, ungrouped convolution with <paramref name="pad"/> on
    /// every side, from its output gradient <paramref name="dy"/>, by loops.</summary>
    internal static (Nd Dx, Nd Dw) ConvGradientsRef(Nd x, Nd w, Nd dy, int pad)
    {
        int h = x.Shape[2], wd = x.Shape[3];
        var dw = new double[w.Length];
        var dx = new double[x.Length];
        for (int n = 0; n < dy.Shape[0]; n++)
        {
            for (int k = 0; k < dy.Shape[1]; k++)
            {
                for (int p = 0; p < dy.Shape[2]; p++)
                {
                    for (int q = 0; q < dy.Shape[3]; q++)
                    {
                        double g = dy[n, k, p, q];
                        for (int c = 0; c < x.Shape[1]; c++)
                        {
                            for (int r = 0; r < w.Shape[2]; r++)
                            {
                                for (int s = 0; s < w.Shape[3]; s++)
                                {
                                    int ih = p + r - pad, iw = q + s - pad;
                                    if ((uint)ih < (uint)h && (uint)iw < (uint)wd)
                                    {
                                        dw[Nd.Flat(w.Shape, [k, c, r, s])] += g * x[n, c, ih, iw];
                                        dx[Nd.Flat(x.Shape, [n, c, ih, iw])] += g * w[k, c, r, s];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        return (new Nd(dx, x.Shape), new Nd(dw, w.Shape));
    }

    internal static Nd PoolRef(Nd x, int k, int stride, int pad, bool max, bool includePad)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int p = ((h + (2 * pad) - k) / stride) + 1, q = ((w + (2 * pad) - k) / stride) + 1;
        var y = new double[n * c * p * q];
        int o = 0;
        for (int ni = 0; ni < n; ni++)
        {
            for (int ci = 0; ci < c; ci++)
            {
                for (int oh = 0; oh < p; oh++)
                {
                    for (int ow = 0; ow < q; ow++)
                    {
                        double acc = max ? double.NegativeInfinity : 0;
                        int count = 0;
                        for (int i = 0; i < k; i++)
                        {
                            for (int j = 0; j < k; j++)
                            {
                                int ih = (oh * stride) - pad + i, iw = (ow * stride) - pad + j;
                                if (ih >= 0 && ih < h && iw >= 0 && iw < w)
                                {
                                    double v = x[ni, ci, ih, iw];
                                    acc = max ? Math.Max(acc, v) : acc + v;
                                    count++;
                                }
                            }
                        }

                        y[o++] = max ? acc : acc / (includePad ? k * k : count);
                    }
                }
            }
        }

        return new Nd(y, [n, c, p, q]);
    }
}

public sealed class ConvPoolTestsCpu : ConvPoolTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class ConvPoolTestsIlgpuCpu : ConvPoolTests
{
    protected override Device Device => Device.IlgpuCpu;
}
