// Quantization-aware models: preparing Sequential and functional models follows conversion's plan, fine-tuning is
// captured without a graph break, the int8 model agrees with the fake-quantized one to one output step, a prepared
// model saves and resumes, bad calls are refused, and on real MNIST the fine-tuned int8 model is compared with PTQ.
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Nn.Quantization;
using Xunit.Abstractions;

namespace Lepton.Tests.Quantization;

public sealed partial class QuantizationAwareTests(ITestOutputHelper output)
{
    private static Sequential SequentialModel()
    {
        var model = new Sequential([
            new InputLayer([1, 8, 8]),
            new Conv2D(4, 3, padding: "same", useBias: false, seed: 1),
            new BatchNormalization(),
            new ReLU(),
            new MaxPooling2D(2),
            new Flatten(),
            new Dense(3, seed: 2),
        ]);
        model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        model.Output = TextWriter.Null;
        return model;
    }

    private static Model FunctionalModel()
    {
        var input = Keras.Input([2, 6, 6]);
        var stem = new Conv2D(4, 3, padding: "same", activation: "relu", seed: 3).Apply(input);
        var branch = new Conv2D(4, 3, padding: "same", seed: 4).Apply(stem);
        var sum = new Activation("relu").Apply(new Add().Apply(stem, branch));
        var pooled = new GlobalAveragePooling2D().Apply(sum);
        var output = new Dense(3, seed: 5).Apply(pooled);
        var model = new Model(input, output);
        model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        model.Output = TextWriter.Null;
        return model;
    }

    /// <summary>Inputs whose label is the quadrant holding most of the mass: learnable in a few steps.</summary>
    private static (Tensor X, Tensor Y) Data(int[] shape, int count, ulong seed)
    {
        var x = Tensor.Rand([count, .. shape], new Generator(seed));
        var y = x.Mean([1, 2]).ArgMax(-1) % 3L;
        return (x, y.To(DType.Int32));
    }

    private static string[] Kinds(Model model) => [.. model.Layers.Select(l => l is QuantizeWrapper w ? $"Q({w.Layer.GetType().Name})" : l.GetType().Name)];

