// Transfer learning on an imported model: layers found by name, a headless backbone with a new head,
// a frozen backbone that training leaves alone, and per-layer learning-rate multipliers that scale
// each weight's step exactly.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Onnx;

public sealed class TransferLearningTests
{
    [Fact]
    public void GetLayerFindsLayersByNameAndListsThemWhenMissing()
    {
        var inner = new Sequential([new Dense(3, name: "inner_dense")], name: "inner");
        var model = new Sequential([new InputLayer([2]), inner, new Dense(1, name: "head")]);
        Assert.Same(model.Layers[2], model.GetLayer("head"));
        Assert.Same(inner.Layers[0], model.GetLayer("inner_dense"));
        Assert.Same(inner, model.GetLayer(1));
        var e = Assert.Throws<ArgumentException>(() => model.GetLayer("tail"));
        Assert.Contains("'tail'", e.Message);
        Assert.Contains("head", e.Message);
    }

    [Fact]
    public void HeadlessImportedBackboneTakesANewHeadAndStaysFrozen()
    {
        var imported = Model.LoadOnnx(OnnxImportTests.PyTorchFile("resnet"));
        var features = imported.LayerOutput("pool/GlobalAveragePool");
        Assert.Equal([16], features.Shape);
        var model = new Model(imported.Input, new Dense(3, seed: 1, name: "new_head").Apply(features), name: "transfer");
        foreach (var layer in imported.Layers)
        {
            layer.Trainable = false;
        }

        Assert.Equal(2, model.TrainableWeights.Count);
        var x = Tensor.RandN([6, 3, 16, 16], new Generator(2));
        var y = Tensor.FromArray(new[] { 0, 1, 2, 0, 1, 2 }, [6]);
        float[] before = imported.GetLayer("stem/stem.0/Conv").Weights[0].Value.ToArray();
        float[] head = model.GetLayer("new_head").Weights[0].Value.ToArray();
        model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        model.Fit(x, y, epochs: 2, batchSize: 6, verbose: 0);

        Assert.Equal(before, imported.GetLayer("stem/stem.0/Conv").Weights[0].Value.ToArray());
        Assert.NotEqual(head, model.GetLayer("new_head").Weights[0].Value.ToArray());
        Assert.Equal([6, 3], model.Predict(x).Shape);
    }

    [Fact]
    public void LearningRateMultiplierScalesEachLayersStep()
    {
        var first = new Dense(3, seed: 1, name: "slow");
        var second = new Dense(2, seed: 2, name: "fast");
        var model = new Sequential([new InputLayer([4]), first, second]);
        model.LearningRateMultiplier = 0.25f;
        second.LearningRateMultiplier = 1f;
        Assert.Equal(0.25f, first.Kernel.LearningRateMultiplier);

        var x = Tensor.RandN([5, 4], new Generator(3));
        var y = Tensor.RandN([5, 2], new Generator(4));
        using var reference = new Sequential([new InputLayer([4]), new Dense(3, seed: 1), new Dense(2, seed: 2)]);
        float[] start = first.Kernel.Value.ToArray();
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        reference.Compile(new Sgd(0.1f), new MeanSquaredError());
        model.TrainOnBatch(x, y);
        reference.TrainOnBatch(x, y);

        // Same gradients (same weights before the step): the slow layer moves a quarter as far, the fast one as far.
        float[] slowStep = [.. first.Kernel.Value.ToArray().Zip(start, (a, b) => a - b)];
        float[] fullStep = [.. reference.Layers[1].Weights[0].Value.ToArray().Zip(start, (a, b) => a - b)];
        OnnxRuntimeCheck.Close([.. fullStep.Select(d => d * 0.25f)], slowStep, 1e-6f, "slow layer");
        OnnxRuntimeCheck.Close(reference.Layers[2].Weights[0].Value.ToArray(), second.Kernel.Value.ToArray(), 1e-6f, "fast layer");
    }
}
