// Bit-level conversions of the 16-bit float types, written on integers so that every accelerator runs
// them the same way (no System.Half arithmetic on the device): round to nearest even, NaN stays NaN.
namespace Lepton.Kernels;

/// <summary>float16 (IEEE half) and bfloat16 conversions on their ushort bits, as System.Half converts.</summary>
public static class HalfBits
{
    /// <summary>The float32 value of float16 bits (exact; a NaN keeps its payload and becomes quiet).</summary>
    public static float ToFloat(ushort bits)
    {
        uint sign = (uint)(bits & 0x8000) << 16;
        uint exponent = (uint)(bits >> 10) & 0x1Fu;
        uint mantissa = bits & 0x3FFu;
        if (exponent == 0x1F)
        {
            return Interop.IntAsFloat(sign | 0x7F800000u | (mantissa != 0 ? 0x400000u : 0u) | (mantissa << 13));
        }

        if (exponent == 0)
        {
            // Zero or subnormal: mantissa * 2^-24, exact in float32.
            float magnitude = mantissa * 5.9604645e-8f;
            return Interop.IntAsFloat(sign | Interop.FloatAsInt(magnitude));
        }

        return Interop.IntAsFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }

    /// <summary>The float16 bits nearest to <paramref name="value"/> (ties to even; beyond 65520 infinite; NaN stays NaN).</summary>
    public static ushort FromFloat(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        uint sign = (bits >> 16) & 0x8000u;
        uint magnitude = bits & 0x7FFFFFFFu;
        if (magnitude > 0x7F800000u)
        {
            return (ushort)(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
        }

        if (magnitude >= 0x477FF000u)
        {
            // 65520 and above (the tie with the next power of two included) round to infinity.
            return (ushort)(sign | 0x7C00u);
        }

        if (magnitude >= 0x38800000u)
        {
            // Normal: rebias the exponent (127 - 15), then drop 13 mantissa bits rounding to nearest even.
            uint rebiased = magnitude - 0x38000000u;
            return (ushort)(sign | ((rebiased + 0xFFFu + ((rebiased >> 13) & 1u)) >> 13));
        }

        if (magnitude <= 0x33000000u)
        {
            // At most 2^-25, half the smallest subnormal: the tie goes to the even zero.
            return (ushort)sign;
        }

        // Subnormal: the significand in units of 2^-24.
        int shift = 126 - (int)(magnitude >> 23);
        uint significand = (magnitude & 0x7FFFFFu) | 0x800000u;
        return (ushort)(sign | RoundShift(significand, shift));
    }

    /// <summary>The float16 bits nearest to <paramref name="value"/>, rounded once from the double (ties to even).</summary>
    public static ushort FromDouble(double value)
    {
        ulong bits = Interop.FloatAsInt(value);
        uint sign = (uint)(bits >> 48) & 0x8000u;
        ulong magnitude = bits & 0x7FFFFFFFFFFFFFFFUL;
        if (magnitude > 0x7FF0000000000000UL)
        {
            return (ushort)(sign | 0x7E00u | (uint)((magnitude >> 42) & 0x3FFUL));
        }

        if (magnitude >= 0x40EFFE0000000000UL)
        {
            return (ushort)(sign | 0x7C00u);
        }

        if (magnitude >= 0x3F10000000000000UL)
        {
            // Normal: rebias the exponent (1023 - 15), then drop 42 mantissa bits rounding to nearest even.
            ulong rebiased = magnitude - 0x3F00000000000000UL;
            return (ushort)(sign | (uint)((rebiased + 0x1FFFFFFFFFFUL + ((rebiased >> 42) & 1UL)) >> 42));
        }

        if (magnitude <= 0x3E60000000000000UL)
        {
            return (ushort)sign;
        }

        int shift = 1051 - (int)(magnitude >> 52);
        ulong significand = (magnitude & 0xFFFFFFFFFFFFFUL) | 0x10000000000000UL;
        ulong kept = significand >> shift;
        ulong rest = significand & ((1UL << shift) - 1UL);
        ulong halfway = 1UL << (shift - 1);
        if (rest > halfway || (rest == halfway && (kept & 1UL) != 0))
        {
            kept++;
        }

        return (ushort)(sign | (uint)kept);
    }

    /// <summary>The float32 value of bfloat16 bits (exact).</summary>
    public static float BFloat16ToFloat(ushort bits) => Interop.IntAsFloat((uint)bits << 16);

    /// <summary>The bfloat16 bits nearest to <paramref name="value"/> (ties to even; NaN stays a quiet NaN).</summary>
    public static ushort BFloat16FromFloat(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        {
            return (ushort)((bits >> 16) | 0x0040u);
        }

        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>significand / 2^shift rounded to nearest even (1 &lt;= shift &lt; 32).</summary>
    private static uint RoundShift(uint significand, int shift)
    {
        uint kept = significand >> shift;
        uint rest = significand & ((1u << shift) - 1u);
        uint halfway = 1u << (shift - 1);
        return rest > halfway || (rest == halfway && (kept & 1u) != 0) ? kept + 1u : kept;
    }
}
