// Metrics against hand-counted values, ties included, on each backend (they are computed on the device).
using Lepton.Nn;
using Lepton.Tests.Support;

namespace Lepton.Tests.Nn;

public abstract class MetricTests : BackendTests
{
    [Fact]
    public void AccuracyAndTopKCountTiesTowardsTheLowerClass()
    {
        // Row 0: argmax 1 (label 1, hit). Row 1: classes 0 and 2 tie at the top, first wins: 0 (label 2, miss).
        // Row 2: label 2 is third (miss at k=2). Row 3: label 0 second after class 3 (hit at k=2).
        var scores = T([0.1f, 0.7f, 0.2f, 0f, 0.4f, 0f, 0.4f, 0.2f, 0.5f, 0.3f, 0.1f, 0f, 0.3f, 0f, 0f, 0.6f], 4, 4);
        var labels = Tensor.FromArray(new[] { 1, 2, 2, 0 }, [4], Device);
        Assert.Equal(0.25, Measure(new Accuracy(), labels, scores));
        Assert.Equal(0.25, Measure(new SparseCategoricalAccuracy(), labels, scores));
        Assert.Equal(0.75, Measure(new TopKAccuracy(2), labels, scores));
        Assert.Equal(1.0, Measure(new TopKAccuracy(4), labels, scores));
        var oneHot = T([0f, 1f, 0f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f, 0f, 1f, 0f, 0f, 0f], 4, 4);
        Assert.Equal(0.25, Measure(new CategoricalAccuracy(), oneHot, scores));
    }

    [Fact]
    public void BinaryAccuracyThresholdsAtOneHalfAndBatchesAccumulate()
    {
        var metric = new Accuracy();
        metric.Update(T([1f, 0f, 1f], 3, 1), T([0.9f, 0.2f, 0.4f], 3, 1));
        metric.Update(T([0f], 1, 1), T([0.7f], 1, 1));
        Assert.Equal(0.5, metric.Result());
        metric.Reset();
        Assert.Equal(0.0, metric.Result());
    }

    [Fact]
    public void AMetricMeasuredOnTheHostStillWorks()
    {
        var metric = new LargestPrediction();
        metric.Update(T([0f, 0f], 2), T([1f, 5f], 2));
        metric.Update(T([0f], 1), T([2f], 1));
        Assert.Equal((5.0 * 2 + 2.0) / 3, metric.Result(), 6);
    }

    private static double Measure(Metric metric, Tensor target, Tensor prediction)
    {
        metric.Update(target, prediction);
        return metric.Result();
    }

    /// <summary>A user metric written against host values.</summary>
    private sealed class LargestPrediction : HostMetric
    {
        public override string Name => "largest";

        protected override (double Sum, double Count) Measure(Tensor target, Tensor prediction) => (prediction.ToArray().Max() * target.Numel, target.Numel);
    }
}

public sealed class MetricTestsCpu : MetricTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class MetricTestsIlgpuCpu : MetricTests
{
    protected override Device Device => Device.IlgpuCpu;
}
