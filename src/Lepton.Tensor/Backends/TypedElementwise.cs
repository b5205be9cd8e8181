// The element-wise operations every element type supports, named for the backends' typed kernels. Float32
// arithmetic also has the SIMD op structs (BinaryOps.cs); these cover every type and the comparisons.
namespace Lepton.Backends;

/// <summary>An element-wise operation of <see cref="IBackend.TypedBinary"/>.</summary>
public enum TypedBinaryOp
{
    /// <summary>a + b (integers wrap; on bool, a or b).</summary>
    Add,

    /// <summary>a - b (integers wrap).</summary>
    Sub,

    /// <summary>a * b (integers wrap; on bool, a and b).</summary>
    Mul,

    /// <summary>a / b: true division on floating types, truncated toward zero on integers (which never see b = 0).</summary>
    Div,

    /// <summary>The remainder of truncated division, with the sign of a (C#'s %, ONNX Mod with fmod = 1).</summary>
    Remainder,

    /// <summary>The larger of a and b (NaN if either is NaN).</summary>
    Maximum,

    /// <summary>The smaller of a and b (NaN if either is NaN).</summary>
    Minimum,

    /// <summary>a == b, as bool.</summary>
    Equal,

    /// <summary>a != b, as bool.</summary>
    NotEqual,

    /// <summary>a &lt; b, as bool.</summary>
    Less,

    /// <summary>a &lt;= b, as bool.</summary>
    LessOrEqual,

    /// <summary>a &gt; b, as bool.</summary>
    Greater,

    /// <summary>a &gt;= b, as bool.</summary>
    GreaterOrEqual,

    /// <summary>Bitwise and (logical on bool); integer and bool types only.</summary>
    And,

    /// <summary>Bitwise or (logical on bool); integer and bool types only.</summary>
    Or,

    /// <summary>Bitwise exclusive or (logical on bool); integer and bool types only.</summary>
    Xor,
}

/// <summary>Helpers on <see cref="TypedBinaryOp"/>.</summary>
public static class TypedBinaryOpExtensions
{
    /// <summary>True for the comparisons, whose result is bool.</summary>
    /// <param name="op">The operation.</param>
    public static bool IsComparison(this TypedBinaryOp op) => op is >= TypedBinaryOp.Equal and <= TypedBinaryOp.GreaterOrEqual;

    /// <summary>True for the bitwise operations.</summary>
    /// <param name="op">The operation.</param>
    public static bool IsBitwise(this TypedBinaryOp op) => op is TypedBinaryOp.And or TypedBinaryOp.Or or TypedBinaryOp.Xor;

    /// <summary>The result type of <paramref name="op"/> on operands of <paramref name="type"/>.</summary>
    /// <param name="op">The operation.</param>
    /// <param name="type">The operands' type.</param>
    public static DType ResultType(this TypedBinaryOp op, DType type) => op.IsComparison() ? DType.Bool : type;
}
