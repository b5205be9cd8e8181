// Creating tensors and reading them back: constants, ranges, arrays of any rank, seeded random
// numbers, Item, PyTorch-style printing, and bad input.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class CreationTests : BackendTests
{
    [Fact]
    public void ConstantsAndRanges()
    {
        Assert.Equal(new float[6], Tensor.Zeros([2, 3], device: Device).ToArray());
        Assert.Equal(Enumerable.Repeat(1f, 4), Tensor.Ones([4], device: Device).ToArray());
        Assert.Equal(new[] { 2.5f, 2.5f }, Tensor.Full([2], 2.5f, device: Device).ToArray());
        Assert.Equal(new[] { 0f, 1f, 2f, 3f, 4f }, Tensor.Arange(5, device: Device).ToArray());
        Assert.Equal(new[] { 1f, 1.5f, 2f, 2.5f }, Tensor.Arange(1f, 3f, 0.5f, device: Device).ToArray());
        Assert.Equal(new[] { 5f, 3f, 1f }, Tensor.Arange(5f, 0f, -2f, device: Device).ToArray());
        Assert.Equal(DType.Int32, Tensor.Arange(3, DType.Int32, Device).DType);
        Assert.Equal(7f, Tensor.Scalar(7f, Device).Item());
        Assert.Equal(0, Tensor.Scalar(7f, Device).Rank);
        Assert.Throws<ArgumentException>(() => Tensor.Arange(0f, 1f, 0f));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, -1]));
    }

    [Fact]
    public void FromArrayOfAnyRankKeepsRowMajorOrder()
    {
        var x = Tensor.FromArray(new float[,,] { { { 1, 2 }, { 3, 4 } }, { { 5, 6 }, { 7, 8 } } }, Device);
        Assert.Equal(new[] { 2, 2, 2 }, x.Shape);
        Assert.Equal(6f, x[1, 0, 1].Item());
        var ints = Tensor.FromArray(new[,] { { 1, 2, 3 } }, Device);
        Assert.Equal(DType.Int32, ints.DType);
        Assert.Equal(new[] { 1, 3 }, ints.Shape);
        Assert.Equal(new[] { 2.5f }, Tensor.FromArray(new[] { 2.5 }, Device).ToArray());
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new[] { 1f, 2f, 3f }, [2, 2]));
        Assert.Contains("[2, 2]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.FromArray(new[] { "a" }, Device));
    }

    [Fact]
    public void SeededRandomIsReproducibleAndHasTheRightDistribution()
    {
        var a = Tensor.Rand([10000], new Generator(42), Device).ToArray();
        Assert.Equal(a, Tensor.Rand([10000], new Generator(42), Device).ToArray());
        Assert.All(a, v => Assert.InRange(v, 0f, 0.99999994f));
        Assert.InRange(a.Average(), 0.48, 0.52);
        var g = new Generator(1);
        var first = Tensor.Rand([4], g, Device).ToArray();
        var second = Tensor.Rand([4], g, Device).ToArray();
        Assert.NotEqual(first, second);
        var n = Tensor.RandN([20001], new Generator(3), Device).ToArray();
        double mean = n.Average(), std = Math.Sqrt(n.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, -0.03, 0.03);
        Assert.InRange(std, 0.97, 1.03);
        var r = Tensor.RandInt(-2, 3, [1000], new Generator(5), Device);
        Assert.Equal(DType.Int32, r.DType);
        Assert.Equal(new[] { -2, -1, 0, 1, 2 }, r.ToInt32Array().Distinct().Order());
        Assert.Throws<ArgumentException>(() => Tensor.RandInt(3, 3, [1]));
    }

    [Fact]
    public void ItemNeedsOneElement()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.Zeros([2], device: Device).Item());
        Assert.Contains("[2]", e.Message);
        Assert.Equal(3f, Tensor.Full([1, 1], 3f, device: Device).Item());
    }

    [Fact]
    public void PrintsLikePyTorch()
    {
        Assert.Equal("tensor(3.5000)", Tensor.Scalar(3.5f, Device).ToString());
        Assert.Equal("tensor([[0.5000, 1.0000],\n        [2.0000, 3.0000]])", T([0.5f, 1f, 2f, 3f], 2, 2).ToString());
        Assert.Equal("tensor([1, 2, 3], dtype=int32)", Tensor.FromArray(new[] { 1, 2, 3 }, [3], Device).ToString());
        Assert.Equal("tensor([], size=(0, 3))", Tensor.Zeros([0, 3], device: Device).ToString());
        Assert.Equal("tensor([   0.,    1.,    2., ...,  998.,  999., 1000.])", Tensor.Arange(0f, 1001f, device: Device).ToString());
        Assert.Equal("tensor(<disposed>)", Disposed().ToString());
    }

    private Tensor Disposed()
    {
        var t = Tensor.Zeros([1], device: Device);
        t.Dispose();
        return t;
    }
}

public sealed class CreationTestsCpu : CreationTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class CreationTestsIlgpuCpu : CreationTests
{
    protected override Device Device => Device.IlgpuCpu;
}
