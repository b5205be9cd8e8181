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

/// <summary>Vectorized float32 to bfloat16 and back, the conversions that run at memory speed.</summary>
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

        if (typeof(TFrom) == typeof(ushort) && typeof(TTo) == typeof(float))
        {
            var src = System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, ushort>(x);
            var dst = System.Runtime.InteropServices.MemoryMarshal.Cast<TTo, uint>(y);
            for (int i = 0; i < src.Length; i++)
            {
                dst[i] = (uint)src[i] << 16;
            }

            return true;
        }

        return false;
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<uint> Round(Vector<uint> bits, Vector<uint> bias, Vector<uint> one, Vector<uint> absMask, Vector<uint> inf, Vector<uint> quiet)
    {
        var nan = Vector.GreaterThan(bits & absMask, inf);
        var rounded = (bits + bias + (Vector.ShiftRightLogical(bits, 16) & one)) >> 16;
        return Vector.ConditionalSelect(nan, Vector.ShiftRightLogical(bits | quiet, 16), rounded);
    }
}
