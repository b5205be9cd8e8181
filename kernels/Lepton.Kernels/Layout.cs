// Up to six dimensions of sizes and strides passed by value to a kernel, so broadcasting and
// transposed views need no metadata buffers on the device. The host coalesces and left-pads views.
namespace Lepton.Kernels;

/// <summary>Sizes of up to six dimensions, outermost first; unused leading dimensions are 1.</summary>
public struct Shape6
{
    /// <summary>Dimension sizes, outermost (0) to innermost (5).</summary>
    public int N0, N1, N2, N3, N4, N5;

    /// <summary>The most dimensions a kernel layout holds.</summary>
    public const int MaxRank = 6;
}

/// <summary>Element strides of up to six dimensions, matching a <see cref="Shape6"/>.</summary>
public struct Strides6
{
    /// <summary>Strides, outermost (0) to innermost (5); 0 where broadcast.</summary>
    public int S0, S1, S2, S3, S4, S5;

    /// <summary>The element offset of dense row-major position <paramref name="linear"/> of <paramref name="shape"/>.</summary>
    public readonly long Offset(Shape6 shape, long linear)
    {
        long i = linear;
        long offset = (i % shape.N5) * S5;
        i /= shape.N5;
        offset += (i % shape.N4) * S4;
        i /= shape.N4;
        offset += (i % shape.N3) * S3;
        i /= shape.N3;
        offset += (i % shape.N2) * S2;
        i /= shape.N2;
        offset += (i % shape.N1) * S1;
        i /= shape.N1;
        return offset + (i * S0);
    }
}
