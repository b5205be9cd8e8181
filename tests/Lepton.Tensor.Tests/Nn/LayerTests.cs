// Layers: shapes inferred on first use, values against direct tensor computations, channels-last
// against channels-first, "same" padding, batch-norm statistics, frozen layers, bad arguments.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Tests.Support;

namespace Lepton.Tests.Nn;

public sealed class LayerTests
{
    [Fact]
    public void DenseIsMatMulPlusBiasOnTheLastAxis()
    {
        var dense = new Dense(3, activation: "relu", seed: 1);
        var x = Tensor.RandN([2, 4, 5], new Generator(2));
        var y = dense.Call(x);
        Assert.Equal(new[] { 2, 4, 3 }, y.Shape);
        Assert.Equal(new[] { 5, 3 }, dense.Kernel.Shape);
        var expected = (x.MatMul(dense.Kernel.Value) + dense.Bias!.Value).Relu();
        Assert.Equal(expected.ToArray(), y.ToArray());
        Assert.Equal(18, dense.CountParams());
        var e = Assert.Throws<ArgumentException>(() => dense.Call(Tensor.Zeros([2, 4])));
        Assert.Contains("5 input features", e.Message);
    }

    [Fact]
    public void GlorotUniformHasKerasLimits()
    {
        var dense = new Dense(200, seed: 3);
        dense.Call(Tensor.Zeros([1, 100]));
        var w = dense.Kernel.Value.ToArray();
        float limit = MathF.Sqrt(6f / 300f);
        Assert.All(w, v => Assert.InRange(v, -limit, limit));
        Assert.InRange(w.Max(), limit * 0.95f, limit);
        Assert.All(dense.Bias!.Value.ToArray(), v => Assert.Equal(0f, v));
        var he = new Conv2D(64, 3, kernelInitializer: "he_normal", seed: 4);
        he.Call(Tensor.Zeros([1, 16, 5, 5]));
        var k = he.Kernel.Value.ToArray();
        double std = Math.Sqrt(k.Select(v => (double)v * v).Average());
        Assert.InRange(std, Math.Sqrt(2.0 / 144) * 0.9, Math.Sqrt(2.0 / 144) * 1.1);
    }

    [Theory]
    [InlineData(28, 3, 1, 28)]
    [InlineData(28, 3, 2, 14)]
    [InlineData(7, 2, 2, 4)]
    [InlineData(8, 4, 3, 3)]
    public void SamePaddingGivesCeilOfInputOverStride(int size, int kernel, int stride, int expected)
    {
        var conv = new Conv2D(2, kernel, strides: stride, padding: "same", seed: 1);
        Assert.Equal(new[] { 1, 2, expected, expected }, conv.Call(Tensor.RandN([1, 3, size, size], new Generator(1))).Shape);
        var pool = new MaxPooling2D(kernel, stride, padding: "same");
        Assert.Equal(new[] { 1, 3, expected, expected }, pool.Call(Tensor.RandN([1, 3, size, size], new Generator(1))).Shape);
    }

    [Fact]
    public void AsymmetricSamePaddingMatchesExplicitZeroPadding()
    {
        // size 7, kernel 2, stride 2: TensorFlow pads 0 rows on top and 1 below.
        var x = Generators.Values([1, 2, 7, 7], 3);
        var w = Generators.Values([3, 2, 2, 2], 4);
        var padded = new double[2 * 8 * 8];
        for (int c = 0; c < 2; c++)
        {
            for (int i = 0; i < 7; i++)
            {
                for (int j = 0; j < 7; j++)
                {
                    padded[(c * 64) + (i * 8) + j] = x[0, c, i, j];
                }
            }
        }

        var expected = ConvPoolTests.ConvRef(new Nd(padded, [1, 2, 8, 8]), w, null, 2, 0, 1, 1);
        var actual = x.ToTensor(Device.Cpu).Conv2d(w.ToTensor(Device.Cpu), stride: (2, 2), padding: new Padding2d(0, 1, 0, 1));
        Check.Close(expected, actual, 1e-5, 1e-5, "asymmetric padding");
    }

    [Fact]
    public void ChannelsLastMatchesChannelsFirst()
    {
        var first = new Conv2D(4, 3, padding: "same", seed: 7);
        var last = new Conv2D(4, 3, padding: "same", seed: 7, dataFormat: DataFormat.ChannelsLast);
        var x = Tensor.RandN([2, 3, 6, 5], new Generator(1));
        var y1 = first.Call(x);
        var y2 = last.Call(x.Permute(0, 2, 3, 1));
        Assert.Equal(new[] { 2, 6, 5, 4 }, y2.Shape);
        Check.Close(Nd.From(y1.Permute(0, 2, 3, 1)), y2, 1e-6, 1e-6, "NHWC conv");
        var pooled = new MaxPooling2D(2, dataFormat: DataFormat.ChannelsLast).Call(y2);
        Check.Close(Nd.From(new MaxPooling2D(2).Call(y1).Permute(0, 2, 3, 1)), pooled, 0, 0, "NHWC pool");
        var gap = new GlobalAveragePooling2D(DataFormat.ChannelsLast).Call(y2);
        Check.Close(Nd.From(y1.Mean([2, 3])), gap, 1e-6, 1e-6, "NHWC global pool");
    }

