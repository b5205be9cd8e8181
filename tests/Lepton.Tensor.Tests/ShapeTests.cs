// Views and shape ops: reshape (-1), flatten, squeeze/unsqueeze, transpose/permute, expand,
// slicing and indexing, index-select/gather, concat/stack. Checks values, that views share
// storage instead of copying, gradients through views, and bad input.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class ShapeTests : BackendTests
{
    [Fact]
    public void ReshapeInfersOneDimensionAndIsAView()
    {
        var x = Tensor.Arange(24, device: Device);
        var y = x.Reshape(2, -1, 4);
        Assert.Equal(new[] { 2, 3, 4 }, y.Shape);
        Assert.Same(x.Storage, y.Storage);
        Assert.Equal(new[] { 24 }, y.Flatten().Shape);
        Assert.Equal(new[] { 2, 12 }, y.Flatten(1).Shape);
        var e = Assert.Throws<ArgumentException>(() => x.Reshape(5, -1));
        Assert.Contains("[24]", e.Message);
        Assert.Throws<ArgumentException>(() => x.Reshape(-1, -1));
    }

    [Fact]
    public void SqueezeUnsqueezeRoundTrip()
    {
        var x = Tensor.Zeros([1, 3, 1, 2], device: Device);
        Assert.Equal(new[] { 3, 2 }, x.Squeeze().Shape);
        Assert.Equal(new[] { 3, 1, 2 }, x.Squeeze(0).Shape);
        Assert.Equal(new[] { 1, 3, 1, 2 }, x.Squeeze(1).Shape);
        Assert.Equal(new[] { 3, 2, 1 }, x.Squeeze().Unsqueeze(-1).Shape);
        Assert.Equal(new[] { 1, 3, 2 }, x.Squeeze().Unsqueeze(0).Shape);
    }

    [Fact]
    public void PermuteMatchesReferenceAndReshapeOfPermutedCopies()
    {
        Generators.ForAll(Generators.Shape(1, 4).Seeded(), c =>
        {
            var x = Generators.Values(c.Case, c.Seed);
            var order = Enumerable.Range(0, c.Case.Length).OrderBy(i => (i * 7919) ^ c.Seed).ToArray();
            var p = T(x).Permute(order);
            Check.Close(x.Permute(order), p, 0, 0, "permute");
            Check.Close(x.Permute(order).Reshape([x.Length]), p.Reshape(-1), 0, 0, "reshape of permuted");
        });
    }

    [Fact]
    public void ExpandIsAStrideZeroViewAndItsGradientSums()
    {
        var x = T([1f, 2f, 3f], 3, 1);
        var e = x.Expand(2, 3, 4);
        Assert.Same(x.Storage, e.Storage);
        Assert.Equal(0, e.Strides[0]);
        Assert.Equal(new[] { 2, 3, 4 }, e.Shape);
        Assert.Equal(2f, e[1, 1, 3].Item());
        GradCheck.Run(Device, [Generators.Values([3, 1], 1)], t => t[0].Expand(2, 3, 4) * 1f, r => Nd.Zip(r[0], new Nd(new double[24], [2, 3, 4]), (a, _) => a));
        Assert.Throws<ArgumentException>(() => x.Expand(2, 4));
        Assert.Throws<ArgumentException>(() => x.Expand(3));
    }

    [Fact]
    public void IndexingWithIntsAndRangesMatchesReference()
    {
        var x = Generators.Values([4, 5, 6], 3);
        var t = T(x);
        Assert.Equal((float)x[2, 3, 4], t[2, 3, 4].Item());
        Assert.Equal(new[] { 5, 6 }, t[1].Shape);
        Assert.Equal((float)x[3, 0, 0], t[^1][0, 0].Item());
        var block = t[1..3, .., 2..5];
        Assert.Equal(new[] { 2, 5, 3 }, block.Shape);
        Assert.Same(t.Storage, block.Storage);
        var expected = new double[2 * 5 * 3];
        int k = 0;
        for (int i = 1; i < 3; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                for (int l = 2; l < 5; l++)
                {
                    expected[k++] = x[i, j, l];
                }
            }
        }

        Check.Close(expected, block.ToArray(), 0, 0, "block");
        Assert.Throws<IndexOutOfRangeException>(() => t[4]);
        Assert.Throws<ArgumentException>(() => t[0, 0, 0, 0]);
    }

    [Fact]
    public void SliceWithStepAndNarrowAndSelect()
    {
        var x = Tensor.Arange(10, device: Device);
        Assert.Equal(new[] { 1f, 4f, 7f }, x.Slice(0, 1, 10, 3).ToArray());
        Assert.Equal(new[] { 7f, 8f }, x.Slice(0, -3, -1).ToArray());
        Assert.Equal(new[] { 2f, 3f, 4f }, x.Narrow(0, 2, 3).ToArray());
        var m = Tensor.Arange(12, device: Device).Reshape(3, 4);
        Assert.Equal(new[] { 1f, 5f, 9f }, m.Select(1, 1).ToArray());
        Assert.Throws<ArgumentException>(() => x.Narrow(0, 8, 3));
        Assert.Throws<ArgumentException>(() => x.Slice(0, 0, 5, 0));
    }

    [Fact]
    public void GradientsFlowThroughViewsAndIndexing()
    {
        var x = Generators.Values([3, 4], 2);
        GradCheck.Run(Device, [x], t => t[0][1..3, 1..].T * 2f, r => Slice(r[0], 1, 3, 1, 4).Permute([1, 0]).Map(v => v * 2));
        GradCheck.Run(Device, [x], t => t[0].Slice(1, 0, 4, 2).Reshape(-1), r => Slice(r[0], 0, 3, 0, 4).Reshape([12]).Map(v => v) is var all
            ? new Nd([.. all.Data.Where((_, i) => i % 2 == 0)], [6]) : all);
        GradCheck.Run(Device, [x], t => t[0].Select(0, 2), r => new Nd([r[0][2, 0], r[0][2, 1], r[0][2, 2], r[0][2, 3]], [4]));
    }

    [Fact]
    public void IndexSelectAndGatherMatchReferenceAndBackpropagate()
    {
        var x = Generators.Values([4, 3], 5);
        var idx = Tensor.FromArray(new[] { 3, 0, 3 }, [3], Device);
        var rows = T(x).IndexSelect(0, idx);
        Check.Close([.. new[] { 3, 0, 3 }.SelectMany(r => Enumerable.Range(0, 3).Select(c => x[r, c]))], rows.ToArray(), 0, 0, "index_select");
        GradCheck.Run(Device, [x], t => t[0].IndexSelect(0, idx), r => new Nd([.. new[] { 3, 0, 3 }.SelectMany(i => Enumerable.Range(0, 3).Select(c => r[0][i, c]))], [3, 3]));

        var g = Tensor.FromArray(new[] { 2, 0, 1, 1 }, [4, 1], Device);
        var picked = T(x).Gather(1, g);
        Assert.Equal(new[] { (float)x[0, 2], (float)x[1, 0], (float)x[2, 1], (float)x[3, 1] }, picked.Reshape(-1).ToArray());
        GradCheck.Run(Device, [x], t => t[0].Gather(1, g), r => new Nd([r[0][0, 2], r[0][1, 0], r[0][2, 1], r[0][3, 1]], [4, 1]));

        // A bad index is reported by the op on the CPU and, on a GPU backend, when the result is read back.
        var bad = Assert.Throws<IndexOutOfRangeException>(() => T(x).IndexSelect(0, Tensor.FromArray(new[] { 4 }, [1], Device)).ToArray());
        Assert.Contains("IndexSelect: index 4", bad.Message);
        bad = Assert.Throws<IndexOutOfRangeException>(() => T(x).Gather(1, Tensor.FromArray(new[] { 0, 3, 1, -1 }, [4, 1], Device)).ToArray());
        Assert.Contains("Gather", bad.Message);
        Assert.Equal(new[] { (float)x[0, 2] }, T(x).Gather(1, Tensor.FromArray(new[] { 2, 0, 1, 1 }, [4, 1], Device))[0].ToArray());
        var e = Assert.Throws<ArgumentException>(() => T(x).IndexSelect(0, Tensor.Zeros([2], device: Device)));
        Assert.Contains("int32", e.Message);
    }

    [Fact]
    public void ConcatAndStackMatchReferenceAndSplitGradients()
    {
        var a = Generators.Values([2, 3], 1);
        var b = Generators.Values([2, 2], 2);
        var c = Tensor.Concat([T(a), T(b)], axis: 1);
        Assert.Equal(new[] { 2, 5 }, c.Shape);
        Assert.Equal(new[] { (float)a[1, 2], (float)b[1, 0] }, new[] { c[1, 2].Item(), c[1, 3].Item() });
        GradCheck.Run(Device, [a, b], t => Tensor.Concat(t, 1), r => ConcatRef(r[0], r[1]));
        var s = Tensor.Stack([T(a), T(a)], axis: 1);
        Assert.Equal(new[] { 2, 2, 3 }, s.Shape);
        Assert.Equal((float)a[1, 2], s[1, 1, 2].Item());
        var e = Assert.Throws<ArgumentException>(() => Tensor.Concat([T(a), T(b)], axis: 0));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[2, 2]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Stack([T(a), T(b)]));
    }

    [Fact]
    public void ReshapeOfNonContiguousViewCopiesOnlyThen()
    {
        var x = Tensor.Arange(6, device: Device).Reshape(2, 3);
        var t = x.T;
        Assert.Same(x.Storage, t.Storage);
        var flat = t.Reshape(-1);
        Assert.NotSame(x.Storage, flat.Storage);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, flat.ToArray());
    }

    private static Nd Slice(Nd x, int r0, int r1, int c0, int c1)
    {
        var data = new List<double>();
        for (int i = r0; i < r1; i++)
        {
            for (int j = c0; j < c1; j++)
            {
                data.Add(x[i, j]);
            }
        }

        return new Nd([.. data], [r1 - r0, c1 - c0]);
    }

    private static Nd ConcatRef(Nd a, Nd b)
    {
        var data = new List<double>();
        for (int i = 0; i < a.Shape[0]; i++)
        {
            data.AddRange(Enumerable.Range(0, a.Shape[1]).Select(j => a[i, j]));
            data.AddRange(Enumerable.Range(0, b.Shape[1]).Select(j => b[i, j]));
        }

        return new Nd([.. data], [a.Shape[0], a.Shape[1] + b.Shape[1]]);
    }
}

public sealed class ShapeTestsCpu : ShapeTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class ShapeTestsIlgpuCpu : ShapeTests
{
    protected override Device Device => Device.IlgpuCpu;
}
