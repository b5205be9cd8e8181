// Channel pruning: the smaller model computes what the original computes with the removed channels zeroed
// (Sequential across Flatten, functional with a residual Add pruned together), criteria pick the filters they
// name, the result fine-tunes with Fit, and bad input names its argument or layer.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class ChannelPruningTests
{
    [Fact]
    public void SequentialPrunedModelComputesWhatTheMaskedModelComputes()
    {
        var model = new Sequential([
            new InputLayer([3, 8, 8]),
            new Conv2D(6, 3, padding: "same", activation: "relu", seed: 1, name: "c1"),
            new BatchNormalization(name: "bn1"),
            new MaxPooling2D(2),
            new Conv2D(8, 3, activation: "relu", seed: 2, name: "c2"),
            new Flatten(),
            new Dense(5, seed: 3, name: "head"),
        ]);
        model.BuildIfInputKnown();
        var byName = model.Layers.ToDictionary(l => l.Name);
        Randomize((BatchNormalization)byName["bn1"], 4);

        var (pruned, kept) = Pruning.ChannelsKept(model, 0.5, ChannelCriterion.L1, null);
        Assert.Equal(3, kept["c1"].Length);
        Assert.Equal(4, kept["c2"].Length);
        var prunedByName = pruned.Layers.ToDictionary(l => l.Name);
        Assert.Equal([4, 3, 3, 3], ((Conv2D)prunedByName["c2"]).Kernel.Shape);
        Assert.Equal([4 * 2 * 2, 5], ((Dense)prunedByName["head"]).Kernel.Shape);
        Assert.True(pruned.CountParams() < model.CountParams() / 2);

        // The masked model: what reads a removed channel gets zero weights for it.
        ZeroInputs(((Conv2D)byName["c2"]).Kernel, Removed(kept["c1"], 6), 1);
        ZeroInputs(((Dense)byName["head"]).Kernel, Removed(kept["c2"], 8).SelectMany(c => Enumerable.Range(c * 4, 4)).ToArray(), 0);
        var x = Tensor.RandN([5, 3, 8, 8], new Generator(5));
        AssertClose(model.Predict(x), pruned.Predict(x));

        pruned.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        var history = pruned.Fit(x, Tensor.FromArray(new[] { 0, 1, 2, 3, 4 }, [5]), epochs: 2, batchSize: 5, verbose: 0);
        Assert.Equal(2, history["loss"].Count);
        Assert.All(history["loss"], l => Assert.True(double.IsFinite(l)));
    }

    [Fact]
    public void ResidualAddsArePrunedTogetherInAFunctionalModel()
    {
        var input = Keras.Input([4, 6, 6]);
        var stem = new ReLU().Apply(new BatchNormalization(name: "bn0").Apply(new Conv2D(8, 3, padding: "same", seed: 1, name: "c0").Apply(input)));
        var h = new ReLU().Apply(new BatchNormalization(name: "bn1").Apply(new Conv2D(8, 3, padding: "same", seed: 2, name: "c1").Apply(stem)));
        h = new BatchNormalization(name: "bn2").Apply(new Conv2D(8, 3, padding: "same", seed: 3, name: "c2").Apply(h));
        var sum = new ReLU().Apply(new Add().Apply(h, stem));
        var model = new Model(input, new Dense(3, seed: 4, name: "head").Apply(new GlobalAveragePooling2D().Apply(sum)));
        var byName = model.Layers.ToDictionary(l => l.Name);
        foreach (var (name, seed) in new[] { ("bn0", 5), ("bn1", 6), ("bn2", 7) })
        {
            Randomize((BatchNormalization)byName[name], seed);
        }

        var (pruned, kept) = Pruning.ChannelsKept(model, 0.25, ChannelCriterion.L2, null);
        Assert.Equal(kept["c0"], kept["c2"]);
        Assert.Equal(6, kept["c0"].Length);
        Assert.Equal(6, kept["c1"].Length);

        ZeroInputs(((Conv2D)byName["c1"]).Kernel, Removed(kept["c0"], 8), 1);
        ZeroInputs(((Conv2D)byName["c2"]).Kernel, Removed(kept["c1"], 8), 1);
        ZeroInputs(((Dense)byName["head"]).Kernel, Removed(kept["c0"], 8), 0);
        var x = Tensor.RandN([4, 4, 6, 6], new Generator(8));
        AssertClose(model.Predict(x), pruned.Predict(x));
    }

    [Fact]
    public void ProjectionShortcutsLoseTheirInputAndOutputChannels()
    {
        var input = Keras.Input([3, 8, 8]);
        var stem = new ReLU().Apply(new Conv2D(8, 3, padding: "same", seed: 1, name: "c0").Apply(input));
        var h = new ReLU().Apply(new BatchNormalization(name: "bn1").Apply(new Conv2D(12, 3, strides: 2, padding: "same", seed: 2, name: "c1").Apply(stem)));
        h = new Conv2D(16, 3, padding: "same", seed: 3, name: "c2").Apply(h);
        var shortcut = new BatchNormalization(name: "bnp").Apply(new Conv2D(16, 1, strides: 2, seed: 4, name: "p").Apply(stem));
        var model = new Model(input, new Dense(3, seed: 5, name: "head").Apply(new GlobalAveragePooling2D().Apply(new Add().Apply(h, shortcut))));
        var byName = model.Layers.ToDictionary(l => l.Name);
        Randomize((BatchNormalization)byName["bn1"], 6);
        Randomize((BatchNormalization)byName["bnp"], 7);

        var (pruned, kept) = Pruning.ChannelsKept(model, 0.5, ChannelCriterion.L1, null);
        Assert.Equal(kept["c2"], kept["p"]);
        Assert.Equal([8, 4, 1, 1], pruned.Layers.OfType<Conv2D>().Single(l => l.Name == "p").Kernel.Shape);

        ZeroInputs(((Conv2D)byName["c1"]).Kernel, Removed(kept["c0"], 8), 1);
        ZeroInputs(((Conv2D)byName["p"]).Kernel, Removed(kept["c0"], 8), 1);
        ZeroInputs(((Conv2D)byName["c2"]).Kernel, Removed(kept["c1"], 12), 1);
        ZeroInputs(((Dense)byName["head"]).Kernel, Removed(kept["p"], 16), 0);
        var x = Tensor.RandN([3, 3, 8, 8], new Generator(8));
        AssertClose(model.Predict(x), pruned.Predict(x));
    }

    [Fact]
    public void CriteriaRankFiltersByNormOrBatchNormScale()
    {
        var model = new Sequential([
            new InputLayer([1, 4, 4]), new Conv2D(4, 1, useBias: false, name: "c"), new BatchNormalization(name: "bn"),
            new Conv2D(2, 1, name: "next"), new Flatten(), new Dense(2),
        ]);
        model.BuildIfInputKnown();
        var conv = (Conv2D)model.Layers.Single(l => l.Name == "c");
        conv.Kernel.Assign(Tensor.FromArray(new[] { 3f, -0.5f, 1f, -2f }, [4, 1, 1, 1]));
        ((BatchNormalization)model.Layers.Single(l => l.Name == "bn")).Gamma!.Assign(Tensor.FromArray(new[] { 0.1f, 5f, -4f, 0.2f }, [4]));

        Assert.Equal([0, 3], Pruning.ChannelsKept(model, 0.5, ChannelCriterion.L1, ["c"]).Kept["c"]);
        Assert.Equal([0, 3], Pruning.ChannelsKept(model, 0.5, ChannelCriterion.L2, ["c"]).Kept["c"]);
        Assert.Equal([1, 2], Pruning.ChannelsKept(model, 0.5, ChannelCriterion.BnScale, ["c"]).Kept["c"]);
        Assert.Equal([0, 1, 2, 3], Pruning.ChannelsKept(model, 0, ChannelCriterion.L1, ["c"]).Kept["c"]);
    }

    [Fact]
    public void BadInputNamesTheArgumentOrLayer()
    {
        var model = new Sequential([
            new InputLayer([2, 5, 5]), new Conv2D(1, 3, name: "one"), new MaxPooling2D(1, name: "pool"), new Conv2D(3, 1, name: "last"),
            new Flatten(), new Dense(2, name: "head"),
        ]);
        model.BuildIfInputKnown();

        Assert.Equal("fraction", Assert.Throws<ArgumentOutOfRangeException>(() => Pruning.Channels(model, 1.0)).ParamName);
        Assert.Equal("fraction", Assert.Throws<ArgumentOutOfRangeException>(() => Pruning.Channels(model, -0.1)).ParamName);
        var every = Assert.Throws<ArgumentException>(() => Pruning.Channels(model, 0.5, layers: ["one"]));
        Assert.Contains("'one'", every.Message);
        Assert.Contains("every", every.Message);
        Assert.Contains("'pool'", Assert.Throws<ArgumentException>(() => Pruning.Channels(model, 0.5, layers: ["pool"])).Message);
        Assert.Contains("'head'", Assert.Throws<ArgumentException>(() => Pruning.Channels(model, 0.5, layers: ["head"])).Message);
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => Pruning.Channels(model, 0.5, layers: ["nope"])).Message);
        Assert.Equal("criterion", Assert.Throws<ArgumentException>(() => Pruning.Channels(model, 0.3, ChannelCriterion.BnScale, ["last"])).ParamName);

        var output = new Sequential([new InputLayer([2, 5, 5]), new Conv2D(4, 3, name: "only")]);
        output.BuildIfInputKnown();
        Assert.Contains("output", Assert.Throws<ArgumentException>(() => Pruning.Channels(output, 0.5, layers: ["only"])).Message);
        Assert.Contains("no Conv2D", Assert.Throws<ArgumentException>(() => Pruning.Channels(output, 0.5)).Message);
    }

    private static int[] Removed(int[] kept, int channels) => [.. Enumerable.Range(0, channels).Except(kept)];

    /// <summary>Zeroes the slices of <paramref name="weight"/> at <paramref name="indices"/> along <paramref name="axis"/> (0 or 1).</summary>
    private static void ZeroInputs(Weight weight, int[] indices, int axis)
    {
        float[] values = weight.Value.ToArray<float>();
        int[] shape = weight.Shape;
        int inner = shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b), outer = shape.Take(axis).Aggregate(1, (a, b) => a * b);
        for (int o = 0; o < outer; o++)
        {
            foreach (int index in indices)
            {
                Array.Clear(values, ((o * shape[axis]) + index) * inner, inner);
            }
        }

        weight.Assign(Tensor.FromArray(values, shape));
    }

    private static void Randomize(BatchNormalization norm, int seed)
    {
        var g = new Generator((ulong)seed);
        foreach (var weight in norm.Weights)
        {
            weight.Assign(Tensor.Rand(weight.Shape, g) + 0.5f);
        }
    }

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float[] e = expected.ToArray<float>(), a = actual.ToArray<float>();
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5f * (1 + Math.Abs(e[i])), $"element {i}: masked {e[i]}, pruned {a[i]}");
        }
    }
}
