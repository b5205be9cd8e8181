// The integer element types of the typed kernels: conversions to and from the wide carriers and wrapping
// arithmetic, as C#'s unchecked operators compute it (the CPU backend's generic math does the same).
namespace Lepton.Kernels;

/// <summary>64-bit signed integers: wrapping arithmetic; the smallest value divided by -1 wraps to itself and leaves remainder 0.</summary>
public readonly struct Int64Element : IElementType<long>, IIntegerOps<long>
{
    /// <inheritdoc />
    public bool IsFloating => false;

    /// <inheritdoc />
    public double ToDouble(long x) => x;

    /// <inheritdoc />
    public long ToInt64(long x) => x;

    /// <inheritdoc />
    public long FromDouble(double x) => Saturation.ToInteger(x, long.MinValue, long.MaxValue);

    /// <inheritdoc />
    public long FromInt64(long x) => x;

    /// <inheritdoc />
    public long Add(long a, long b) => unchecked(a + b);

    /// <inheritdoc />
    public long Subtract(long a, long b) => unchecked(a - b);

    /// <inheritdoc />
    public long Multiply(long a, long b) => unchecked(a * b);

    /// <inheritdoc />
    public long Divide(long a, long b) => b == -1 ? unchecked(0 - a) : a / b;

    /// <inheritdoc />
    public long Remainder(long a, long b) => b == -1 ? 0L : a % b;

    /// <inheritdoc />
    public bool IsNaN(long x) => false;

    /// <inheritdoc />
    public bool Equal(long a, long b) => a == b;

    /// <inheritdoc />
    public bool Less(long a, long b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(long a, long b) => a <= b;

    /// <inheritdoc />
    public long And(long a, long b) => a & b;

    /// <inheritdoc />
    public long Or(long a, long b) => a | b;

    /// <inheritdoc />
    public long Xor(long a, long b) => a ^ b;
}

/// <summary>32-bit signed integers: wrapping arithmetic; the smallest value divided by -1 wraps to itself and leaves remainder 0.</summary>
public readonly struct Int32Element : IElementType<int>, IIntegerOps<int>
{
    /// <inheritdoc />
    public bool IsFloating => false;

    /// <inheritdoc />
    public double ToDouble(int x) => x;

    /// <inheritdoc />
    public long ToInt64(int x) => x;

    /// <inheritdoc />
    public int FromDouble(double x) => (int)Saturation.ToInteger(x, int.MinValue, int.MaxValue);

    /// <inheritdoc />
    public int FromInt64(long x) => unchecked((int)x);

    /// <inheritdoc />
    public int Add(int a, int b) => unchecked(a + b);

    /// <inheritdoc />
    public int Subtract(int a, int b) => unchecked(a - b);

    /// <inheritdoc />
    public int Multiply(int a, int b) => unchecked(a * b);

    /// <inheritdoc />
    public int Divide(int a, int b) => b == -1 ? unchecked(0 - a) : a / b;

    /// <inheritdoc />
    public int Remainder(int a, int b) => b == -1 ? 0 : a % b;

    /// <inheritdoc />
    public bool IsNaN(int x) => false;

    /// <inheritdoc />
    public bool Equal(int a, int b) => a == b;

    /// <inheritdoc />
    public bool Less(int a, int b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(int a, int b) => a <= b;

    /// <inheritdoc />
    public int And(int a, int b) => a & b;

    /// <inheritdoc />
    public int Or(int a, int b) => a | b;

    /// <inheritdoc />
    public int Xor(int a, int b) => a ^ b;
}

/// <summary>16-bit signed integers: wrapping arithmetic; the smallest value divided by -1 wraps to itself and leaves remainder 0.</summary>
public readonly struct Int16Element : IElementType<short>, IIntegerOps<short>
{
    /// <inheritdoc />
    public bool IsFloating => false;

    /// <inheritdoc />
    public double ToDouble(short x) => x;

    /// <inheritdoc />
    public long ToInt64(short x) => x;

    /// <inheritdoc />
    public short FromDouble(double x) => (short)Saturation.ToInteger(x, short.MinValue, short.MaxValue);

    /// <inheritdoc />
    public short FromInt64(long x) => unchecked((short)x);

    /// <inheritdoc />
    public short Add(short a, short b) => unchecked((short)(a + b));

    /// <inheritdoc />
    public short Subtract(short a, short b) => unchecked((short)(a - b));

    /// <inheritdoc />
    public short Multiply(short a, short b) => unchecked((short)(a * b));

    /// <inheritdoc />
    public short Divide(short a, short b) => b == -1 ? unchecked((short)(0 - a)) : (short)(a / b);

    /// <inheritdoc />
    public short Remainder(short a, short b) => b == -1 ? (short)0 : (short)(a % b);

    /// <inheritdoc />
    public bool IsNaN(short x) => false;

    /// <inheritdoc />
    public bool Equal(short a, short b) => a == b;

    /// <inheritdoc />
    public bool Less(short a, short b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(short a, short b) => a <= b;

    /// <inheritdoc />
    public short And(short a, short b) => (short)(a & b);

    /// <inheritdoc />
    public short Or(short a, short b) => (short)(a | b);

    /// <inheritdoc />
    public short Xor(short a, short b) => (short)(a ^ b);
}

/// <summary>8-bit signed integers: wrapping arithmetic; the smallest value divided by -1 wraps to itself and leaves remainder 0.</summary>
public readonly struct Int8Element : IElementType<sbyte>, IIntegerOps<sbyte>
{
    /// <inheritdoc />
    public bool IsFloating => false;

    /// <inheritdoc />
    public double ToDouble(sbyte x) => x;

    /// <inheritdoc />
    public long ToInt64(sbyte x) => x;

    /// <inheritdoc />
    public sbyte FromDouble(double x) => (sbyte)Saturation.ToInteger(x, sbyte.MinValue, sbyte.MaxValue);

    /// <inheritdoc />
    public sbyte FromInt64(long x) => unchecked((sbyte)x);

    /// <inheritdoc />
    public sbyte Add(sbyte a, sbyte b) => unchecked((sbyte)(a + b));

    /// <inheritdoc />
    public sbyte Subtract(sbyte a, sbyte b) => unchecked((sbyte)(a - b));

    /// <inheritdoc />
    public sbyte Multiply(sbyte a, sbyte b) => unchecked((sbyte)(a * b));

    /// <inheritdoc />
    public sbyte Divide(sbyte a, sbyte b) => b == -1 ? unchecked((sbyte)(0 - a)) : (sbyte)(a / b);

    /// <inheritdoc />
    public sbyte Remainder(sbyte a, sbyte b) => b == -1 ? (sbyte)0 : (sbyte)(a % b);

    /// <inheritdoc />
    public bool IsNaN(sbyte x) => false;

    /// <inheritdoc />
    public bool Equal(sbyte a, sbyte b) => a == b;

    /// <inheritdoc />
    public bool Less(sbyte a, sbyte b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(sbyte a, sbyte b) => a <= b;

    /// <inheritdoc />
    public sbyte And(sbyte a, sbyte b) => (sbyte)(a & b);

    /// <inheritdoc />
    public sbyte Or(sbyte a, sbyte b) => (sbyte)(a | b);

    /// <inheritdoc />
    public sbyte Xor(sbyte a, sbyte b) => (sbyte)(a ^ b);
}

/// <summary>8-bit unsigned integers (and bool's arithmetic): wrapping arithmetic; the smallest value divided by -1 wraps to itself and leaves remainder 0.</summary>
public readonly struct UInt8Element : IElementType<byte>, IIntegerOps<byte>
{
    /// <inheritdoc />
    public bool IsFloating => false;

    /// <inheritdoc />
    public double ToDouble(byte x) => x;

    /// <inheritdoc />
    public long ToInt64(byte x) => x;

    /// <inheritdoc />
    public byte FromDouble(double x) => (byte)Saturation.ToInteger(x, byte.MinValue, byte.MaxValue);

    /// <inheritdoc />
    public byte FromInt64(long x) => unchecked((byte)x);

    /// <inheritdoc />
    public byte Add(byte a, byte b) => unchecked((byte)(a + b));

    /// <inheritdoc />
    public byte Subtract(byte a, byte b) => unchecked((byte)(a - b));

    /// <inheritdoc />
    public byte Multiply(byte a, byte b) => unchecked((byte)(a * b));

    /// <inheritdoc />
    public byte Divide(byte a, byte b) => (byte)(a / b);

    /// <inheritdoc />
    public byte Remainder(byte a, byte b) => (byte)(a % b);

    /// <inheritdoc />
    public bool IsNaN(byte x) => false;

    /// <inheritdoc />
    public bool Equal(byte a, byte b) => a == b;

    /// <inheritdoc />
    public bool Less(byte a, byte b) => a < b;

    /// <inheritdoc />
    public bool LessOrEqual(byte a, byte b) => a <= b;

    /// <inheritdoc />
    public byte And(byte a, byte b) => (byte)(a & b);

    /// <inheritdoc />
    public byte Or(byte a, byte b) => (byte)(a | b);

    /// <inheritdoc />
    public byte Xor(byte a, byte b) => (byte)(a ^ b);
}
