// Conv2d with padding per side, and max/avg pooling with padding per side, ceil mode, dilation (max)
// and returned indices, against float64 loops on FsCheck geometries, PyTorch's values, finite differences.
using FsCheck.Fluent;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class PaddingCeilDilationTests : BackendTests
{
    [Fact]
    public void Conv2dWithPaddingPerSideMatchesLoops()
    {
        var gen =
            from n in Gen.Choose(1, 2)
            from groups in Gen.Elements(1, 2)
            from r in Gen.Choose(1, 3)
            from s in Gen.Choose(1, 3)
            from stride in Gen.Choose(1, 2)
            from dil in Gen.Choose(1, 2)
            from pads in Gen.ArrayOf(Gen.Choose(0, 3), 4)
            from h in Gen.Choose(((r - 1) * dil) + 1, 7)
            from w in Gen.Choose(((s - 1) * dil) + 1, 7)
            select (n, C: 2 * groups, h, w, K: 2 * groups, r, s, stride, Pad: new Padding2d(pads[0], pads[1], pads[2], pads[3]), dil, groups);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var g = c.Case;
            var x = Generators.Values([g.n, g.C, g.h, g.w], c.Seed);
            var w = Generators.Values([g.K, 2, g.r, g.s], c.Seed + 1);
            var y = T(x).Conv2d(T(w), null, (g.stride, g.stride), g.Pad, (g.dil, g.dil), g.groups);
            Check.Close(ConvRef(x, w, g.stride, g.Pad, g.dil, g.groups), y, 1e-5, 1e-5, $"conv {g}");
        }, 40);
    }

    [Theory]
    [InlineData(0, 2, 1, 0, 1)]
    [InlineData(3, 0, 0, 2, 2)]
    [InlineData(0, 1, 0, 1, 1)]
    public void Conv2dWithPaddingPerSideGradientsMatchFiniteDifferences(int top, int bottom, int left, int right, int kernel)
    {
        var pad = new Padding2d(top, bottom, left, right);
        var x = Generators.Values([2, 2, 5, 4], 1);
        var w = Generators.Values([3, 2, kernel, kernel], 2);
        GradCheck.Run(Device, [x, w], t => t[0].Conv2d(t[1], padding: pad), r => ConvRef(r[0], r[1], 1, pad, 1, 1));
    }

    [Fact]
    public void PoolingWithPaddingPerSideCeilModeAndDilationMatchesLoops()
    {
        var gen =
            from k in Gen.Choose(1, 4)
            from stride in Gen.Choose(1, 3)
            from dil in Gen.Choose(1, k == 1 ? 3 : Math.Min(3, 8 / (k - 1))) // the window spans at most 9
            from pads in Gen.ArrayOf(Gen.Choose(0, k / 2), 4)
            from ceil in Gen.Elements(true, false)
            from includePad in Gen.Elements(true, false)
            from h in Gen.Choose(((k - 1) * dil) + 1, 9)
            from w in Gen.Choose(((k - 1) * dil) + 1, 9)
            select (h, w, k, stride, dil, Pad: new Padding2d(pads[0], pads[1], pads[2], pads[3]), ceil, includePad);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var g = c.Case;
            var x = Generators.Values([2, 2, g.h, g.w], c.Seed);
            var (values, indices) = T(x).MaxPool2d((g.k, g.k), returnIndices: true, (g.stride, g.stride), g.Pad, (g.dil, g.dil), g.ceil);
            var (expected, expectedIndices) = PoolRef(x, g.k, g.stride, g.Pad, g.dil, g.ceil, max: true, includePad: true);
            Check.Close(expected, values, 0, 0, $"max pool {g}");
            Assert.Equal(DType.Int64, indices.DType);
            Assert.Equal(expectedIndices, indices.ToInt32Array());
            Check.Close(expected, T(x).MaxPool2d((g.k, g.k), (g.stride, g.stride), g.Pad, (g.dil, g.dil), g.ceil), 0, 0, $"max pool values only {g}");
            var average = PoolRef(x, g.k, g.stride, g.Pad, 1, g.ceil, max: false, g.includePad).Values;
            Check.Close(average, T(x).AvgPool2d((g.k, g.k), (g.stride, g.stride), g.Pad, g.includePad, g.ceil), 1e-6, 1e-5, $"avg pool {g}");
        }, 60);
    }

    [Fact]
    public void CeilModeMatchesPyTorch()
    {
        // torch.arange(1., 26.).reshape(1, 1, 5, 5) pooled by 2x2 windows with stride 2 and ceil_mode=True.
        var x = T([.. Enumerable.Range(1, 25).Select(v => (float)v)], 1, 1, 5, 5);
        Assert.Equal([7f, 9, 10, 17, 19, 20, 22, 24, 25], x.MaxPool2d((2, 2), ceilMode: true).ToArray());
        Assert.Equal([4f, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25], x.AvgPool2d((2, 2), ceilMode: true).ToArray());

        // padding=1: the fourth window would start in the bottom padding, so it is dropped (3x3, not 4x4).
        Assert.Equal([1, 1, 3, 3], x.MaxPool2d((2, 2), padding: (1, 1), ceilMode: true).Shape);
        Assert.Equal([1f, 3, 5, 11, 13, 15, 21, 23, 25], x.MaxPool2d((2, 2), padding: (1, 1), ceilMode: true).ToArray());
        var six = Tensor.Zeros([1, 1, 6, 6], device: Device);
        Assert.Equal([1, 1, 3, 3], six.AvgPool2d((3, 3), (2, 2), ceilMode: true).Shape);
        Assert.Equal([1, 1, 2, 2], six.AvgPool2d((3, 3), (2, 2)).Shape);
    }

    [Fact]
    public void ReturnedIndicesMatchPyTorch()
    {
        // torch.nn.functional.max_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 2, return_indices=True)
        var x = T([.. Enumerable.Range(0, 16).Select(v => (float)v)], 1, 1, 4, 4);
        var (values, indices) = x.MaxPool2d((2, 2), returnIndices: true);
        Assert.Equal([5f, 7, 13, 15], values.ToArray());
        Assert.Equal([5, 7, 13, 15], indices.ToInt32Array());

        // Dilation 2 with a 2x2 kernel and stride 1 on 4x4: the first window's taps are 0, 2, 8, 10; each maximum is the last tap.
        var (dilated, where) = x.MaxPool2d((2, 2), returnIndices: true, stride: (1, 1), dilation: (2, 2));
        Assert.Equal([10f, 11, 14, 15], dilated.ToArray());
        Assert.Equal([10, 11, 14, 15], where.ToInt32Array());
        var e = Assert.Throws<ArgumentException>(() => x.MaxPool2d((2, 2), returnIndices: false));
        Assert.Contains("MaxPool2d", e.Message);
        Assert.Contains("returnIndices", e.Message);
    }

    [Theory]
    [InlineData(3, 2, 1, 0, 0, 1, 1, true)]
    [InlineData(2, 2, 0, 1, 1, 0, 1, true)]
    [InlineData(2, 1, 1, 1, 0, 1, 2, false)]
    [InlineData(3, 2, 0, 1, 1, 1, 2, true)]
    public void PoolingGradientsMatchFiniteDifferences(int k, int stride, int top, int bottom, int left, int right, int dil, bool ceil)
    {
        var pad = new Padding2d(top, bottom, left, right);
        var x = Generators.Values([2, 2, 7, 6], 5);
        GradCheck.Run(Device, [x], t => t[0].MaxPool2d((k, k), (stride, stride), pad, (dil, dil), ceil), r => PoolRef(r[0], k, stride, pad, dil, ceil, true, true).Values);
        GradCheck.Run(Device, [x], t => t[0].AvgPool2d((k, k), (stride, stride), pad, true, ceil), r => PoolRef(r[0], k, stride, pad, 1, ceil, false, true).Values);
        GradCheck.Run(Device, [x], t => t[0].AvgPool2d((k, k), (stride, stride), pad, false, ceil), r => PoolRef(r[0], k, stride, pad, 1, ceil, false, false).Values);
    }

    [Fact]
    public void BadPaddingIsRejectedNamingTheOp()
    {
        var x = Tensor.Zeros([1, 1, 6, 6], device: Device);
        var e = Assert.Throws<ArgumentException>(() => x.MaxPool2d((2, 2), padding: new Padding2d(0, 2, 0, 0)));
        Assert.Contains("MaxPool2d", e.Message);
        Assert.Contains("bottom 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.AvgPool2d((3, 3), padding: new Padding2d(0, 0, -1, 0)));
        Assert.Contains("AvgPool2d", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([1, 1, 3, 3], device: Device), padding: new Padding2d(1, -1, 0, 0)));
        Assert.Contains("Conv2d", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.MaxPool2d((3, 3), dilation: (0, 1)));
        Assert.Contains("dilation", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.MaxPool2d((3, 3), dilation: (3, 3)));
        Assert.Contains("spans 7x7", e.Message);
    }

    /// <summary>Convolution by loops with padding per side.</summary>
    internal static Nd ConvRef(Nd x, Nd w, int stride, Padding2d pad, int dil, int groups)
    {
        int n = x.Shape[0], h = x.Shape[2], wd = x.Shape[3];
        int k = w.Shape[0], cg = w.Shape[1], r = w.Shape[2], s = w.Shape[3];
        int p = ((h + pad.Top + pad.Bottom - (dil * (r - 1)) - 1) / stride) + 1;
        int q = ((wd + pad.Left + pad.Right - (dil * (s - 1)) - 1) / stride) + 1;
        var y = new double[n * k * p * q];
        int o = 0;
        for (int ni = 0; ni < n; ni++)
        {
            for (int ki = 0; ki < k; ki++)
            {
                int g = ki / (k / groups);
                for (int oh = 0; oh < p; oh++)
                {
                    for (int ow = 0; ow < q; ow++)
                    {
                        double sum = 0;
                        for (int ci = 0; ci < cg; ci++)
                        {
                            for (int ri = 0; ri < r; ri++)
                            {
                                for (int si = 0; si < s; si++)
                                {
                                    int ih = (oh * stride) - pad.Top + (ri * dil), iw = (ow * stride) - pad.Left + (si * dil);
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < wd)
                                    {
                                        sum += x[ni, (g * cg) + ci, ih, iw] * w[ki, ci, ri, si];
                                    }
                                }
                            }
                        }

                        y[o++] = sum;
                    }
                }
            }
        }

        return new Nd(y, [n, k, p, q]);
    }

    /// <summary>
    /// Pooling by loops as PyTorch defines it: output size with ceil mode and its last-window rule; max over the in-image
    /// taps (index of the first maximum in the H*W plane, -1 when none); average divided by the window clipped at the
    /// bottom/right padding (includePad) or by the in-image count.
    /// </summary>
    internal static (Nd Values, int[] Indices) PoolRef(Nd x, int k, int stride, Padding2d pad, int dil, bool ceil, bool max, bool includePad)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int p = Outputs(h, pad.Top, pad.Bottom), q = Outputs(w, pad.Left, pad.Right);
        var y = new double[n * c * p * q];
        var indices = new int[y.Length];
        int o = 0;
        for (int ni = 0; ni < n; ni++)
        {
            for (int ci = 0; ci < c; ci++)
            {
                for (int oh = 0; oh < p; oh++)
                {
                    for (int ow = 0; ow < q; ow++)
                    {
                        int h0 = (oh * stride) - pad.Top, w0 = (ow * stride) - pad.Left;
                        double acc = max ? double.NegativeInfinity : 0;
                        int count = 0, best = -1;
                        for (int i = 0; i < k; i++)
                        {
                            for (int j = 0; j < k; j++)
                            {
                                int ih = h0 + (i * dil), iw = w0 + (j * dil);
                                if (ih >= 0 && ih < h && iw >= 0 && iw < w)
                                {
                                    double v = x[ni, ci, ih, iw];
                                    if (max && (best < 0 || v > acc))
                                    {
                                        best = (ih * w) + iw;
                                    }

                                    acc = max ? Math.Max(acc, v) : acc + v;
                                    count++;
                                }
                            }
                        }

                        int divisor = includePad ? (Math.Min(h0 + k, h + pad.Bottom) - h0) * (Math.Min(w0 + k, w + pad.Right) - w0) : count;
                        indices[o] = best;
                        y[o++] = max ? acc : acc / divisor;
                    }
                }
            }
        }

        return (new Nd(y, [n, c, p, q]), indices);

        int Outputs(int size, int before, int after)
        {
            int span = size + before + after - (dil * (k - 1)) - 1;
            int outputs = (int)(ceil ? Math.Ceiling(span / (double)stride) : Math.Floor(span / (double)stride)) + 1;
            return ceil && (outputs - 1) * stride >= size + before ? outputs - 1 : outputs;
        }
    }
}

public sealed class PaddingCeilDilationTestsCpu : PaddingCeilDilationTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class PaddingCeilDilationTestsIlgpuCpu : PaddingCeilDilationTests
{
    protected override Device Device => Device.IlgpuCpu;
}
