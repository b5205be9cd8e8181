// The CPU backend's vectorized casts give the scalar conversions' results: float32 <-> float16 and bfloat16 the bits
// of System.Half's (round to nearest even) for every half value and for float32 values across all ranges, and
// float32 <-> int8 the saturating truncation of ElementConversions.
namespace Lepton.Tests;

public sealed class CpuHalfConversionTests
{
    [Fact]
    public void EveryHalfWidensToTheFloatSystemHalfGives()
    {
        var all = new Half[65536];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = BitConverter.UInt16BitsToHalf((ushort)i);
        }

        var widened = Tensor.FromArray(all, [all.Length], Device.Cpu).To(DType.Float32).ToArray();
        for (int i = 0; i < all.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToUInt32Bits((float)all[i]), BitConverter.SingleToUInt32Bits(widened[i]));
        }

        var bf16 = Tensor.FromArray(Array.ConvertAll(all, h => (float)h), [all.Length], DType.BFloat16, Device.Cpu);
        Assert.Equal(DType.BFloat16, bf16.DType);
    }

    [Fact]
    public void FloatsNarrowToTheHalfSystemHalfGives()
    {
        var rng = new Random(17);
        var values = new float[1 << 18];
        for (int i = 0; i < values.Length; i++)
        {
            // Random bits over every exponent, plus values near the half range's edges, ties and subnormals.
            values[i] = (i % 4) switch
            {
                0 => BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)),
                1 => (float)((rng.NextDouble() - 0.5) * 140000),
                2 => (float)((rng.NextDouble() - 0.5) * 1e-4),
                _ => (float)(rng.Next(-2048, 2048) + 0.5) * MathF.Pow(2, rng.Next(-24, 6)),
            };
        }

        values[0] = 65520f;
        values[1] = 65519.996f;
        values[2] = -0f;
        values[3] = float.PositiveInfinity;
        var halves = Tensor.FromArray(values, [values.Length], device: Device.Cpu).To(DType.Float16).ToArray<Half>();
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(BitConverter.HalfToUInt16Bits((Half)values[i]), BitConverter.HalfToUInt16Bits(halves[i]));
        }
    }

    [Fact]
    public void Int8CastsSaturateAndTruncateLikeTheScalarRule()
    {
        var rng = new Random(23);
        var values = new float[(1 << 16) + 7];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (i % 3) switch
            {
                0 => (float)((rng.NextDouble() - 0.5) * 400),
                1 => BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)),
                _ => rng.Next(-130, 130) + (rng.Next(2) == 0 ? 0f : 0.5f),
            };
        }

        values[0] = float.NaN;
        values[1] = float.NegativeInfinity;
        values[2] = 127.99f;
        values[3] = -128.5f;
        values[4] = -0.9f;
        var q = Tensor.FromArray(values, [values.Length], DType.Int8, Device.Cpu).ToArray<sbyte>();
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal((sbyte)Lepton.Backends.ElementConversions.SaturateToInteger(values[i], sbyte.MinValue, sbyte.MaxValue), q[i]);
        }

        var back = Tensor.FromArray(q, [q.Length], Device.Cpu).To(DType.Float32).ToArray();
        Assert.Equal(Array.ConvertAll(q, v => (float)v), back);
    }
}
