// Element types a tensor can hold. Float32 is the compute type; Int32 carries labels and indices,
// Int8 is reserved for quantized weights.
namespace Lepton;

/// <summary>The element type of a <see cref="Tensor"/>.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float: the type every differentiable op computes in.</summary>
    Float32,

    /// <summary>32-bit integer: class labels, indices, argmax results.</summary>
    Int32,

    /// <summary>8-bit integer: reserved for quantized weights.</summary>
    Int8,
}

/// <summary>Helpers on <see cref="DType"/>.</summary>
public static class DTypeExtensions
{
    /// <summary>The PyTorch-style name of the type, e.g. <c>float32</c>.</summary>
    /// <example><code>DType.Int32.Name() // "int32"</code></example>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Int32 => "int32",
        DType.Int8 => "int8",
        _ => dtype.ToString(),
    };

    /// <summary>True for the integer types.</summary>
    /// <example><code>DType.Int32.IsInteger() // true</code></example>
    public static bool IsInteger(this DType dtype) => dtype != DType.Float32;
}
