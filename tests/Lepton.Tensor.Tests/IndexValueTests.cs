// Index and label values outside their range are rejected by every op that reads them, on every backend, with the
// op, the position and the value; int64 indices too, even beyond the int32 range, and floating indices never pass.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class IndexValueTests : BackendTests
{
    /// <summary>True where the backend checks indices in its kernels (it names the kernel's op, found at read-back).</summary>
    private bool ChecksInKernels => Device.Backend.ValidatesIndices;

    [Fact]
    public void AnIndexOutOfRangeNamesItsPosition()
    {
        var x = Tensor.Zeros([4, 3], device: Device);
        var e = Assert.Throws<IndexOutOfRangeException>(() => x.IndexSelect(0, Tensor.FromArray(new[] { 0, 7 }, [2], Device)).ToArray());
        Assert.StartsWith("IndexSelect: index 7 at position 1 is out of range for a dimension of size 4", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => Tensor.CrossEntropy(x, Tensor.FromArray(new[] { 0, 1, 2, -1 }, [4], Device)).Item());
        Assert.StartsWith("CrossEntropy: index -1 at position 3 is out of range for a dimension of size 3", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => x.Gather(1, Tensor.FromArray(new[] { 0, 2, 1, 3 }, [4, 1], Device)).ToArray());
        Assert.StartsWith("Gather: index 3 at position 3 is out of range", e.Message);
    }

    [Theory]
    [InlineData(1L << 32)]
    [InlineData((1L << 32) + 1)]
    [InlineData(-(1L << 40))]
    [InlineData(long.MaxValue)]
    public void Int64IndicesPickLikeInt32OnesAndNeverWrapIntoRange(long bad)
    {
        var x = T(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 4, 3);
        Assert.Equal(new[] { 9f, 10f, 11f, 0f, 1f, 2f }, x.IndexSelect(0, Tensor.FromArray(new[] { 3L, 0L }, [2], Device)).ToArray());
        Assert.Equal(new[] { 2f, 3f }, x.Gather(1, Tensor.FromArray(new[] { 2L, 0L, 1L, 1L }, [4, 1], Device)).ToArray()[..2]);

        // 2^32 + 1 would be 1 if narrowed by wrapping; it is out of range, as every value here is.
        var e = Assert.Throws<IndexOutOfRangeException>(() => x.IndexSelect(0, Tensor.FromArray(new[] { 1L, bad }, [2], Device)).ToArray());
        Assert.StartsWith("IndexSelect: index ", e.Message);
        Assert.Contains("at position 1 is out of range for a dimension of size 4", e.Message);
        var labels = Assert.Throws<IndexOutOfRangeException>(() => Tensor.CrossEntropy(Tensor.Zeros([2, 3], device: Device), Tensor.FromArray(new[] { bad, 0L }, [2], Device)).Item());
        Assert.Contains("at position 0 is out of range", labels.Message);
    }

    [Fact]
    public void FloatingIndicesAreRejectedWhateverTheirValues()
    {
        // The element type says what a tensor means (float32 targets of CrossEntropy are probabilities), so indices
        // must be int32 or int64 even when their float values happen to be whole numbers.
        var table = Tensor.Zeros([3, 2], device: Device);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Embedding(Tensor.Zeros([2], device: Device), table));
        Assert.StartsWith("Embedding: the index must be an int32 or int64 tensor, got float32", e.Message);
        e = Assert.Throws<ArgumentException>(() => table.Gather(1, Tensor.Zeros([3, 1], DType.Float64, Device)));
        Assert.StartsWith("Gather: the index must be an int32 or int64 tensor, got float64 [3, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => table.IndexSelect(0, Tensor.Zeros([1], DType.Float16, Device)));
        Assert.StartsWith("IndexSelect: the index must be an int32 or int64 tensor, got float16", e.Message);
        Assert.Equal(new[] { 5f, 6f }, Tensor.Embedding(Tensor.FromArray(new[] { 2L }, [1], Device), T([1f, 2f, 3f, 4f, 5f, 6f], 3, 2)).Reshape(-1).ToArray());
    }

    [Fact]
    public void ValuesOfEveryTypeArePickedExactly()
    {
        var index = Tensor.FromArray(new[] { 2, 0 }, [2], Device);
        var big = Tensor.FromArray(new[] { 1L, (1L << 53) + 1, long.MinValue }, [3], Device);
        Assert.Equal(new[] { long.MinValue, 1L }, big.IndexSelect(0, index).ToArray<long>());
        var half = Tensor.FromArray(new[] { (Half)0.1, (Half)2, (Half)(-3) }, [3], Device);
        Assert.Equal(new[] { (Half)(-3), (Half)0.1 }, half.IndexSelect(0, index).ToArray<Half>());
        var bytes = Tensor.FromArray(new sbyte[] { -1, 7, -128, 5, 6, 127 }, [2, 3], Device);
        Assert.Equal(new sbyte[] { -128, -1, 127, 5 }, bytes.Gather(1, Tensor.FromArray(new[] { 2, 0, 2, 0 }, [2, 2], Device)).ToArray<sbyte>());
        var doubles = Tensor.FromArray(new[] { 0.1, 0.2, 0.3, 0.4 }, [2, 2], Device);
        Assert.Equal(new[] { 0.2, 0.1, 0.3, 0.3 }, doubles.Gather(1, Tensor.FromArray(new[] { 1L, 0L, 0L, 0L }, [2, 2], Device)).ToArray<double>());
        Assert.Equal(ChecksInKernels, Device.Backend.ValidatesIndices);
    }
}

public sealed class IndexValueTestsCpu : IndexValueTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class IndexValueTestsIlgpuCpu : IndexValueTests
{
    protected override Device Device => Device.IlgpuCpu;
}
