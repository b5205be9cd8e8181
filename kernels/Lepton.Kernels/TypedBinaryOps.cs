// The operations of the typed element-wise kernel, each an empty struct generic over the element type's
// arithmetic, so that one kernel serves every (operation, type) pair and the JIT or ILGPU specializes each.
namespace Lepton.Kernels;

/// <summary>A two-argument element function y = f(a, b) of the typed kernels.</summary>
/// <typeparam name="T">The operands' element.</typeparam>
/// <typeparam name="TR">The result's element (T, or byte for comparisons).</typeparam>
public interface ITypedBinary<T, TR>
    where T : unmanaged
    where TR : unmanaged
{
    /// <summary>y = f(a, b).</summary>
    TR Apply(T a, T b);
}


/// <summary>a + b.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct AddOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Add(a, b);
    }
}

/// <summary>a - b.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct SubtractOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Subtract(a, b);
    }
}

/// <summary>a * b.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct MultiplyOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Multiply(a, b);
    }
}

/// <summary>a / b (0 - a where b is -1).</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct DivideOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Divide(a, b);
    }
}

/// <summary>a % b (0 where b is -1).</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct RemainderOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Remainder(a, b);
    }
}

/// <summary>the larger of a and b; a + b (a NaN) if either is NaN.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct MaximumOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.IsNaN(a) || n.IsNaN(b) ? n.Add(a, b) : n.LessOrEqual(b, a) ? a : b;
    }
}

/// <summary>the smaller of a and b; a + b (a NaN) if either is NaN.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct MinimumOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.IsNaN(a) || n.IsNaN(b) ? n.Add(a, b) : n.LessOrEqual(a, b) ? a : b;
    }
}

/// <summary>a == b as 0 or 1.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct EqualOp<T, TN> : ITypedBinary<T, byte>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public byte Apply(T a, T b)
    {
        TN n = default;
        return n.Equal(a, b) ? (byte)1 : (byte)0;
    }
}

/// <summary>a != b as 0 or 1.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct NotEqualOp<T, TN> : ITypedBinary<T, byte>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public byte Apply(T a, T b)
    {
        TN n = default;
        return n.Equal(a, b) ? (byte)0 : (byte)1;
    }
}

/// <summary>a &lt; b as 0 or 1.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct LessOp<T, TN> : ITypedBinary<T, byte>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public byte Apply(T a, T b)
    {
        TN n = default;
        return n.Less(a, b) ? (byte)1 : (byte)0;
    }
}

/// <summary>a &lt;= b as 0 or 1.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct LessOrEqualOp<T, TN> : ITypedBinary<T, byte>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public byte Apply(T a, T b)
    {
        TN n = default;
        return n.LessOrEqual(a, b) ? (byte)1 : (byte)0;
    }
}

/// <summary>a &gt; b as 0 or 1.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct GreaterOp<T, TN> : ITypedBinary<T, byte>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public byte Apply(T a, T b)
    {
        TN n = default;
        return n.Less(b, a) ? (byte)1 : (byte)0;
    }
}

/// <summary>a &gt;= b as 0 or 1.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct GreaterOrEqualOp<T, TN> : ITypedBinary<T, byte>
    where T : unmanaged
    where TN : struct, INumberOps<T>
{
    /// <inheritdoc />
    public byte Apply(T a, T b)
    {
        TN n = default;
        return n.LessOrEqual(b, a) ? (byte)1 : (byte)0;
    }
}

/// <summary>a &amp; b.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct AndOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, IIntegerOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.And(a, b);
    }
}

/// <summary>a | b.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct OrOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, IIntegerOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Or(a, b);
    }
}

/// <summary>a ^ b.</summary>
/// <typeparam name="T">The element.</typeparam>
/// <typeparam name="TN">The element's arithmetic.</typeparam>
public readonly struct XorOp<T, TN> : ITypedBinary<T, T>
    where T : unmanaged
    where TN : struct, IIntegerOps<T>
{
    /// <inheritdoc />
    public T Apply(T a, T b)
    {
        TN n = default;
        return n.Xor(a, b);
    }
}
