// Element types a tensor can hold, with their sizes, names and the promotion table that decides the
// result type of an op on two types. Storage holds the real bits of each type.
namespace Lepton;

/// <summary>The element type of a <see cref="Tensor"/>.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float: the default type, and the type differentiable ops compute in.</summary>
    Float32,

    /// <summary>32-bit signed integer.</summary>
    Int32,

    /// <summary>8-bit signed integer (quantized weights).</summary>
    Int8,

    /// <summary>64-bit IEEE float.</summary>
    Float64,

    /// <summary>16-bit IEEE float (1 sign, 5 exponent, 10 mantissa bits): a storage type computed in float32.</summary>
    Float16,

    /// <summary>16-bit brain float (the upper half of a float32): a storage type computed in float32.</summary>
    BFloat16,

    /// <summary>64-bit signed integer: what <c>ArgMax</c> returns, as in PyTorch.</summary>
    Int64,

    /// <summary>16-bit signed integer.</summary>
    Int16,

    /// <summary>8-bit unsigned integer.</summary>
    UInt8,

    /// <summary>Boolean, one byte per element holding 0 or 1: what comparisons return.</summary>
    Bool,
}

/// <summary>Helpers on <see cref="DType"/>: sizes, names, kinds and type promotion.</summary>
public static class DTypeExtensions
{
    /// <summary>Every element type.</summary>
    public static IReadOnlyList<DType> All { get; } =
        [DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int64, DType.Int32, DType.Int16, DType.Int8, DType.UInt8, DType.Bool];

    /// <summary>The PyTorch-style name of the type, e.g. <c>float32</c>.</summary>
    /// <param name="dtype">The type.</param>
    /// <example><code>DType.Int32.Name() // "int32"</code></example>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Float16 => "float16",
        DType.BFloat16 => "bfloat16",
        DType.Int64 => "int64",
        DType.Int32 => "int32",
        DType.Int16 => "int16",
        DType.Int8 => "int8",
        DType.UInt8 => "uint8",
        DType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Not an element type."),
    };

    /// <summary>The type named <paramref name="name"/> (as <see cref="Name"/> writes it), or null.</summary>
    /// <param name="name">A name such as <c>int64</c>.</param>
    /// <example><code>DTypeExtensions.Parse("bfloat16") // DType.BFloat16</code></example>
    public static DType? Parse(string name)
    {
        foreach (var t in All)
        {
            if (t.Name() == name)
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>Bytes per element.</summary>
    /// <param name="dtype">The type.</param>
    /// <example><code>DType.BFloat16.Size() // 2</code></example>
    public static int Size(this DType dtype) => dtype switch
    {
        DType.Float64 or DType.Int64 => 8,
        DType.Float32 or DType.Int32 => 4,
        DType.Float16 or DType.BFloat16 or DType.Int16 => 2,
        _ => 1,
    };

    /// <summary>True for the floating types (float64, float32, float16, bfloat16).</summary>
    /// <param name="dtype">The type.</param>
    /// <example><code>DType.Float16.IsFloatingPoint() // true</code></example>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>True for the integer types (bool is neither integer nor floating).</summary>
    /// <param name="dtype">The type.</param>
    /// <example><code>DType.Int32.IsInteger() // true</code></example>
    public static bool IsInteger(this DType dtype) => dtype is DType.Int64 or DType.Int32 or DType.Int16 or DType.Int8 or DType.UInt8;

    /// <summary>True for the 16-bit floating types, which are stored as such and computed in float32.</summary>
    /// <param name="dtype">The type.</param>
    public static bool IsHalf(this DType dtype) => dtype is DType.Float16 or DType.BFloat16;

    /// <summary>The .NET type of one element (<see cref="Half"/> for float16, <see cref="ushort"/> bits for bfloat16).</summary>
    /// <param name="dtype">The type.</param>
    public static Type ClrType(this DType dtype) => dtype switch
    {
        DType.Float32 => typeof(float),
        DType.Float64 => typeof(double),
        DType.Float16 => typeof(Half),
        DType.BFloat16 => typeof(ushort),
        DType.Int64 => typeof(long),
        DType.Int32 => typeof(int),
        DType.Int16 => typeof(short),
        DType.Int8 => typeof(sbyte),
        DType.UInt8 => typeof(byte),
        _ => typeof(bool),
    };

    /// <summary>
    /// The type an op on a <paramref name="a"/> and a <paramref name="b"/> tensor computes and returns, by PyTorch's
    /// rules: bool &lt; integers &lt; floating types; within integers the wider type, and uint8 with int8 gives int16;
    /// within floating types the wider one, and float16 with bfloat16 gives float32.
    /// </summary>
    /// <param name="a">One operand's type.</param>
    /// <param name="b">The other operand's type.</param>
    /// <example><code>DType.Int8.Promote(DType.Float32) // Float32; DType.Int32.Promote(DType.Int64) // Int64</code></example>
    public static DType Promote(this DType a, DType b)
    {
        if (a == b)
        {
            return a;
        }

        if (a == DType.Bool || b == DType.Bool)
        {
            return a == DType.Bool ? b : a;
        }

        bool fa = a.IsFloatingPoint(), fb = b.IsFloatingPoint();
        if (fa != fb)
        {
            return fa ? a : b;
        }

        if (fa)
        {
            if (a.IsHalf() && b.IsHalf())
            {
                return DType.Float32;
            }

            return a.Size() >= b.Size() ? a : b;
        }

        if (a == DType.UInt8 || b == DType.UInt8)
        {
            var other = a == DType.UInt8 ? b : a;
            return other == DType.Int8 ? DType.Int16 : other;
        }

        return a.Size() >= b.Size() ? a : b;
    }

    /// <summary>
    /// The result type of an op between a tensor of <paramref name="tensor"/> type and a C# scalar: the scalar does not
    /// widen the tensor within its kind (an int8 tensor plus 3 stays int8, a float16 tensor times 0.5f stays float16), but
    /// a floating scalar with an integer or bool tensor gives float32, and an integer scalar with a bool tensor int64.
    /// </summary>
    /// <param name="tensor">The tensor's type.</param>
    /// <param name="floatingScalar">True for a floating scalar (float, double), false for an integer one.</param>
    /// <example><code>DType.Int32.PromoteWithScalar(floatingScalar: true) // Float32</code></example>
    public static DType PromoteWithScalar(this DType tensor, bool floatingScalar)
    {
        if (floatingScalar)
        {
            return tensor.IsFloatingPoint() ? tensor : DType.Float32;
        }

        return tensor == DType.Bool ? DType.Int64 : tensor;
    }
}
