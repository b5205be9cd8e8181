// Dropout (training flag, seeded, inverted scaling), batch norm (training and inference
// statistics, running-stat updates) and embedding lookup.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class LayerFunctionTests : BackendTests
{
    [Fact]
    public void DropoutIsIdentityWhenNotTrainingAndSeededWhenTraining()
    {
        var x = Tensor.Ones([1000], device: Device);
        Assert.Equal(x.ToArray(), x.Dropout(0.5f, training: false).ToArray());
        var a = x.Dropout(0.3f, training: true, new Generator(7)).ToArray();
        var b = x.Dropout(0.3f, training: true, new Generator(7)).ToArray();
        Assert.Equal(a, b);
        Assert.All(a, v => Assert.True(v == 0f || Math.Abs(v - (1f / 0.7f)) < 1e-6));
        int dropped = a.Count(v => v == 0f);
        Assert.InRange(dropped, 240, 360);
        Assert.NotEqual(a, x.Dropout(0.3f, training: true, new Generator(8)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Dropout(1.5f, true));
    }

    [Fact]
    public void DropoutGradientIsTheMask()
    {
        var x = Tensor.RandN([50], new Generator(1), Device).RequiresGrad_();
        var y = x.Dropout(0.5f, training: true, new Generator(3));
        y.Sum().Backward();
        var yv = y.ToArray();
        var xv = x.ToArray();
        var g = x.Grad!.ToArray();
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(yv[i] == 0f && xv[i] != 0f ? 0f : 2f, g[i]);
        }
    }

    [Fact]
    public void BatchNormTrainingNormalizesAndUpdatesRunningStatistics()
    {
        var xNd = Generators.Values([4, 3, 2, 2], 1, -3, 5);
        var x = T(xNd);
        var runningMean = Tensor.Zeros([3], device: Device);
        var runningVar = Tensor.Ones([3], device: Device);
        var y = x.BatchNorm(runningMean, runningVar, training: true, momentum: 0.1f);
        var mean = xNd.Reduce([0, 2, 3], false, v => v.Average());
        var variance = xNd.Reduce([0, 2, 3], false, v => v.Sum(e => (e - v.Average()) * (e - v.Average())) / v.Count);
        var unbiased = xNd.Reduce([0, 2, 3], false, v => v.Sum(e => (e - v.Average()) * (e - v.Average())) / (v.Count - 1));
        var expected = Nd.Zip(Nd.Zip(xNd, mean.Reshape([1, 3, 1, 1]), (a, m) => a - m), variance.Reshape([1, 3, 1, 1]), (a, v) => a / Math.Sqrt(v + 1e-5));
        Check.Close(expected, y, 1e-5, 1e-4, "batch norm");
        Check.Close(mean.Map(m => 0.1 * m), runningMean, 1e-6, 1e-5, "running mean");
        Check.Close(unbiased.Map(v => 0.9 + (0.1 * v)), runningVar, 1e-6, 1e-5, "running var");
        var inference = x.BatchNorm(runningMean, runningVar, training: false);
        var expectedInference = Nd.Zip(Nd.Zip(xNd, mean.Map(m => 0.1 * m).Reshape([1, 3, 1, 1]), (a, m) => a - m), unbiased.Map(v => 0.9 + (0.1 * v)).Reshape([1, 3, 1, 1]), (a, v) => a / Math.Sqrt(v + 1e-5));
        Check.Close(expectedInference, inference, 1e-5, 1e-4, "inference");
    }

    [Fact]
    public void BatchNormGradientsMatchFiniteDifferences()
    {
        var x = Generators.Values([4, 3], 2);
        var w = Generators.Values([3], 3);
        var b = Generators.Values([3], 4);
        GradCheck.Run(Device, [x, w, b], t => t[0].BatchNorm(null, null, t[1], t[2], training: true), r =>
        {
            var mean = r[0].Reduce([0], true, v => v.Average());
            var variance = r[0].Reduce([0], true, v => v.Sum(e => (e - v.Average()) * (e - v.Average())) / v.Count);
            var norm = Nd.Zip(Nd.Zip(r[0], mean, (a, m) => a - m), variance, (a, v) => a / Math.Sqrt(v + 1e-5));
            return Nd.Zip(Nd.Zip(norm, r[1], (a, g) => a * g), r[2], (a, c) => a + c);
        }, atol: 5e-3, rtol: 5e-3);
    }

    [Fact]
    public void BatchNormInferenceGradientsTreatRunningStatisticsAsConstants()
    {
        var x = Generators.Values([3, 2, 2, 2], 5);
        var w = Generators.Values([2], 6);
        var b = Generators.Values([2], 7);
        var runningMean = T([0.3f, -0.2f], 2);
        var runningVar = T([1.5f, 0.7f], 2);
        GradCheck.Run(Device, [x, w, b], t => t[0].BatchNorm(runningMean, runningVar, t[1], t[2], training: false), r =>
        {
            var mean = new Nd([0.3f, -0.2f], [1, 2, 1, 1]);
            var variance = new Nd([1.5f, 0.7f], [1, 2, 1, 1]);
            var norm = Nd.Zip(Nd.Zip(r[0], mean, (a, m) => a - m), variance, (a, v) => a / Math.Sqrt(v + 1e-5));
            return Nd.Zip(Nd.Zip(norm, r[1].Reshape([1, 2, 1, 1]), (a, g) => a * g), r[2].Reshape([1, 2, 1, 1]), (a, c) => a + c);
        });
    }

    [Fact]
    public void BatchNormRejectsBadShapes()
    {
        var x = Tensor.Zeros([4, 3], device: Device);
        var e = Assert.Throws<ArgumentException>(() => x.BatchNorm(Tensor.Zeros([2], device: Device), Tensor.Ones([3], device: Device)));
        Assert.Contains("[2]", e.Message);
        Assert.Throws<ArgumentException>(() => x.BatchNorm(null, null, training: false));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([1, 3], device: Device).BatchNorm(null, null, training: true));
    }

    [Fact]
    public void EmbeddingLooksUpRowsAndAccumulatesRepeatedIndices()
    {
        var table = Generators.Values([5, 3], 1);
        var ids = Tensor.FromArray(new[] { 4, 1, 4, 0 }, [2, 2], Device);
        var e = Tensor.Embedding(ids, T(table));
        Assert.Equal(new[] { 2, 2, 3 }, e.Shape);
        Assert.Equal((float)table[4, 2], e[1, 0, 2].Item());
        GradCheck.Run(Device, [table], t => Tensor.Embedding(ids, t[0]), r => new Nd([.. new[] { 4, 1, 4, 0 }.SelectMany(i => Enumerable.Range(0, 3).Select(j => r[0][i, j]))], [2, 2, 3]));
        Assert.Throws<IndexOutOfRangeException>(() => Tensor.Embedding(Tensor.FromArray(new[] { 5 }, [1], Device), T(table)).ToArray());
    }
}

public sealed class LayerFunctionTestsCpu : LayerFunctionTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class LayerFunctionTestsIlgpuCpu : LayerFunctionTests
{
    protected override Device Device => Device.IlgpuCpu;
}
