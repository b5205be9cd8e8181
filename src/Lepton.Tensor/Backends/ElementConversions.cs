// Conversions between element types, one definition for every backend: integers wrap when narrowed (C#'s
// unchecked conversions), floating values convert to integers by truncation toward zero and saturate at the
// target's range (NaN gives 0), and 16-bit floats round to nearest even. BFloat16 is the upper half of a float32.
using System.Runtime.CompilerServices;

namespace Lepton.Backends;

/// <summary>Scalar conversions between element types, as every backend's cast applies them.</summary>
public static class ElementConversions
{
    /// <summary>The bfloat16 bits nearest to <paramref name="value"/> (ties to even; NaN stays a quiet NaN).</summary>
    /// <param name="value">The float32 value.</param>
    /// <example><code>ElementConversions.ToBFloat16(1f) // 0x3F80</code></example>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        {
            return (ushort)((bits >> 16) | 0x0040u);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>The float32 value of bfloat16 bits (exact).</summary>
    /// <param name="bits">The bfloat16 bits.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>A floating value as an integer of [<paramref name="min"/>, <paramref name="max"/>]: truncated toward zero,
    /// saturated at the range, and 0 for NaN.</summary>
    /// <param name="value">The floating value.</param>
    /// <param name="min">The smallest value of the target type.</param>
    /// <param name="max">The largest value of the target type.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long SaturateToInteger(double value, long min, long max)
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
