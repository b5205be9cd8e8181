// Index and label values that are not whole numbers (NaN, infinities, 2.5) are rejected by every op
// that reads them, on every backend, with the op, the position and the value; out-of-range ones too.
using System.Globalization;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class IndexValueTests : BackendTests
{
    public static TheoryData<float> NotWholeNumbers => [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 2.5f, -0.5f];

    /// <summary>True where the backend checks indices in its kernels (it names the kernel's op, found at read-back).</summary>
    private bool ChecksInKernels => Device.Backend.ValidatesIndices;

    [Theory]
    [MemberData(nameof(NotWholeNumbers))]
    public void GatherAndIndexSelectRejectAValueThatIsNotAWholeNumber(float bad)
    {
        var x = T(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 4, 3);
        var e = Assert.Throws<ArgumentException>(() => x.IndexSelect(0, Indices([0, 1, bad], [3])).ToArray());
        AssertNames(e, "IndexSelect", bad, position: 2);

        e = Assert.Throws<ArgumentException>(() => x.Gather(1, Indices([0, 2, 1, bad], [4, 1])).ToArray());
        AssertNames(e, "Gather", bad, position: 3);
    }

    [Fact]
    public void ANanIndexNoLongerPicksRowZero()
    {
        var table = T([1f, 2f, 3f, 4f, 5f, 6f], 3, 2);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Embedding(Indices([2, float.NaN], [1, 2]), table).ToArray());
        AssertNames(e, ChecksInKernels ? "IndexSelect" : "Embedding", float.NaN, position: 1);

        var logits = Tensor.Zeros([3, 4], device: Device);
        e = Assert.Throws<ArgumentException>(() => Tensor.CrossEntropy(logits, Indices([0, 3, float.NaN], [3])).Item());
        AssertNames(e, "CrossEntropy", float.NaN, position: 2);
        e = Assert.Throws<ArgumentException>(() => Tensor.NllLoss(logits.LogSoftmax(1), Indices([float.NaN, 0, 1], [3])).Item());
        AssertNames(e, ChecksInKernels ? "Gather" : "NllLoss", float.NaN, position: 0);
    }

    [Fact]
    public void AnIndexOutOfRangeNamesItsPosition()
    {
        var x = Tensor.Zeros([4, 3], device: Device);
        var e = Assert.Throws<IndexOutOfRangeException>(() => x.IndexSelect(0, Indices([0, 7], [2])).ToArray());
        Assert.StartsWith("IndexSelect: index 7 at position 1 is out of range for a dimension of size 4", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => Tensor.CrossEntropy(x, Indices([0, 1, 2, -1], [4])).Item());
        Assert.StartsWith("CrossEntropy: index -1 at position 3 is out of range for a dimension of size 3", e.Message);
    }

    [Fact]
    public void Float32IndicesAreRejectedWhateverTheirValues()
    {
        // The element type says what a tensor means (float32 targets of CrossEntropy are probabilities), so indices
        // must be int32 even when their float values happen to be whole numbers.
        var table = Tensor.Zeros([3, 2], device: Device);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Embedding(Tensor.Zeros([2], device: Device), table));
        Assert.StartsWith("Embedding: the index must be an int32 tensor, got float32", e.Message);
        e = Assert.Throws<ArgumentException>(() => table.Gather(1, Tensor.Zeros([3, 1], device: Device)));
        Assert.StartsWith("Gather: the index must be an int32 tensor", e.Message);
        Assert.Equal(new[] { 5f, 6f }, Tensor.Embedding(Indices([2], [1]), T([1f, 2f, 3f, 4f, 5f, 6f], 3, 2)).Reshape(-1).ToArray());
    }

    private static void AssertNames(Exception e, string op, float value, int position)
    {
        Assert.StartsWith($"{op}: ", e.Message);
        Assert.Contains($" {value.ToString(CultureInfo.InvariantCulture)} at position {position} is not a whole number", e.Message);
    }

    /// <summary>
    /// An int32 tensor holding exactly <paramref name="values"/>, as arithmetic can leave one: FromArray truncates toward
    /// zero (keeping NaN and infinities), so twice each value is stored and halved in place.
    /// </summary>
    private Tensor Indices(float[] values, int[] shape) =>
        Tensor.FromArray(Array.ConvertAll(values, v => v * 2), shape, DType.Int32, Device).Mul_(0.5f);
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