    [Fact]
    public void PreparesSequentialModelsAsConversionPlans()
    {
        var model = SequentialModel();
        float[] before = model.Weights[0].Value.ToArray();
        var qat = model.PrepareQuantizationAware();
        Assert.True(qat.IsQuantizationAware);
        Assert.False(model.IsQuantizationAware);
        Assert.IsType<Sequential>(qat);
        Assert.Equal(
            ["InputLayer", "FakeQuantize", "Q(Conv2D)", "ReLU", "FakeQuantize", "MaxPooling2D", "Flatten", "Q(Dense)", "FakeQuantize"], Kinds(qat));

        // The batch norm is folded into a convolution that has a bias now; the original model keeps its weights.
        var conv = (Conv2D)((QuantizeWrapper)qat.Layers[2]).Layer;
        Assert.NotNull(conv.Bias);
        Assert.NotNull(qat.Optimizer);
        var (x, y) = Data([1, 8, 8], 64, 1);
        qat.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0, seed: 1);
        Assert.Equal(before, model.Weights[0].Value.ToArray());
    }

    [Fact]
    public void PreparesFunctionalModelsAsConversionPlans()
    {
        var qat = FunctionalModel().PrepareQuantizationAware();
        Assert.True(qat.IsFunctional);

        // The ReLU after Add is fused, so its output is observed; global pooling runs in float32, so its output is
        // quantized (and observed) where Dense reads it.
        Assert.Equal(
            ["FakeQuantize", "Q(Conv2D)", "FakeQuantize", "Q(Conv2D)", "FakeQuantize", "Add", "Activation", "FakeQuantize", "GlobalAveragePooling2D", "FakeQuantize", "Q(Dense)", "FakeQuantize"],
            Kinds(qat));
        var kept = FunctionalModel();
        var partial = kept.PrepareQuantizationAware(new QuantizationOptions { KeepFloat = [kept.Layers[^1].Name] });
        Assert.DoesNotContain("Q(Dense)", Kinds(partial));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void FineTuningIsCapturedAndConvertsToTheSimulatedModel(bool functional, bool perChannel)
    {
        var qat = (functional ? FunctionalModel() : SequentialModel()).PrepareQuantizationAware(new QuantizationOptions { PerChannel = perChannel });
        Assert.All(qat.Layers.OfType<QuantizeWrapper>(), w => Assert.Equal(perChannel, w.PerChannel));
        var log = new StringWriter();
        qat.Output = log;
        var (x, y) = Data(functional ? [2, 6, 6] : [1, 8, 8], 256, 2);
        var history = qat.Fit(x, y, epochs: 4, batchSize: 32, verbose: 0, seed: 1);
        Assert.True(qat.LastStepReplayed);
        Assert.DoesNotContain("cannot be captured", log.ToString());
        Assert.Null(qat.CaptureBreak);
        Assert.True(history["loss"][^1] < history["loss"][0], $"loss {string.Join(", ", history["loss"])}");

        // The int8 model computes what the fake-quantized forward simulated, up to one step of the output grid.
        using var int8 = qat.Quantize();
        Assert.Contains(int8.Layers, l => l is QuantizedLayer);
        var (test, _) = Data(functional ? [2, 6, 6] : [1, 8, 8], 64, 3);
        float[] simulated = qat.Predict(test).ToArray();
        float[] quantized = int8.Predict(test).ToArray();
        var last = (FakeQuantize)qat.Layers[^1];
        float step = QuantParams.FromRange(last.Range.Min, last.Range.Max).Scale;
        double worst = simulated.Zip(quantized, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{(functional ? "functional" : "sequential")}, {(perChannel ? "per channel" : "per tensor")}: max |int8 - simulated| = {worst:G4}, output step {step:G4}");
        Assert.True(worst <= step * 1.0001, $"max difference {worst} exceeds one output step {step}");
    }

    [Fact]
    public void ActivationsOtherThanReluRunInFloatAfterTheSimulatedInt8Layer()
    {
        var model = new Sequential([new InputLayer([1, 8, 8]), new Conv2D(4, 3, activation: "relu", seed: 6), new Flatten(), new Dense(3, activation: "softmax", seed: 7)]);
        model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy());
        var qat = model.PrepareQuantizationAware();
        qat.Output = TextWriter.Null;
        Assert.Equal(["InputLayer", "FakeQuantize", "Q(Conv2D)", "FakeQuantize", "Flatten", "Q(Dense)", "FakeQuantize", "Activation"], Kinds(qat));
        var (x, y) = Data([1, 8, 8], 128, 7);
        qat.Fit(x, y, epochs: 2, batchSize: 32, verbose: 0, seed: 1);
        using var int8 = qat.Quantize();
        Assert.Contains(int8.Layers, l => l is QuantizedDense);
        var preActivation = (FakeQuantize)qat.Layers[^2];
        float step = QuantParams.FromRange(preActivation.Range.Min, preActivation.Range.Max).Scale;
        double worst = qat.Predict(x).ToArray().Zip(int8.Predict(x).ToArray(), (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= step, $"softmax outputs differ by {worst}, more than one step {step} before the activation");
    }

    [Fact]
    public void PreparedModelsSaveAndResume()
    {
        var qat = SequentialModel().PrepareQuantizationAware();
        var (x, y) = Data([1, 8, 8], 64, 4);
        qat.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0, seed: 1);
        string path = Path.Combine(Path.GetTempPath(), $"qat-{Guid.NewGuid():N}.lepton");
        try
        {
            qat.Save(path);
            using var loaded = Model.Load(path);
            loaded.Output = TextWriter.Null;
            Assert.True(loaded.IsQuantizationAware);
            Assert.Equal(((FakeQuantize)qat.Layers[^1]).Range, ((FakeQuantize)loaded.Layers[^1]).Range);
            Assert.Equal(qat.Predict(x).ToArray(), loaded.Predict(x).ToArray());
            loaded.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0, seed: 1);
            qat.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0, shuffle: false, seed: 1);
            Assert.Equal(qat.Quantize().Predict(x).Shape, loaded.Quantize().Predict(x).Shape);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FrozenRangesStayPutThroughCapturedSteps()
    {
        var qat = SequentialModel().PrepareQuantizationAware();
        var (x, y) = Data([1, 8, 8], 128, 5);
        qat.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0, seed: 1);
        qat.FreezeQuantizationRanges();
        var observers = qat.Layers.OfType<FakeQuantize>().ToList();
        var ranges = observers.Select(o => o.Range).ToList();
        qat.Fit(x, y, epochs: 1, batchSize: 16, verbose: 0, seed: 1);
        Assert.True(qat.LastStepReplayed);
        Assert.Equal(ranges, observers.Select(o => o.Range));
    }

    private sealed class Subclassed : Model
    {
        private readonly Dense dense = new(2);

        protected override Tensor Forward(Tensor input, bool training) => dense.Call(input, training);
    }

    [Fact]
    public void RefusesModelsItCannotPrepare()
    {
        var subclassed = new Subclassed();
        subclassed.Call(Tensor.Zeros([1, 3]));
        subclassed.Compile(new Sgd(0.1f), "mse");
        Assert.Contains("subclassed", Assert.Throws<NotSupportedException>(() => subclassed.PrepareQuantizationAware()).Message);
        var uncompiled = new Sequential([new InputLayer([3]), new Dense(2)]);
        Assert.Contains("not compiled", Assert.Throws<InvalidOperationException>(() => uncompiled.PrepareQuantizationAware()).Message);
        var unbuilt = new Sequential([new Dense(2)]);
        unbuilt.Compile(new Sgd(0.1f), "mse");
        Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => unbuilt.PrepareQuantizationAware()).Message);
        var model = SequentialModel();
        Assert.Contains("calibration", Assert.Throws<InvalidOperationException>(() => model.Quantize()).Message);
        var qat = model.PrepareQuantizationAware();
        Assert.Contains("has not seen a training batch", Assert.Throws<InvalidOperationException>(() => qat.Quantize()).Message);
        Assert.Contains("already", Assert.Throws<NotSupportedException>(() => qat.PrepareQuantizationAware()).Message);
        var calibration = new DataLoader(new TensorDataset(Tensor.Zeros([4, 1, 8, 8]), Tensor.Zeros([4], DType.Int32)), batchSize: 4);
        Assert.Contains("Quantize() and no data", Assert.Throws<InvalidOperationException>(() => qat.Quantize(calibration)).Message);
    }
}

