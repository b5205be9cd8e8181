// Each element type's conversions to and from the two wide carriers (double for floating types, long for
// integers), as static members so that generic kernels specialize per type. The rules are ElementConversions'.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

/// <summary>How an element type converts: through double when it is floating, through long otherwise.</summary>
internal interface IElement<T>
{
    static abstract bool IsFloating { get; }

    static abstract double ToDouble(T x);

    static abstract long ToInt64(T x);

    static abstract T FromDouble(double x);

    static abstract T FromInt64(long x);
}

internal readonly struct F32 : IElement<float>
{
    public static bool IsFloating => true;

    public static double ToDouble(float x) => x;

    public static long ToInt64(float x) => ElementConversions.SaturateToInteger(x, long.MinValue, long.MaxValue);

    public static float FromDouble(double x) => (float)x;

    public static float FromInt64(long x) => x;
}

internal readonly struct F64 : IElement<double>
{
    public static bool IsFloating => true;

    public static double ToDouble(double x) => x;

    public static long ToInt64(double x) => ElementConversions.SaturateToInteger(x, long.MinValue, long.MaxValue);

    public static double FromDouble(double x) => x;

    public static double FromInt64(long x) => x;
}

internal readonly struct F16 : IElement<Half>
{
    public static bool IsFloating => true;

    public static double ToDouble(Half x) => (double)x;

    public static long ToInt64(Half x) => ElementConversions.SaturateToInteger((double)x, long.MinValue, long.MaxValue);

    public static Half FromDouble(double x) => (Half)x;

    public static Half FromInt64(long x) => (Half)x;
}

/// <summary>bfloat16 as its bits; converts through float32, rounding to nearest even.</summary>
internal readonly struct BF16 : IElement<ushort>
{
    public static bool IsFloating => true;

    public static double ToDouble(ushort x) => ElementConversions.FromBFloat16(x);

    public static long ToInt64(ushort x) => ElementConversions.SaturateToInteger(ElementConversions.FromBFloat16(x), long.MinValue, long.MaxValue);

    public static ushort FromDouble(double x) => ElementConversions.ToBFloat16((float)x);

    public static ushort FromInt64(long x) => ElementConversions.ToBFloat16(x);
}

internal readonly struct I64 : IElement<long>
{
    public static bool IsFloating => false;

    public static double ToDouble(long x) => x;

    public static long ToInt64(long x) => x;

    public static long FromDouble(double x) => ElementConversions.SaturateToInteger(x, long.MinValue, long.MaxValue);

    public static long FromInt64(long x) => x;
}

internal readonly struct I32 : IElement<int>
{
    public static bool IsFloating => false;

    public static double ToDouble(int x) => x;

    public static long ToInt64(int x) => x;

    public static int FromDouble(double x) => (int)ElementConversions.SaturateToInteger(x, int.MinValue, int.MaxValue);

    public static int FromInt64(long x) => unchecked((int)x);
}

internal readonly struct I16 : IElement<short>
{
    public static bool IsFloating => false;

    public static double ToDouble(short x) => x;

    public static long ToInt64(short x) => x;

    public static short FromDouble(double x) => (short)ElementConversions.SaturateToInteger(x, short.MinValue, short.MaxValue);

    public static short FromInt64(long x) => unchecked((short)x);
}

internal readonly struct I8 : IElement<sbyte>
{
    public static bool IsFloating => false;

    public static double ToDouble(sbyte x) => x;

    public static long ToInt64(sbyte x) => x;

    public static sbyte FromDouble(double x) => (sbyte)ElementConversions.SaturateToInteger(x, sbyte.MinValue, sbyte.MaxValue);

    public static sbyte FromInt64(long x) => unchecked((sbyte)x);
}

internal readonly struct U8 : IElement<byte>
{
    public static bool IsFloating => false;

    public static double ToDouble(byte x) => x;

    public static long ToInt64(byte x) => x;

    public static byte FromDouble(double x) => (byte)ElementConversions.SaturateToInteger(x, byte.MinValue, byte.MaxValue);

    public static byte FromInt64(long x) => unchecked((byte)x);
}

/// <summary>bool as one byte: anything non-zero (NaN included) converts to 1.</summary>
internal readonly struct B8 : IElement<byte>
{
    public static bool IsFloating => false;

    public static double ToDouble(byte x) => x != 0 ? 1 : 0;

    public static long ToInt64(byte x) => x != 0 ? 1 : 0;

    public static byte FromDouble(double x) => x != 0 ? (byte)1 : (byte)0;

    public static byte FromInt64(long x) => x != 0 ? (byte)1 : (byte)0;
}

