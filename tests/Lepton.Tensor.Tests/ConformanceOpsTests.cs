// Ops and options that ONNX/PyTorch conformance testing asked for: squeeze/unsqueeze over several axes,
// one-sided clamp, negative gather indices, argmax/argmin of the last extreme, log-softmax at large
// inputs, and batch norm's running-variance rule; each against exact or float64 references.
using Lepton.Nn.Layers;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class ConformanceOpsTests : BackendTests
{
    [Fact]
    public void SqueezeAndUnsqueezeOverSeveralAxes()
    {
        var x = Tensor.Zeros([1, 3, 1, 2, 1], device: Device);
        Assert.Equal([3, 2, 1], x.Squeeze([0, 2]).Shape);
        Assert.Equal([1, 3, 2], x.Squeeze([-1, 2]).Shape);
        Assert.Equal([3, 2], x.Squeeze([]).Shape);
        Assert.Equal([1, 3, 1, 2, 1], x.Squeeze(1).Shape); // the single-axis overload keeps PyTorch's no-op

        var v = Tensor.Zeros([3, 2], device: Device);
        Assert.Equal([1, 3, 1, 2], v.Unsqueeze([0, 2]).Shape);
        Assert.Equal([1, 3, 2, 1], v.Unsqueeze([0, -1]).Shape);
        Assert.Equal([3, 1, 1, 2], v.Unsqueeze([2, 1]).Shape);

        // Values and gradients pass through unchanged.
        var data = Generators.Values([1, 3, 1, 2], 1);
        GradCheck.Run(Device, [data], t => t[0].Squeeze([0, 2]).Unsqueeze([-1, 0]), r => r[0].Reshape([1, 3, 2, 1]));

        var e = Assert.Throws<ArgumentException>(() => x.Squeeze([1]));
        Assert.Contains("Squeeze: axis 1 has size 3, not 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.Squeeze([0, -5]));
        Assert.Contains("given twice", e.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => x.Squeeze([5]));
        Assert.Contains("Squeeze: axis 5 is out of range for 5 dimensions", range.Message);
        e = Assert.Throws<ArgumentException>(() => v.Unsqueeze([1, 1]));
        Assert.Contains("Unsqueeze: axis 1 is given twice", e.Message);
        range = Assert.Throws<ArgumentOutOfRangeException>(() => v.Unsqueeze([4]));
        Assert.Contains("Unsqueeze: axis 4 is out of range for 3 dimensions", range.Message);
    }

    [Fact]
    public void ClampWithOneBoundMatchesPyTorch()
    {
        // torch.clamp(x, min=0.5) and torch.clamp(x, max=0.5); the gradient passes at the bound itself.
        float[] values = [-1f, 0.5f, 2f, 0.25f];
        var x = T(values, 4).RequiresGrad_();
        var low = x.Clamp(0.5f, null);
        Assert.Equal([0.5f, 0.5f, 2f, 0.5f], low.ToArray());
        low.Sum().Backward();
        Assert.Equal([0f, 1f, 1f, 0f], x.Grad!.ToArray());

        var y = T(values, 4).RequiresGrad_();
        var high = y.Clamp(null, 0.5f);
        Assert.Equal([-1f, 0.5f, 0.5f, 0.25f], high.ToArray());
        high.Sum().Backward();
        Assert.Equal([1f, 1f, 0f, 1f], y.Grad!.ToArray());

        var data = Generators.Values([3, 4], 2);
        GradCheck.Run(Device, [data], t => t[0].Clamp(-0.5f, null), r => r[0].Map(v => Math.Max(v, (double)(-0.5f))));
        GradCheck.Run(Device, [data], t => t[0].Clamp(null, 0.7f), r => r[0].Map(v => Math.Min(v, (double)0.7f)));

        var e = Assert.Throws<ArgumentException>(() => x.Clamp(null, null));
        Assert.Contains("Clamp: min and max are both null", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.Clamp(float.NaN, null));
        Assert.Contains("Clamp", e.Message);
    }

    [Fact]
    public void NegativeIndicesCountFromTheEnd()
    {
        var data = Generators.Values([4, 3], 3);
        var x = T(data);

        // IndexSelect along 0 with -1 (row 3) and -4 (row 0); Gather along 1 with -1 (column 2) and -3 (column 0).
        var rows = Tensor.FromArray([-1, 0, -4, 2], [4], device: Device);
        var expectedRows = new Nd([.. new[] { 3, 0, 0, 2 }.SelectMany(r => Enumerable.Range(0, 3).Select(c => data[r, c]))], [4, 3]);
        Check.Close(expectedRows, x.IndexSelect(0, rows), 0, 0, "index-select");
        GradCheck.Run(Device, [data], t => t[0].IndexSelect(0, rows), r => new Nd([.. new[] { 3, 0, 0, 2 }.SelectMany(i => Enumerable.Range(0, 3).Select(c => r[0][i, c]))], [4, 3]));

        var columns = Tensor.FromArray([-1, 0, -3, 1], [4, 1], device: Device);
        Check.Close(new Nd([data[0, 2], data[1, 0], data[2, 0], data[3, 1]], [4, 1]), x.Gather(1, columns), 0, 0, "gather");
        GradCheck.Run(Device, [data], t => t[0].Gather(1, columns), r => new Nd([r[0][0, 2], r[0][1, 0], r[0][2, 0], r[0][3, 1]], [4, 1]));
    }

    [Fact]
    public void IndicesOutsideMinusSizeToSizeStillFail()
    {
        var x = Tensor.Zeros([4, 3], device: Device);
        var e = Assert.Throws<IndexOutOfRangeException>(() => x.IndexSelect(0, Tensor.FromArray([0, -5], [2], device: Device)).ToArray());
        Assert.StartsWith("IndexSelect: index -5 at position 1 is out of range for a dimension of size 4 (indices -4 to 3", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => x.Gather(1, Tensor.FromArray([0, 3, -3, 1], [4, 1], device: Device)).ToArray());
        Assert.StartsWith("Gather: index 3 at position 1 is out of range for a dimension of size 3 (indices -3 to 2", e.Message);

        // Labels and embedding rows have no "from the end".
        var labels = Tensor.FromArray([0, -1], [2], device: Device);
        Assert.Throws<IndexOutOfRangeException>(() => Tensor.NllLoss(Tensor.Zeros([2, 3], device: Device), labels).Item());
        Assert.Throws<IndexOutOfRangeException>(() => Tensor.Embedding(labels, x).ToArray());
    }

    [Fact]
    public void ArgMaxAndArgMinCanSelectTheLastIndex()
    {
        // Ties along both a contiguous and a strided axis; rows long enough for the GPU's group reduction.
        var rng = new Random(7);
        foreach (int cols in new[] { 5, 70 })
        {
            float[] values = [.. Enumerable.Range(0, 3 * cols).Select(_ => (float)rng.Next(-2, 3))];
            var x = T(values, 3, cols);
            foreach (bool last in new[] { false, true })
            {
                Assert.Equal(ArgRef(values, 3, cols, max: true, last), x.ArgMax(1, selectLastIndex: last).ToInt32Array());
                Assert.Equal(ArgRef(values, 3, cols, max: false, last), x.ArgMin(1, selectLastIndex: last).ToInt32Array());
                var transposed = Transpose(values, 3, cols);
                Assert.Equal(ArgRef(values, 3, cols, max: true, last), T(transposed, cols, 3).ArgMax(0, selectLastIndex: last).ToInt32Array());
                Assert.Equal(ArgRef(values, 3, cols, max: false, last), T(transposed, cols, 3).ArgMin(0, selectLastIndex: last).ToInt32Array());
            }
        }

        var ties = T([1f, 3f, 3f, 0f, 0f, 3f], 6);
        Assert.Equal([5], ties.ArgMax(selectLastIndex: true).ToInt32Array());
        Assert.Equal([1], ties.ArgMax().ToInt32Array());
        Assert.Equal([4], ties.ArgMin(selectLastIndex: true).ToInt32Array());
        Assert.Equal([3], ties.ArgMin().ToInt32Array());
        Assert.Equal([0], T([float.NegativeInfinity, float.NegativeInfinity], 2).ArgMax().ToInt32Array());
        Assert.Equal([1], T([float.NegativeInfinity, float.NegativeInfinity], 2).ArgMax(selectLastIndex: true).ToInt32Array());
        Assert.Equal([2], T([1f, float.NaN, float.NaN, 4f], 4).ArgMax(selectLastIndex: true).ToInt32Array());

        // A NaN wins either extreme, the first NaN or with selectLastIndex the last, along a strided axis too.
        var nan = T([1f, float.NaN, float.NaN, 4f], 4);
        Assert.Equal([1], nan.ArgMax().ToInt32Array());
        Assert.Equal([1], nan.ArgMin().ToInt32Array());
        Assert.Equal([2], nan.ArgMin(selectLastIndex: true).ToInt32Array());
        var columns = T([1f, float.NaN, float.NaN, 2f, 3f, float.NaN], 3, 2);
        Assert.Equal([1, 0], columns.ArgMax(0).ToInt32Array());
        Assert.Equal([1, 0], columns.ArgMin(0).ToInt32Array());
        Assert.Equal([1, 2], columns.ArgMax(0, selectLastIndex: true).ToInt32Array());
        Assert.Equal([1, 2], columns.ArgMin(0, selectLastIndex: true).ToInt32Array());
    }

    [Theory]
    [InlineData(1e4)]
    [InlineData(1e5)]
    [InlineData(-3e4)]
    public void LogSoftmaxKeepsItsPrecisionAtLargeInputs(double center)
    {
        // Inputs near the center, exactly representable as floats; the float64 reference uses the same inputs.
        var rng = new Random(11);
        float[] values = [.. Enumerable.Range(0, 4 * 33).Select(_ => (float)(center + (rng.NextDouble() * 8) - 4))];
        var y = T(values, 4, 33).LogSoftmax(1).ToArray();
        for (int r = 0; r < 4; r++)
        {
            double max = Enumerable.Range(0, 33).Max(c => (double)values[(r * 33) + c]);
            double logSum = Math.Log(Enumerable.Range(0, 33).Sum(c => Math.Exp(values[(r * 33) + c] - max)));
            for (int c = 0; c < 33; c++)
            {
                double expected = values[(r * 33) + c] - max - logSum;

                // The result is O(1) with float spacing ~1e-7: allow a few ulps of it, far below the 2.4e-4 of max + log(sum).
                Assert.True(Math.Abs(y[(r * 33) + c] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"row {r} col {c}: {y[(r * 33) + c]} vs {expected}");
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BatchNormalizationUpdatesTheRunningVarianceAsAsked(bool unbiased)
    {
        // One channel, four values: mean 2.5, biased variance 1.25, unbiased 5/3.
        var bn = new BatchNormalization(momentum: 0.5f, unbiasedRunningVariance: unbiased, inputShape: [1]) { Device = Device };
        var x = T([1f, 2f, 3f, 4f], 4, 1);
        var y = bn.Call(x, training: true);
        double batchVariance = unbiased ? 5.0 / 3.0 : 1.25;
        Assert.Equal(0.5 * (1 + batchVariance), bn.MovingVariance.Value.ToArray()[0], 5);
        Assert.Equal(0.5 * 2.5, bn.MovingMean.Value.ToArray()[0], 5);

        // The batch itself is normalized with the biased variance either way.
        double scale = 1 / Math.Sqrt(1.25 + bn.Epsilon);
        Check.Close(new Nd([-1.5 * scale, -0.5 * scale, 0.5 * scale, 1.5 * scale], [4, 1]), y, 1e-5, 1e-5, "normalized batch");
        var saved = System.Text.Json.JsonSerializer.SerializeToElement(bn.GetConfig());
        var loaded = Assert.IsType<BatchNormalization>(Lepton.Nn.LayerRegistry.Create(new Lepton.Nn.LayerConfig("BatchNormalization", saved)));
        Assert.Equal(unbiased, loaded.UnbiasedRunningVariance);
    }

    private static int[] ArgRef(float[] values, int rows, int cols, bool max, bool last)
    {
        var result = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            int best = 0;
            for (int c = 1; c < cols; c++)
            {
                float v = values[(r * cols) + c], b = values[(r * cols) + best];
                if ((max ? v > b : v < b) || (last && v == b))
                {
                    best = c;
                }
            }

            result[r] = best;
        }

        return result;
    }

    private static float[] Transpose(float[] values, int rows, int cols)
    {
        var t = new float[values.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                t[(c * rows) + r] = values[(r * cols) + c];
            }
        }

        return t;
    }
}

public sealed class ConformanceOpsTestsCpu : ConformanceOpsTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class ConformanceOpsTestsIlgpuCpu : ConformanceOpsTests
{
    protected override Device Device => Device.IlgpuCpu;
}
