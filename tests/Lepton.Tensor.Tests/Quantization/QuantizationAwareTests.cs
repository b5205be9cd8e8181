// Quantization-aware training: fake quantization forward against QuantParams' rules bit for bit, its straight-through
// gradient exactly, the device-side parameter rules, the moving-average observer's arithmetic, and the prepared models.
using Lepton.Nn.Quantization;

namespace Lepton.Tests.Quantization;

public sealed partial class QuantizationAwareTests
{
    /// <summary>Values over [lo, hi] with a few exact grid ties and the bounds themselves.</summary>
    private static float[] Values(int count, float lo, float hi, ulong seed)
    {
        var random = new Random((int)seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = lo + ((hi - lo) * (float)random.NextDouble());
        }

        values[0] = lo;
        values[^1] = hi;
        return values;
    }

    /// <summary>QuantParams' grid applied on the host, each step one float32 operation.</summary>
    private static float Fake(float x, float scale, int zeroPoint, int qmin, int qmax)
    {
        float q = MathF.Round(x / scale) + zeroPoint;
        return (Math.Clamp(q, qmin, qmax) - zeroPoint) * scale;
    }

    [Theory]
    [InlineData(-1.3f, 2.7f)]
    [InlineData(0.25f, 6f)]
    [InlineData(-5f, -0.5f)]
    [InlineData(0f, 0f)]
    [InlineData(0f, 1e-37f)]
    [InlineData(-3e-38f, 0f)]
    public void DeviceParamsAreQuantParamsBitForBit(float min, float max)
    {
        var expected = QuantParams.FromRange(min, max);
        var (scale, zeroPoint) = DeviceQuantParams.FromRange(Tensor.FromArray([min], [1]), Tensor.FromArray([max], [1]));
        Assert.Equal(expected.Scale, scale.ToArray()[0]);
        Assert.Equal(expected.ZeroPoint, zeroPoint.ToArray()[0]);
    }

    [Fact]
    public void RoundIsToNearestEven()
    {
        float[] x = [-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.49999f, -7.7f, 4194305f, 1e9f, -0f];
        Assert.Equal(Array.ConvertAll(x, MathF.Round), Tensor.FromArray(x, [x.Length]).Round().ToArray());
    }
}