/// <summary>Vectorized conversions between float32 and the 16-bit floats, so that casts of weights run at memory speed.</summary>
internal static class HalfConversions
{
    /// <summary>Converts x into y with a vector loop where the pair of types has one; false otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryConvert<TFrom, TTo>(ReadOnlySpan<TFrom> x, Span<TTo> y)
        where TFrom : struct
        where TTo : struct
    {
        if (typeof(TFrom) == typeof(float) && typeof(TTo) == typeof(ushort))
        {
            ToBFloat16(System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, uint>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, ushort>(y));
            return true;
        }

        if (typeof(TFrom) == typeof(float) && typeof(TTo) == typeof(Half))
        {
            ToHalf(System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, uint>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, ushort>(y));
            return true;
        }

        if (typeof(TFrom) == typeof(Half) && typeof(TTo) == typeof(float))
        {
            FromHalf(System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, ushort>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, uint>(y));
            return true;
        }

        if (typeof(TFrom) == typeof(float) && typeof(TTo) == typeof(sbyte))
        {
            ToInt8(System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, float>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, sbyte>(y));
            return true;
        }

        if (typeof(TFrom) == typeof(sbyte) && typeof(TTo) == typeof(float))
        {
            FromInt8(System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, sbyte>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, float>(y));
            return true;
        }

        if (typeof(TFrom) == typeof(ushort) && typeof(TTo) == typeof(float))
        {
            FromBFloat16(System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, ushort>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, uint>(y));
            return true;
        }

        return false;
    }

