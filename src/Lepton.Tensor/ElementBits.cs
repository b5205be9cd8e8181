// One value's bit pattern in an element type, as the backends' fills take it; the conversion rules are a cast's.
using Lepton.Backends;

namespace Lepton;

/// <summary>Bit patterns of single values in each element type.</summary>
internal static class ElementBits
{
    /// <summary>The bits of <paramref name="value"/> converted to <paramref name="dtype"/>.</summary>
    public static ulong Of(DType dtype, double value) => dtype switch
    {
        DType.Float32 => BitConverter.SingleToUInt32Bits((float)value),
        DType.Float64 => BitConverter.DoubleToUInt64Bits(value),
        DType.Float16 => BitConverter.HalfToUInt16Bits((Half)value),
        DType.BFloat16 => ElementConversions.ToBFloat16((float)value),
        DType.Int64 => (ulong)ElementConversions.SaturateToInteger(value, long.MinValue, long.MaxValue),
        DType.Int32 => (uint)(int)ElementConversions.SaturateToInteger(value, int.MinValue, int.MaxValue),
        DType.Int16 => (ushort)(short)ElementConversions.SaturateToInteger(value, short.MinValue, short.MaxValue),
        DType.Int8 => (byte)(sbyte)ElementConversions.SaturateToInteger(value, sbyte.MinValue, sbyte.MaxValue),
        DType.UInt8 => (byte)ElementConversions.SaturateToInteger(value, byte.MinValue, byte.MaxValue),
        _ => value != 0 ? 1UL : 0UL,
    };

    /// <summary>The bits of the integer <paramref name="value"/> converted to <paramref name="dtype"/> (wrapping).</summary>
    public static ulong Of(DType dtype, long value) => dtype switch
    {
        DType.Float32 => BitConverter.SingleToUInt32Bits(value),
        DType.Float64 => BitConverter.DoubleToUInt64Bits(value),
        DType.Float16 => BitConverter.HalfToUInt16Bits((Half)value),
        DType.BFloat16 => ElementConversions.ToBFloat16(value),
        DType.Int64 => (ulong)value,
        DType.Int32 => unchecked((uint)value),
        DType.Int16 => unchecked((ushort)value),
        DType.Int8 or DType.UInt8 => unchecked((byte)value),
        _ => value != 0 ? 1UL : 0UL,
    };
}
