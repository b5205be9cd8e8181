// What the typed kernels need of an element type, as interfaces of instance methods on empty structs (ILGPU
// specializes a generic kernel per struct; it has no static abstract members), and the floating and bool types.
// The conversion rules are ElementConversions': floating values go through double, integers through long.
namespace Lepton.Kernels;

/// <summary>How an element type converts: through double when it is floating, through long otherwise.</summary>
/// <typeparam name="T">The stored element (ushort bits for the 16-bit floats, byte for bool).</typeparam>
public interface IElementType<T>
    where T : unmanaged
{
    /// <summary>True for the floating types, which convert through double.</summary>
    bool IsFloating { get; }

    /// <summary>The value as a double (exact for every floating type).</summary>
    double ToDouble(T x);

    /// <summary>The value as a long (floating values truncated toward zero and saturated, NaN 0).</summary>
    long ToInt64(T x);

    /// <summary>The element nearest to x (floating), or x truncated and saturated (integers).</summary>
    T FromDouble(double x);

    /// <summary>The element nearest to x (floating), or x's low bits (integers: wrapping).</summary>
    T FromInt64(long x);
}

/// <summary>Arithmetic and comparisons of a type that computes in itself (every type but the 16-bit floats).</summary>
/// <typeparam name="T">The element.</typeparam>
public interface INumberOps<T>
    where T : unmanaged
{
    /// <summary>a + b.</summary>
    T Add(T a, T b);

    /// <summary>a - b.</summary>
    T Subtract(T a, T b);

    /// <summary>a * b.</summary>
    T Multiply(T a, T b);

    /// <summary>a / b, and 0 - a where b is -1 (so the smallest integer wraps instead of trapping).</summary>
    T Divide(T a, T b);

    /// <summary>a % b (the sign of a), and 0 where b is -1.</summary>
    T Remainder(T a, T b);

    /// <summary>True for NaN.</summary>
    bool IsNaN(T x);

    /// <summary>a == b.</summary>
    bool Equal(T a, T b);

    /// <summary>a &lt; b.</summary>
    bool Less(T a, T b);

    /// <summary>a &lt;= b.</summary>
    bool LessOrEqual(T a, T b);
}

/// <summary>The bitwise operations of the integer types (and bool).</summary>
/// <typeparam name="T">The element.</typeparam>
public interface IIntegerOps<T> : INumberOps<T>
    where T : unmanaged
{
    /// <summary>a &amp; b.</summary>
    T And(T a, T b);

    /// <summary>a | b.</summary>
    T Or(T a, T b);

    /// <summary>a ^ b.</summary>
    T Xor(T a, T b);
}

/// <summary>Floating to integer conversion: truncation toward zero, saturation at the range, NaN to 0.</summary>
public static class Saturation
{
    /// <summary>value truncated toward zero into [min, max]; 0 for NaN.</summary>
    public static long ToInteger(double value, long min, long max)
    {
        if (double.IsNaN(value))
        {
            return 0;
        }

        if (value <= min)
        {
            return min;
        }

        // (double)long.MaxValue rounds up to 2^63, so the comparison is >=.
        return value >= max ? max : (long)value;
    }
}

/// <summary>float32.</summary>
public readonly struct Float32Element : IElementType<float>, INumberOps<float>
{
    /// <inheritdoc />
    public bool IsFloating => true;

    /// <inheritdoc />
    public double ToDouble(float x) => x;

    /// <inheritdoc />
    public long ToInt64(float x) => Saturation.ToInteger(x, long.MinValue, long.MaxValue);

    /// <inheritdoc />
    public float FromDouble(double x) => (float)x;

    /// <inheritdoc />
    public float FromInt64(long x) => x;

    /// <inheritdoc />
    public float Add(float a, float b) => a + b;

    /// <inheritdoc />
    public float Subtract(float a, float b) => a - b;

    /// <inheritdoc />
    public float Multiply(float a, float b) => a * b;

    /// <inheritdoc />
    public float Divide(float a, float b) => a / b;

    /// <inheritdoc />
    public float Remainder(float a, float b) => a % b;

    /// <inheritdoc />
    public bool IsNaN(float x) => float.IsNaN(x);

    /// <inheritdoc />
    public bool Equal(float a, float b) => a == b;

    /// <inheritdoc />
    public bool Less(float a, float b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(float a, float b) => a <= b;
}

/// <summary>float64.</summary>
public readonly struct Float64Element : IElementType<double>, INumberOps<double>
{
    /// <inheritdoc />
    public bool IsFloating => true;

    /// <inheritdoc />
    public double ToDouble(double x) => x;

    /// <inheritdoc />
    public long ToInt64(double x) => Saturation.ToInteger(x, long.MinValue, long.MaxValue);

    /// <inheritdoc />
    public double FromDouble(double x) => x;

    /// <inheritdoc />
    public double FromInt64(long x) => x;

    /// <inheritdoc />
    public double Add(double a, double b) => a + b;

    /// <inheritdoc />
    public double Subtract(double a, double b) => a - b;

    /// <inheritdoc />
    public double Multiply(double a, double b) => a * b;

    /// <inheritdoc />
    public double Divide(double a, double b) => a / b;

    /// <inheritdoc />
    public double Remainder(double a, double b) => a % b;

    /// <inheritdoc />
    public bool IsNaN(double x) => double.IsNaN(x);

    /// <inheritdoc />
    public bool Equal(double a, double b) => a == b;

    /// <inheritdoc />
    public bool Less(double a, double b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(double a, double b) => a <= b;
}

/// <summary>float16 as its IEEE half bits.</summary>
public readonly struct Float16Element : IElementType<ushort>
{
    /// <inheritdoc />
    public bool IsFloating => true;

    /// <inheritdoc />
    public double ToDouble(ushort x) => HalfBits.ToFloat(x);

    /// <inheritdoc />
    public long ToInt64(ushort x) => Saturation.ToInteger(HalfBits.ToFloat(x), long.MinValue, long.MaxValue);

    /// <inheritdoc />
    public ushort FromDouble(double x) => HalfBits.FromDouble(x);

    /// <inheritdoc />
    public ushort FromInt64(long x) => HalfBits.FromFloat(x);
}

/// <summary>bfloat16 as its bits; converts through float32.</summary>
public readonly struct BFloat16Element : IElementType<ushort>
{
    /// <inheritdoc />
    public bool IsFloating => true;

    /// <inheritdoc />
    public double ToDouble(ushort x) => HalfBits.BFloat16ToFloat(x);

    /// <inheritdoc />
    public long ToInt64(ushort x) => Saturation.ToInteger(HalfBits.BFloat16ToFloat(x), long.MinValue, long.MaxValue);

    /// <inheritdoc />
    public ushort FromDouble(double x) => HalfBits.BFloat16FromFloat((float)x);

    /// <inheritdoc />
    public ushort FromInt64(long x) => HalfBits.BFloat16FromFloat(x);
}

/// <summary>bool as one byte: anything non-zero (NaN included) converts to 1. Its arithmetic is <see cref="UInt8Element"/>'s.</summary>
public readonly struct BoolElement : IElementType<byte>
{
    /// <inheritdoc />
    public bool IsFloating => false;

    /// <inheritdoc />
    public double ToDouble(byte x) => x != 0 ? 1 : 0;

    /// <inheritdoc />
    public long ToInt64(byte x) => x != 0 ? 1 : 0;

    /// <inheritdoc />
    public byte FromDouble(double x) => x != 0 ? (byte)1 : (byte)0;

    /// <inheritdoc />
    public byte FromInt64(long x) => x != 0 ? (byte)1 : (byte)0;
}
