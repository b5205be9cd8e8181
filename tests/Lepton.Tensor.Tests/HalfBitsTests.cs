// The device-side float16 and bfloat16 conversions (integer bit manipulation, Lepton.Kernels.HalfBits)
// against System.Half and ElementConversions on every half value and on float32/float64 values chosen
// around every rounding boundary: ties, one ulp either side, subnormals, overflow, infinities and NaN.
using Lepton.Backends;
using Lepton.Kernels;

namespace Lepton.Tests;

public sealed class HalfBitsTests
{
    [Fact]
    public void EveryHalfConvertsToFloatAsSystemHalfDoes()
    {
        for (int h = 0; h < 65536; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(HalfBits.ToFloat((ushort)h)));
        }
    }

    [Fact]
    public void FloatsRoundToHalfAsSystemHalfDoes()
    {
        foreach (float f in FloatCases())
        {
            ushort expected = BitConverter.HalfToUInt16Bits((Half)f);
            ushort actual = HalfBits.FromFloat(f);
            if (expected != actual)
            {
                Assert.Fail($"(Half){f:R} (bits {BitConverter.SingleToUInt32Bits(f):X8}): System.Half {expected:X4}, HalfBits {actual:X4}");
            }
        }
    }

    [Fact]
    public void DoublesRoundToHalfOnceAsSystemHalfDoes()
    {
        foreach (double d in DoubleCases())
        {
            ushort expected = BitConverter.HalfToUInt16Bits((Half)d);
            ushort actual = HalfBits.FromDouble(d);
            if (expected != actual)
            {
                Assert.Fail($"(Half){d:R} (bits {BitConverter.DoubleToUInt64Bits(d):X16}): System.Half {expected:X4}, HalfBits {actual:X4}");
            }
        }
    }

    [Fact]
    public void BFloat16MatchesElementConversions()
    {
        foreach (float f in FloatCases())
        {
            Assert.Equal(ElementConversions.ToBFloat16(f), HalfBits.BFloat16FromFloat(f));
        }

        for (int b = 0; b < 65536; b++)
        {
            Assert.Equal(BitConverter.SingleToUInt32Bits(ElementConversions.FromBFloat16((ushort)b)), BitConverter.SingleToUInt32Bits(HalfBits.BFloat16ToFloat((ushort)b)));
        }
    }

    /// <summary>Every half value, the midpoints between neighbours, one float ulp either side of each, and random bit patterns.</summary>
    private static IEnumerable<float> FloatCases()
    {
        for (int h = 0; h < 0x7C00; h++)
        {
            foreach (int sign in new[] { 0, 0x8000 })
            {
                float a = (float)BitConverter.UInt16BitsToHalf((ushort)(h | sign));
                float b = (float)BitConverter.UInt16BitsToHalf((ushort)((h + 1) | sign));
                float mid = (a + b) / 2;
                yield return a;
                yield return mid;
                yield return MathF.BitIncrement(mid);
                yield return MathF.BitDecrement(mid);
            }
        }

        float[] specials = [float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN, float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 65520f, 65519.996f, 1e10f];
        foreach (float s in specials)
        {
            yield return s;
        }

        var rng = new Random(1);
        for (int i = 0; i < 1_000_000; i++)
        {
            yield return BitConverter.Int32BitsToSingle(rng.Next() | (rng.Next(2) << 31));
        }

        // The half range, where rounding matters most, densely.
        for (int i = 0; i < 200_000; i++)
        {
            yield return BitConverter.Int32BitsToSingle(0x33000000 + rng.Next(0x47800000 - 0x33000000));
        }
    }

    /// <summary>Midpoints between half neighbours, a double ulp either side (double rounding would get these wrong), NaN payloads and random doubles.</summary>
    private static IEnumerable<double> DoubleCases()
    {
        for (int h = 0; h < 0x7C00; h++)
        {
            double a = (double)BitConverter.UInt16BitsToHalf((ushort)h);
            double b = (double)BitConverter.UInt16BitsToHalf((ushort)(h + 1));
            double mid = (a + b) / 2;
            foreach (double d in new[] { a, mid, Math.BitIncrement(mid), Math.BitDecrement(mid), mid + (mid * 1e-9), mid - (mid * 1e-9) })
            {
                yield return d;
                yield return -d;
            }
        }

        double[] specials = [double.PositiveInfinity, double.NegativeInfinity, double.NaN, -double.NaN, BitConverter.UInt64BitsToDouble(0x7FF0000000000001), BitConverter.UInt64BitsToDouble(0xFFF4000012345678), double.MaxValue, double.Epsilon, 65520.0, 65519.99999999, 1e300];
        foreach (double s in specials)
        {
            yield return s;
        }

        var rng = new Random(2);
        for (int i = 0; i < 500_000; i++)
        {
            yield return BitConverter.Int64BitsToDouble(rng.NextInt64() | (rng.Next(2) == 0 ? long.MinValue : 0));
            yield return BitConverter.Int64BitsToDouble(0x3E60000000000000L + rng.NextInt64(0x40F0000000000000L - 0x3E60000000000000L));
        }
    }
}
