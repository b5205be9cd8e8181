// Quantization-aware training: fake quantization forward against QuantParams' rules bit for bit, its straight-through
// gradient exactly, the device-side parameter rules, the moving-average observer's arithmetic, and the prepared models.
using Lepton.Nn.Layers;
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

    [Fact]
    public void PerTensorForwardFollowsTheActivationRule()
    {
        // The range is narrower than the values, so both clamps are exercised.
        var p = QuantParams.FromRange(-0.8f, 1.9f);
        float[] x = Values(1000, -1.5f, 2.5f, 1);
        x[1] = p.Scale * 7.5f;
        var y = Tensor.FromArray(x, [10, 100]).FakeQuantize(Tensor.FromArray([p.Scale], [1]), Tensor.FromArray([(float)p.ZeroPoint], [1]), 0, 255);
        Assert.Equal(Array.ConvertAll(x, v => Fake(v, p.Scale, p.ZeroPoint, 0, 255)), y.ToArray());
    }

    [Fact]
    public void PerChannelForwardFollowsTheWeightRule()
    {
        // Conv kernels [K, C, R, S] have their channels outermost, Dense kernels [inputs, units] innermost.
        float[] w = Values(4 * 3 * 3 * 3, -0.7f, 0.6f, 2);
        Array.Fill(w, 0f, 27, 27);
        var kernel = Tensor.FromArray(w, [4, 3, 3, 3]);
        float[] scales = QuantParams.WeightScales(w, 4);
        var deviceScales = DeviceQuantParams.WeightScales(kernel, 0);
        Assert.Equal(scales, deviceScales.ToArray());
        var y = kernel.FakeQuantize(deviceScales, Tensor.Zeros([4]), -127, 127, axis: 0).ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            Assert.Equal(QuantParams.QuantizeWeight(w[i], scales[i / 27]) * scales[i / 27], y[i]);
        }

        var dense = Tensor.FromArray(w, [27, 4]);
        var transposed = dense.Transpose(0, 1).Contiguous().ToArray();
        float[] unitScales = QuantParams.WeightScales(transposed, 4);
        var denseScales = DeviceQuantParams.WeightScales(dense, 1);
        Assert.Equal(unitScales, denseScales.ToArray());
        var yd = dense.FakeQuantize(denseScales, Tensor.Zeros([4]), -127, 127, axis: -1).ToArray();
        for (int i = 0; i < w.Length; i++)
        {
            Assert.Equal(QuantParams.QuantizeWeight(w[i], unitScales[i % 4]) * unitScales[i % 4], yd[i]);
        }
    }

    [Fact]
    public void StraightThroughGradientIsExact()
    {
        var p = QuantParams.FromRange(-0.5f, 1f);
        float[] values = Values(300, -1f, 2f, 3);
        var x = Tensor.FromArray(values, [3, 100]).RequiresGrad_();
        var scale = Tensor.FromArray([p.Scale], [1]).RequiresGrad_();
        var zeroPoint = Tensor.FromArray([(float)p.ZeroPoint], [1]).RequiresGrad_();
        float[] dy = Values(300, -3f, 3f, 4);
        x.FakeQuantize(scale, zeroPoint, 0, 255).Backward(Tensor.FromArray(dy, [3, 100]));
        var dx = x.Grad!.ToArray();
        int passed = 0;
        for (int i = 0; i < values.Length; i++)
        {
            float q = MathF.Round(values[i] / p.Scale) + p.ZeroPoint;
            bool inside = q >= 0 && q <= 255;
            passed += inside ? 1 : 0;
            Assert.Equal(inside ? dy[i] : 0f, dx[i]);
        }

        Assert.InRange(passed, 50, 250);
        Assert.Null(scale.Grad);
        Assert.Null(zeroPoint.Grad);
    }

    [Fact]
    public void FakeQuantizeRefusesBadArguments()
    {
        var x = Tensor.Zeros([2, 3]);
        Assert.Contains("3 scale(s)", Assert.Throws<ArgumentException>(() => x.FakeQuantize(Tensor.Ones([2]), Tensor.Zeros([2]), -127, 127, axis: 1)).Message);
        Assert.Contains("quantMin", Assert.Throws<ArgumentException>(() => x.FakeQuantize(Tensor.Ones([1]), Tensor.Zeros([1]), 5, 4)).Message);
        Assert.Contains("axis 2", Assert.Throws<ArgumentException>(() => x.FakeQuantize(Tensor.Ones([1]), Tensor.Zeros([1]), 0, 255, axis: 2)).Message);
    }

    [Fact]
    public void ObserverSetsThenAveragesTheRangeOnlyInTraining()
    {
        var observer = new FakeQuantize();
        var first = Tensor.FromArray(Values(64, -0.4f, 1.2f, 5), [4, 16]);
        var second = Tensor.FromArray(Values(64, -1f, 3f, 6), [4, 16]);

        // Before any training batch the layer is the identity; inference leaves the range alone.
        Assert.Equal(first.ToArray(), observer.Call(first).ToArray());
        Assert.False(observer.HasObserved);
        observer.Call(first, training: true);
        Assert.Equal((-0.4f, 1.2f), observer.Range);
        var y = observer.Call(second, training: true);
        float min = -0.4f + (0.01f * (-1f - -0.4f)), max = 1.2f + (0.01f * (3f - 1.2f));
        Assert.Equal((min, max), observer.Range);

        // The output is on the grid of the updated range.
        var p = QuantParams.FromRange(min, max);
        Assert.Equal(Array.ConvertAll(second.ToArray(), v => Fake(v, p.Scale, p.ZeroPoint, 0, 255)), y.ToArray());
        observer.Call(first);
        Assert.Equal((min, max), observer.Range);
        observer.Frozen = true;
        observer.Call(first, training: true);
        Assert.Equal((min, max), observer.Range);
        observer.Frozen = false;
        observer.Call(first, training: true);
        Assert.Equal(min + (0.01f * (-0.4f - min)), observer.Range.Min);
    }

    [Fact]
    public void WrapperRunsTheLayerOnTheFakeQuantizedKernel()
    {
        var conv = new Conv2D(3, 3, padding: "same", activation: "relu", inputShape: [2, 5, 5]);
        var wrapper = new QuantizeWrapper(conv);
        var x = Tensor.FromArray(Values(2 * 2 * 25, -1f, 1f, 7), [2, 2, 5, 5]);
        var y = wrapper.Call(x, training: true);
        float[] w = conv.Kernel.Value.ToArray();
        float[] scales = QuantParams.WeightScales(w, 3);
        float[] quantized = new float[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            quantized[i] = QuantParams.QuantizeWeight(w[i], scales[i / 18]) * scales[i / 18];
        }

        var expected = conv.Forward(x, Tensor.FromArray(quantized, conv.Kernel.Shape), training: true);
        Assert.Equal(expected.ToArray(), y.ToArray());
        y.Sum().Backward();
        Assert.NotNull(conv.Kernel.Value.Grad);
        Assert.Throws<ArgumentException>(() => new QuantizeWrapper(new Flatten()));
    }
}