    [Fact]
    public void BatchNormalizationUsesKerasMomentumAndRunningStatisticsAtInference()
    {
        var bn = new BatchNormalization(momentum: 0.9f, epsilon: 1e-3f);
        var x = Tensor.RandN([8, 2, 3, 3], new Generator(5)) * 2f + 1f;
        var y = bn.Call(x, training: true);
        Assert.InRange(y.Mean().Item(), -1e-5f, 1e-5f);
        var batchMean = x.Mean([0, 2, 3]).ToArray();
        var running = bn.MovingMean.Value.ToArray();
        for (int c = 0; c < 2; c++)
        {
            Assert.Equal(0.1f * batchMean[c], running[c], 5);
        }

        Assert.Equal(4, bn.Weights.Count);
        Assert.Equal(2, bn.TrainableWeights.Count);
        var inference = bn.Call(x, training: false).ToArray();
        var mean = bn.MovingMean.Value.ToArray();
        var variance = bn.MovingVariance.Value.ToArray();
        var xs = x.ToArray();
        Assert.Equal((xs[0] - mean[0]) / MathF.Sqrt(variance[0] + 1e-3f), inference[0], 4);
    }

    [Fact]
    public void DropoutOnlyActsWhileTraining()
    {
        var drop = new Dropout(0.5f, seed: 3);
        var x = Tensor.Ones([100]).Reshape(1, 100);
        Assert.Equal(x.ToArray(), drop.Call(x).ToArray());
        var trained = drop.Call(x, training: true).ToArray();
        Assert.Contains(0f, trained);
        Assert.Contains(2f, trained);
    }

    [Fact]
    public void ShapeAndActivationLayers()
    {
        var x = Tensor.Arange(24).Reshape(2, 3, 4);
        Assert.Equal(new[] { 2, 12 }, new Flatten().Call(x).Shape);
        Assert.Equal(new[] { 2, 4, 3 }, new Reshape([4, -1]).Call(x).Shape);
        Assert.Equal(new[] { 0f, 0f, 2f }, new ReLU().Call(Tensor.FromArray([-1f, 0f, 2f], [1, 3])).ToArray());
        Assert.Equal(new[] { -0.1f, 0f, 2f }, new ReLU(0.1f).Call(Tensor.FromArray([-1f, 0f, 2f], [1, 3])).ToArray());
        var p = new Softmax().Call(Tensor.FromArray([1f, 1f], [1, 2])).ToArray();
        Assert.Equal(new[] { 0.5f, 0.5f }, p);
        Assert.Equal(MathF.Tanh(0.5f), new Activation("tanh").Call(Tensor.Full([1, 1], 0.5f)).Item(), 6);
        var e = Assert.Throws<ArgumentException>(() => new Activation("swishy"));
        Assert.Contains("swishy", e.Message);
        Assert.Throws<ArgumentException>(() => new Conv2D(8, 3, padding: "full"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dense(0));
    }

    [Fact]
    public void EmbeddingMapsIdsToRows()
    {
        var embed = new Embedding(10, 4, seed: 1);
        var ids = Tensor.FromArray(new[] { 1, 9, 1 }, [1, 3]);
        var y = embed.Call(ids);
        Assert.Equal(new[] { 1, 3, 4 }, y.Shape);
        Assert.Equal(y[0, 0].ToArray(), y[0, 2].ToArray());
        Assert.All(embed.Embeddings.Value.ToArray(), v => Assert.InRange(v, -0.05f, 0.05f));
        Assert.Throws<ArgumentException>(() => embed.Call(Tensor.Zeros([1, 3])));
    }

    [Fact]
    public void DeclaredInputShapeIsEnforced()
    {
        var dense = new Dense(2, inputShape: [3]);
        Assert.True(dense.Built);
        Assert.Equal(new[] { 2 }, dense.OutputShape);
        var e = Assert.Throws<ArgumentException>(() => dense.Call(Tensor.Zeros([1, 4])));
        Assert.Contains("3 input features", e.Message);
        Assert.Contains("[1, 4]", e.Message);
        var conv = new Conv2D(2, 3);
        conv.Call(Tensor.Zeros([1, 3, 5, 5]));
        Assert.Throws<ArgumentException>(() => conv.Call(Tensor.Zeros([1, 4, 5, 5])));
    }
}