public sealed partial class QuantizationAwareTests
{
    [Fact]
    public void OnMnistFineTunedInt8KeepsTheFloatAccuracy()
    {
        string? directory = Mnist.FindDirectory();
        Assert.True(directory is not null, "MNIST must be in shared/datasets/mnist beside the repository (CI provides it).");
        var mnist = Mnist.Load(directory);
        var (x, y) = (mnist.TrainImages.Narrow(0, 0, 4000), mnist.TrainLabels.Narrow(0, 0, 4000));
        var (xTest, yTest) = (mnist.TestImages.Narrow(0, 0, 2000), mnist.TestLabels.Narrow(0, 0, 2000));
        var model = new Sequential([
            new InputLayer([1, 28, 28]),
            new Conv2D(8, 3, useBias: false, seed: 11),
            new BatchNormalization(momentum: 0.9f),
            new ReLU(),
            new MaxPooling2D(2),
            new Conv2D(16, 3, activation: "relu", seed: 12),
            new MaxPooling2D(2),
            new Flatten(),
            new Dense(10, seed: 13),
        ]);
        model.Output = TextWriter.Null;
        model.Compile(new Adam(2e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        model.Fit(x, y, epochs: 3, batchSize: 64, verbose: 0, seed: 1);
        double floatAccuracy = model.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];

        var calibration = new DataLoader(new TensorDataset(x.Narrow(0, 0, 512), y.Narrow(0, 0, 512)), batchSize: 128);
        using var ptq = model.Quantize(calibration, batches: 4);
        double ptqAccuracy = ptq.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];

        var qat = model.PrepareQuantizationAware();
        qat.Compile(new Adam(2e-4f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        qat.Output = TextWriter.Null;
        qat.Fit(x, y, epochs: 1, batchSize: 64, verbose: 0, seed: 2);
        double simulatedAccuracy = qat.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];
        using var int8 = qat.Quantize();
        double qatAccuracy = int8.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];

        // The control: the same extra epoch in float, then PTQ, so the comparison is not one of training time.
        model.Compile(new Adam(2e-4f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        model.Fit(x, y, epochs: 1, batchSize: 64, verbose: 0, seed: 2);
        double tunedAccuracy = model.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];
        using var tunedPtq = model.Quantize(calibration, batches: 4);
        double tunedPtqAccuracy = tunedPtq.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];
        output.WriteLine(
            $"MNIST 4000 train / 2000 test: float {floatAccuracy:P2}, PTQ int8 {ptqAccuracy:P2}; one more epoch: float {tunedAccuracy:P2}, PTQ int8 {tunedPtqAccuracy:P2}, " +
            $"QAT simulated {simulatedAccuracy:P2}, QAT int8 {qatAccuracy:P2} ({clock.Elapsed.TotalSeconds:F1} s)");
        Assert.True(floatAccuracy > 0.9, $"float accuracy {floatAccuracy}");
        Assert.True(qatAccuracy >= tunedPtqAccuracy - 0.01, $"QAT int8 {qatAccuracy} below PTQ int8 {tunedPtqAccuracy} after the same training");
        Assert.True(Math.Abs(qatAccuracy - simulatedAccuracy) <= 0.005, $"QAT int8 {qatAccuracy} differs from the simulation {simulatedAccuracy}");
    }
}
