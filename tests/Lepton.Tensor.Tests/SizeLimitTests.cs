// Sizes from user input computed in 64 bits: creation ops, views, joins, products, convolution and
// pooling reject negative sizes and element counts a buffer cannot hold, naming the op and the shapes.
namespace Lepton.Tests;

public sealed class SizeLimitTests
{
    /// <summary>2^64 elements: the product wraps to 0 in 64-bit arithmetic and to 0 in 32-bit.</summary>
    private static readonly int[] Huge = [65536, 65536, 65536, 65536];

    /// <summary>46341^2 elements: just past int.MaxValue.</summary>
    private const int PastSqrtOfIntMax = 46341;

    public static TheoryData<string> CreationOps => ["Zeros", "Ones", "Full", "Rand", "Uniform", "RandN", "RandInt", "FromArray"];

    private static Tensor Create(string op, int[] shape) => op switch
    {
        "Zeros" => Tensor.Zeros(shape),
        "Ones" => Tensor.Ones(shape),
        "Full" => Tensor.Full(shape, 2f),
        "Rand" => Tensor.Rand(shape, new Generator(1)),
        "Uniform" => Tensor.Uniform(shape, -1f, 1f, new Generator(1)),
        "RandN" => Tensor.RandN(shape, new Generator(1)),
        "RandInt" => Tensor.RandInt(0, 3, shape, new Generator(1)),
        _ => Tensor.FromArray(new float[1], shape),
    };

    [Theory]
    [MemberData(nameof(CreationOps))]
    public void CreationRejectsCountsBeyondABufferNamingTheOp(string op)
    {
        var e = Assert.Throws<ArgumentException>(() => Create(op, Huge));
        Assert.StartsWith(op + ": shape [65536, 65536, 65536, 65536]", e.Message);
        Assert.Contains("18446744073709551616 elements", e.Message);
        Assert.Contains(int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);

        e = Assert.Throws<ArgumentException>(() => Create(op, [PastSqrtOfIntMax, PastSqrtOfIntMax]));
        Assert.StartsWith(op + ": shape [46341, 46341] has 2147488281 elements", e.Message);

        e = Assert.Throws<ArgumentException>(() => Create(op, [2, -3]));
        Assert.StartsWith(op + ": shape [2, -3] has a negative size (-3)", e.Message);
    }

    [Fact]
    public void EmptyTensorsMayHaveLargeDimensions()
    {
        var empty = Tensor.Zeros([0, 65536, 65536]);
        Assert.Equal(0, empty.Numel);
        Assert.Equal(new[] { 0, 65536, 65536 }, empty.Shape);
        var e = Assert.Throws<ArgumentException>(() => empty.Flatten(1));
        Assert.StartsWith("Flatten: the merged dimension would be 4294967296 for shape [0, 65536, 65536]", e.Message);
    }

