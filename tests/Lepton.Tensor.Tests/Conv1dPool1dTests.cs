// Conv1d, MaxPool1d and AvgPool1d against float64 loops (the 2-D references on one-row images, which are
// loops of their own), finite differences, bad input; and the Keras 1-D layers, saved and loaded.
using FsCheck.Fluent;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class Conv1dPool1dTests : BackendTests
{
    [Fact]
    public void Conv1dMatchesNaiveLoops()
    {
        var gen =
            from n in Gen.Choose(1, 3)
            from groups in Gen.Elements(1, 1, 2)
            from cPer in Gen.Choose(1, 3)
            from kPer in Gen.Choose(1, 3)
            from s in Gen.Choose(1, 4)
            from stride in Gen.Choose(1, 3)
            from dil in Gen.Choose(1, 2)
            from left in Gen.Choose(0, 2)
            from right in Gen.Choose(0, 3)
            from length in Gen.Choose(((s - 1) * dil) + 1, 12)
            select (n, C: cPer * groups, length, K: kPer * groups, s, stride, left, right, dil, groups);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var g = c.Case;
            var x = Generators.Values([g.n, g.C, g.length], c.Seed);
            var w = Generators.Values([g.K, g.C / g.groups, g.s], c.Seed + 1);
            var b = Generators.Values([g.K], c.Seed + 2);
            var y = T(x).Conv1d(T(w), T(b), g.stride, (g.left, g.right), g.dil, g.groups);
            Check.Close(Conv1dRef(x, w, b, g.stride, g.left, g.right, g.dil, g.groups), y, 1e-5, 1e-5, $"conv1d {g}");
        }, 40);
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1)]
    [InlineData(2, 0, 2, 2, 2)]
    public void Conv1dGradientsMatchFiniteDifferences(int stride, int left, int right, int dil, int groups)
    {
        var x = Generators.Values([2, 2 * groups, 9], 1);
        var w = Generators.Values([3 * groups, 2, 3], 2);
        var b = Generators.Values([3 * groups], 3);
        GradCheck.Run(
            Device, [x, w, b],
            t => t[0].Conv1d(t[1], t[2], stride, (left, right), dil, groups),
            r => Conv1dRef(r[0], r[1], r[2], stride, left, right, dil, groups));
    }

    [Fact]
    public void Pool1dMatchesNaiveLoops()
    {
        var gen =
            from k in Gen.Choose(1, 4)
            from stride in Gen.Choose(1, 3)
            from dil in Gen.Choose(1, 2)
            from left in Gen.Choose(0, k / 2)
            from right in Gen.Choose(0, k / 2)
            from ceil in Gen.Elements(true, false)
            from includePad in Gen.Elements(true, false)
            from length in Gen.Choose(((k - 1) * dil) + 1, 12)
            select (length, k, stride, dil, left, right, ceil, includePad);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var g = c.Case;
            var x = Generators.Values([2, 3, g.length], c.Seed);
            var (values, indices) = T(x).MaxPool1d(g.k, returnIndices: true, g.stride, (g.left, g.right), g.dil, g.ceil);
            var (expected, expectedIndices) = Pool1dRef(x, g.k, g.stride, g.left, g.right, g.dil, g.ceil, max: true, includePad: true);
            Check.Close(expected, values, 0, 0, $"max pool 1d {g}");
            Assert.Equal(expectedIndices, indices.ToInt32Array());
            Check.Close(expected, T(x).MaxPool1d(g.k, g.stride, (g.left, g.right), g.dil, g.ceil), 0, 0, $"max pool 1d values {g}");
            var average = Pool1dRef(x, g.k, g.stride, g.left, g.right, 1, g.ceil, max: false, g.includePad).Values;
            Check.Close(average, T(x).AvgPool1d(g.k, g.stride, (g.left, g.right), g.includePad, g.ceil), 1e-6, 1e-5, $"avg pool 1d {g}");
        }, 40);
    }

    [Fact]
    public void Pool1dGradientsMatchFiniteDifferences()
    {
        var x = Generators.Values([2, 2, 11], 4);
        GradCheck.Run(Device, [x], t => t[0].MaxPool1d(3, 2, 1, 2, ceilMode: true), r => Pool1dRef(r[0], 3, 2, 1, 1, 2, true, true, true).Values);
        GradCheck.Run(Device, [x], t => t[0].AvgPool1d(3, 2, (1, 0), countIncludePad: false, ceilMode: true), r => Pool1dRef(r[0], 3, 2, 1, 0, 1, true, false, false).Values);
    }

    [Fact]
    public void BadInputIsRejectedNamingTheOpAndTheShapes()
    {
        var x = Tensor.Zeros([2, 4, 5], device: Device);
        var e = Assert.Throws<ArgumentException>(() => x.Conv1d(Tensor.Zeros([3, 3, 2], device: Device)));
        Assert.Contains("Conv1d", e.Message);
        Assert.Contains("[2, 4, 5]", e.Message);
        Assert.Contains("[3, 3, 2]", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.Conv1d(Tensor.Zeros([3, 4, 2, 1], device: Device)));
        Assert.Contains("[N, C, L]", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.Conv1d(Tensor.Zeros([3, 4, 4], device: Device), dilation: 2));
        Assert.Contains("spans 7", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.Conv1d(Tensor.Zeros([3, 4, 2], device: Device), padding: (-1, 0)));
        Assert.Contains("padding", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, 4, 5, 1], device: Device).MaxPool1d(2));
        Assert.Contains("MaxPool1d", e.Message);
        e = Assert.Throws<ArgumentException>(() => x.AvgPool1d(2, padding: 2));
        Assert.Contains("AvgPool1d", e.Message);
    }

    [Theory]
    [InlineData(DataFormat.ChannelsFirst)]
    [InlineData(DataFormat.ChannelsLast)]
    public void OneDimensionalLayersComputeTheOpsAndSaveAndLoad(DataFormat format)
    {
        // 3 channels, 10 steps per example.
        int[] example = format == DataFormat.ChannelsFirst ? [3, 10] : [10, 3];
        var conv = new Conv1D(4, 3, padding: "same", activation: "relu", dataFormat: format, seed: 1, inputShape: example);
        var pool = new MaxPooling1D(2, dataFormat: format);
        var model = new Sequential([conv, pool, new GlobalAveragePooling1D(format), new Dense(2, seed: 2)]);
        var x = Tensor.RandN([2, .. example], new Generator(3));

        // The layers against the ops, on channels-first data.
        var xFirst = format == DataFormat.ChannelsFirst ? x : x.Permute(0, 2, 1);
        var convolved = xFirst.Conv1d(conv.Kernel.Value, conv.Bias!.Value, padding: (1, 1)).Relu();
        var expected = convolved.MaxPool1d(2).Mean([2]);
        var features = new Sequential([conv, pool, new GlobalAveragePooling1D(format)]).Predict(x);
        Check.Close(Nd.From(expected), features, 1e-6, 1e-6, "Conv1D, MaxPooling1D, GlobalAveragePooling1D");
        Assert.Equal([2, 4], features.Shape);

        string path = Path.Combine(Path.GetTempPath(), $"lepton-1d-{Guid.NewGuid():N}.lepton");
        try
        {
            var before = model.Predict(x).ToArray();
            model.Save(path);
            var loaded = Model.Load(path);
            Assert.Equal(before, loaded.Predict(x).ToArray());
            var loadedConv = Assert.IsType<Conv1D>(loaded.Layers[0]);
            Assert.Equal((4, 3, "same", "relu", format), (loadedConv.Filters, loadedConv.KernelSize, loadedConv.Padding, loadedConv.ActivationName, loadedConv.DataFormat));
            Assert.Equal(format, Assert.IsType<MaxPooling1D>(loaded.Layers[1]).DataFormat);
            Assert.Equal(format, Assert.IsType<GlobalAveragePooling1D>(loaded.Layers[2]).DataFormat);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SamePaddingKeepsTheLengthOverTheStride()
    {
        var conv = new Conv1D(2, 4, strides: 2, padding: "same", seed: 1, inputShape: [1, 9]);
        var pool = new MaxPooling1D(3, strides: 2, padding: "same");
        var x = Tensor.RandN([1, 1, 9], new Generator(2));
        Assert.Equal([1, 2, 5], new Sequential([conv]).Predict(x).Shape);
        Assert.Equal([1, 2, 3], new Sequential([conv, pool]).Predict(x).Shape);

        // TensorFlow's "same": 9 steps, a 4-tap filter, stride 2 -> 3 padding in all, 1 before and 2 after.
        Check.Close(Nd.From(x.Conv1d(conv.Kernel.Value, conv.Bias!.Value, 2, (1, 2))), new Sequential([conv]).Predict(x), 1e-6, 1e-6, "same");
    }

    internal static Nd Conv1dRef(Nd x, Nd w, Nd? b, int stride, int left, int right, int dil, int groups)
    {
        var y = PaddingCeilDilationTests.ConvRef(
            x.Reshape([x.Shape[0], x.Shape[1], 1, x.Shape[2]]), w.Reshape([w.Shape[0], w.Shape[1], 1, w.Shape[2]]), stride, new Padding2d(0, 0, left, right), dil, groups);
        int n = y.Shape[0], k = y.Shape[1], q = y.Shape[3];
        var data = (double[])y.Data.Clone();
        for (int i = 0; b is not null && i < data.Length; i++)
        {
            data[i] += b.Data[i / q % k];
        }

        return new Nd(data, [n, k, q]);
    }

    internal static (Nd Values, int[] Indices) Pool1dRef(Nd x, int k, int stride, int left, int right, int dil, bool ceil, bool max, bool includePad)
    {
        // The 2-D reference takes square windows, so each row is pooled here by the same rules in one dimension.
        int n = x.Shape[0], c = x.Shape[1], length = x.Shape[2];
        int span = length + left + right - (dil * (k - 1)) - 1;
        int outputs = (int)(ceil ? Math.Ceiling(span / (double)stride) : Math.Floor(span / (double)stride)) + 1;
        outputs = ceil && (outputs - 1) * stride >= length + left ? outputs - 1 : outputs;
        var y = new double[n * c * outputs];
        var indices = new int[y.Length];
        for (int plane = 0; plane < n * c; plane++)
        {
            for (int o = 0; o < outputs; o++)
            {
                int start = (o * stride) - left, best = -1, count = 0;
                double acc = max ? double.NegativeInfinity : 0;
                for (int j = 0; j < k; j++)
                {
                    int at = start + (j * dil);
                    if (at >= 0 && at < length)
                    {
                        double v = x.Data[(plane * length) + at];
                        if (max && (best < 0 || v > acc))
                        {
                            best = at;
                        }

                        acc = max ? Math.Max(acc, v) : acc + v;
                        count++;
                    }
                }

                int divisor = includePad ? Math.Min(start + k, length + right) - start : count;
                indices[(plane * outputs) + o] = best;
                y[(plane * outputs) + o] = max ? acc : acc / divisor;
            }
        }

        return (new Nd(y, [n, c, outputs]), indices);
    }
}

public sealed class Conv1dPool1dTestsCpu : Conv1dPool1dTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class Conv1dPool1dTestsIlgpuCpu : Conv1dPool1dTests
{
    protected override Device Device => Device.IlgpuCpu;
}