    /// <summary>float32 to int8 as a cast converts: NaN to 0, then clamped to [-128, 127] and truncated toward zero.</summary>
    private static void ToInt8(ReadOnlySpan<float> x, Span<sbyte> y)
    {
        int i = 0;
        int w = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var low = new Vector<float>(sbyte.MinValue);
            var high = new Vector<float>(sbyte.MaxValue);
            for (; i <= x.Length - (4 * w); i += 4 * w)
            {
                var a = Truncate(new Vector<float>(x[i..]), low, high);
                var b = Truncate(new Vector<float>(x[(i + w)..]), low, high);
                var c = Truncate(new Vector<float>(x[(i + (2 * w))..]), low, high);
                var d = Truncate(new Vector<float>(x[(i + (3 * w))..]), low, high);
                Vector.Narrow(Vector.Narrow(a, b), Vector.Narrow(c, d)).CopyTo(y[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] = (sbyte)ElementConversions.SaturateToInteger(x[i], sbyte.MinValue, sbyte.MaxValue);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<int> Truncate(Vector<float> v, Vector<float> low, Vector<float> high)
    {
        // NaN lanes become 0 first (a NaN fails every comparison), then the clamp keeps the conversion in range.
        var finite = Vector.ConditionalSelect(Vector.Equals(v, v), v, Vector<float>.Zero);
        return Vector.ConvertToInt32(Vector.Min(Vector.Max(finite, low), high));
    }

    /// <summary>int8 to float32, exact.</summary>
    private static void FromInt8(ReadOnlySpan<sbyte> x, Span<float> y)
    {
        int i = 0;
        int w = Vector<sbyte>.Count;
        int q = w / 4;
        for (; i <= x.Length - w; i += w)
        {
            Vector.Widen(new Vector<sbyte>(x[i..]), out var lo, out var hi);
            Vector.Widen(lo, out var a, out var b);
            Vector.Widen(hi, out var c, out var d);
            Vector.ConvertToSingle(a).CopyTo(y[i..]);
            Vector.ConvertToSingle(b).CopyTo(y[(i + q)..]);
            Vector.ConvertToSingle(c).CopyTo(y[(i + (2 * q))..]);
            Vector.ConvertToSingle(d).CopyTo(y[(i + (3 * q))..]);
        }

        for (; i < x.Length; i++)
        {
            y[i] = x[i];
        }
    }

    /// <summary>bfloat16 bits to float32 bits: the upper half of the float, exact.</summary>
    private static void FromBFloat16(ReadOnlySpan<ushort> x, Span<uint> y)
    {
        int i = 0;
        int w = Vector<ushort>.Count;
        for (; i <= x.Length - w; i += w)
        {
            Vector.Widen(new Vector<ushort>(x[i..]), out var lo, out var hi);
            Vector.ShiftLeft(lo, 16).CopyTo(y[i..]);
            Vector.ShiftLeft(hi, 16).CopyTo(y[(i + (w / 2))..]);
        }

        for (; i < x.Length; i++)
        {
            y[i] = (uint)x[i] << 16;
        }
    }

    private static void ToBFloat16(ReadOnlySpan<uint> x, Span<ushort> y)
    {
        int i = 0;
        int w = Vector<uint>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var bias = new Vector<uint>(0x7FFFu);
            var one = Vector<uint>.One;
            var absMask = new Vector<uint>(0x7FFFFFFFu);
            var inf = new Vector<uint>(0x7F800000u);
            var quiet = new Vector<uint>(0x00400000u);
            for (; i <= x.Length - (2 * w); i += 2 * w)
            {
                var lo = Round(new Vector<uint>(x[i..]), bias, one, absMask, inf, quiet);
                var hi = Round(new Vector<uint>(x[(i + w)..]), bias, one, absMask, inf, quiet);
                Vector.Narrow(lo, hi).CopyTo(y[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] = ElementConversions.ToBFloat16(BitConverter.UInt32BitsToSingle(x[i]));
        }
    }

    /// <summary>
    /// float32 bits to float16 bits, rounding to nearest even: values past the largest half (or rounding up to it) become
    /// infinity, values below the smallest normal half round to a subnormal through one float addition that does the
    /// shifting and rounding, and a block holding a NaN is converted element by element (as <see cref="Half"/> does).
    /// </summary>
    private static void ToHalf(ReadOnlySpan<uint> x, Span<ushort> y)
    {
        int i = 0;
        int w = Vector<uint>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var absMask = new Vector<uint>(0x7FFFFFFFu);
            var inf32 = new Vector<uint>(0x7F800000u);
            var overflow = new Vector<uint>(0x47800000u);
            var smallest = new Vector<uint>(0x38800000u);
            var magic = new Vector<uint>(0x3F000000u);
            var rebias = new Vector<uint>(0xC8000FFFu);
            var one = Vector<uint>.One;
            var inf16 = new Vector<uint>(0x7C00u);
            for (; i <= x.Length - (2 * w); i += 2 * w)
            {
                var a = new Vector<uint>(x[i..]);
                var b = new Vector<uint>(x[(i + w)..]);
                if (Vector.GreaterThanAny(a & absMask, inf32) || Vector.GreaterThanAny(b & absMask, inf32))
                {
                    for (int k = i; k < i + (2 * w); k++)
                    {
                        y[k] = BitConverter.HalfToUInt16Bits((Half)BitConverter.UInt32BitsToSingle(x[k]));
                    }

                    continue;
                }

                Vector.Narrow(HalfBits(a, absMask, overflow, smallest, magic, rebias, one, inf16), HalfBits(b, absMask, overflow, smallest, magic, rebias, one, inf16)).CopyTo(y[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] = BitConverter.HalfToUInt16Bits((Half)BitConverter.UInt32BitsToSingle(x[i]));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> HalfBits(
        Vector<uint> bits, Vector<uint> absMask, Vector<uint> overflow, Vector<uint> smallest, Vector<uint> magic, Vector<uint> rebias, Vector<uint> one, Vector<uint> inf16)
    {
        var f = bits & absMask;
        var sign = Vector.ShiftRightLogical(bits ^ f, 16);
        var subnormal = Vector.AsVectorUInt32(Vector.AsVectorSingle(f) + Vector.AsVectorSingle(magic)) - magic;
        var normal = Vector.ShiftRightLogical(f + rebias + (Vector.ShiftRightLogical(f, 13) & one), 13);
        var result = Vector.ConditionalSelect(Vector.LessThan(f, smallest), subnormal, normal);
        return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(f, overflow), inf16, result) | sign;
    }

    /// <summary>float16 bits to float32 bits (exact): exponent rebias for normals, one float subtraction that normalizes
    /// subnormals, and a block holding an infinity or NaN converted element by element (as <see cref="Half"/> does).</summary>
    private static void FromHalf(ReadOnlySpan<ushort> x, Span<uint> y)
    {
        int i = 0;
        int w = Vector<ushort>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var expMask = new Vector<ushort>(0x7C00);
            var absMask = new Vector<uint>(0x7FFFu);
            var rebias = new Vector<uint>(112u << 23);
            var magic = new Vector<uint>(113u << 23);
            var expBits = new Vector<uint>(0x7C00u << 13);
            for (; i <= x.Length - w; i += w)
            {
                var h = new Vector<ushort>(x[i..]);
                if (Vector.EqualsAny(h & expMask, expMask))
                {
                    for (int k = i; k < i + w; k++)
                    {
                        y[k] = BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(x[k]));
                    }

                    continue;
                }

                Vector.Widen(h, out var lo, out var hi);
                FloatBits(lo, absMask, rebias, magic, expBits).CopyTo(y[i..]);
                FloatBits(hi, absMask, rebias, magic, expBits).CopyTo(y[(i + (w / 2))..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] = BitConverter.SingleToUInt32Bits((float)BitConverter.UInt16BitsToHalf(x[i]));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> FloatBits(Vector<uint> h, Vector<uint> absMask, Vector<uint> rebias, Vector<uint> magic, Vector<uint> expBits)
    {
        var magnitude = Vector.ShiftLeft(h & absMask, 13);
        var sign = Vector.ShiftLeft(h ^ (h & absMask), 16);
        var normal = magnitude + rebias;
        var subnormal = Vector.AsVectorUInt32(Vector.AsVectorSingle(normal + magic - rebias) - Vector.AsVectorSingle(magic));
        var isSubnormal = Vector.Equals(magnitude & expBits, Vector<uint>.Zero);
        return Vector.ConditionalSelect(isSubnormal, subnormal, normal) | sign;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Round(Vector<uint> bits, Vector<uint> bias, Vector<uint> one, Vector<uint> absMask, Vector<uint> inf, Vector<uint> quiet)
    {
        var nan = Vector.GreaterThan(bits & absMask, inf);
        var rounded = (bits + bias + (Vector.ShiftRightLogical(bits, 16) & one)) >> 16;
        return Vector.ConditionalSelect(nan, Vector.ShiftRightLogical(bits | quiet, 16), rounded);
    }
}