    [Fact]
    public void ArangeRejectsMoreValuesThanATensorHolds()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Arange(0f, 1e10f));
        Assert.StartsWith("Arange: the number of values would be 10000000000", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Arange(0f, float.PositiveInfinity));
        Assert.Contains("Arange", e.Message);
        Assert.Contains("finite", e.Message);
    }

    [Fact]
    public void ViewsRejectShapesWhoseCountOverflows()
    {
        // 65536^4 wraps to 0 in int arithmetic, which matched an empty tensor's 0 elements.
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([0]).Reshape(Huge));
        Assert.StartsWith("Reshape: cannot reshape a tensor of shape [0]", e.Message);
        Assert.Contains("[65536, 65536, 65536, 65536]", e.Message);

        e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([1, 1]).Expand(65536, 65536));
        Assert.StartsWith("Expand: shape [65536, 65536] (broadcast from [1, 1] and [65536, 65536]) has 4294967296 elements", e.Message);

        e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([PastSqrtOfIntMax, 1]) + Tensor.Zeros([1, PastSqrtOfIntMax]));
        Assert.StartsWith("Add: shape [46341, 46341] (broadcast from [46341, 1] and [1, 46341])", e.Message);
    }

    [Fact]
    public void JoinsRejectAnAxisPastIntMax()
    {
        // A view of int.MaxValue elements costs one float of storage.
        var wide = Tensor.Zeros([1]).Expand(int.MaxValue);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Concat([wide, wide]));
        Assert.StartsWith("Concat: axis 0 would be 4294967294 after joining 2 tensors of shapes like [2147483647]", e.Message);

        // 46341 views of one small row: only the joined shape is too large.
        var rows = Enumerable.Repeat(Tensor.Zeros([PastSqrtOfIntMax]), PastSqrtOfIntMax).ToArray();
        e = Assert.Throws<ArgumentException>(() => Tensor.Stack(rows));
        Assert.StartsWith("Stack: shape [46341, 46341] (joining 46341 tensors along axis 0) has 2147488281 elements", e.Message);
    }

    [Fact]
    public void ProductsAndLookupsRejectOutputsPastIntMax()
    {
        var column = Tensor.Zeros([PastSqrtOfIntMax, 1]);
        var row = Tensor.Zeros([1, PastSqrtOfIntMax]);
        var e = Assert.Throws<ArgumentException>(() => column.MatMul(row));
        Assert.StartsWith("MatMul: shape [46341, 46341] (the product of [46341, 1] and [1, 46341])", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, PastSqrtOfIntMax, 1]).MatMul(row));
        Assert.StartsWith("MatMul: shape [2, 46341, 46341]", e.Message);

        var indices = Tensor.Zeros([PastSqrtOfIntMax], DType.Int32);
        e = Assert.Throws<ArgumentException>(() => Tensor.Embedding(indices, row));
        Assert.StartsWith("Embedding: shape [46341, 46341] (indices [46341] into weight [1, 46341])", e.Message);
        e = Assert.Throws<ArgumentException>(() => row.IndexSelect(0, indices));
        Assert.StartsWith("IndexSelect: shape [46341, 46341] (picking 46341 rows of [1, 46341] along axis 0)", e.Message);
    }

    [Fact]
    public void ConvolutionComputesItsOutputIn64Bits()
    {
        var x = Tensor.Zeros([1, 1, 28, 28]);
        var w = Tensor.Zeros([1, 1, 3, 3]);

        // The dilated kernel spans 2^31 + 1 rows; in int arithmetic the output height came out as -2147483620.
        var e = Assert.Throws<ArgumentException>(() => x.Conv2d(w, dilation: (1 << 30, 1)));
        Assert.StartsWith("Conv2d: a 3x3 kernel (dilation 1073741824, 1) spans 2147483649x3 and does not fit input [1, 1, 28, 28]", e.Message);

        e = Assert.Throws<ArgumentException>(() => x.Conv2d(w, padding: (1 << 30, 0)));
        Assert.StartsWith("Conv2d: the padded input height or width would be 2147483676 for input [1, 1, 28, 28], weight [1, 1, 3, 3]", e.Message);

        e = Assert.Throws<ArgumentException>(() => x.Conv2d(Tensor.Zeros([1, 1, 0, 3])));
        Assert.StartsWith("Conv2d: the kernel of weight [1, 1, 0, 3] is empty", e.Message);

        e = Assert.Throws<ArgumentException>(() => x.Conv2d(w, stride: (1, 0)));
        Assert.StartsWith("Conv2d: stride (1, 0)", e.Message);

        // 70000 filters of a 28x28 image: 70000 * 26 * 26 * 46 outputs, past int.MaxValue, from inputs that fit.
        var many = Tensor.Zeros([46, 1, 28, 28]);
        e = Assert.Throws<ArgumentException>(() => many.Conv2d(Tensor.Zeros([70000, 1, 3, 3])));
        Assert.StartsWith("Conv2d: shape [46, 70000, 26, 26] (the output for input [46, 1, 28, 28], weight [70000, 1, 3, 3]", e.Message);
    }

    [Fact]
    public void PoolingChecksItsWindowAndOutputIn64Bits()
    {
        var x = Tensor.Zeros([1, 1, 28, 28]);
        var e = Assert.Throws<ArgumentException>(() => x.MaxPool2d((0, 2)));
        Assert.StartsWith("MaxPool2d: kernel (0, 2)", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.AvgPool2d((2, 2), stride: (0, 1)));
        Assert.StartsWith("AvgPool2d: kernel (2, 2) and stride (0, 1) must be positive", e.Message);

        // Half the kernel as padding, each side: the padded height is past int.MaxValue.
        e = Assert.Throws<ArgumentException>(() => x.MaxPool2d((int.MaxValue, 1), padding: ((1 << 30) - 1, 0)));
        Assert.StartsWith("MaxPool2d: the padded input height or width would be 2147483674", e.Message);
    }
}
