// Eager against captured training steps, side by side in one run: the seed MNIST CNN, the samples'
// "strong" MNIST CNN (batch norm and dropout), the CIFAR-10 ResNet and a functional MLP with a
// residual Add. MemoryDiagnoser's Allocated column shows the managed memory per step; the
// --capture-memory mode of Program.cs prints the pool's peak per step with and without planning.
using BenchmarkDotNet.Attributes;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Samples;

namespace Lepton.Benchmarks;

public class CaptureBenchmarks
{
    private TrainingCase training = null!;

    [Params("mnist-seed", "mnist-strong", "cifar-resnet", "residual-mlp")]
    public string Model { get; set; } = "mnist-seed";

    [Params(false, true)]
    public bool Captured { get; set; }

    [GlobalSetup]
    public void Setup() => training = TrainingCase.Warm(Model, Captured, memoryPlanning: true);

    /// <summary>The step Fit runs for each batch (an eager step in a scope of its own, as Fit gives it).</summary>
    [Benchmark]
    public void TrainStep() => training.Step();
}

/// <summary>One model, batch and optimizer, warmed so that every measured step runs as asked (eager or replayed).</summary>
internal sealed class TrainingCase
{
    private readonly Model model;
    private readonly Tensor x;
    private readonly Tensor y;
    private readonly MeanMetric loss = new("loss");
    private readonly IReadOnlyList<Weight> trainable;
    private readonly bool captured;

    private TrainingCase(Model model, Tensor x, Tensor y, bool captured)
    {
        (this.model, this.x, this.y, this.captured) = (model, x, y, captured);
        trainable = model.TrainableWeights;
    }

    public static readonly string[] Names = ["mnist-seed", "mnist-strong", "cifar-resnet", "residual-mlp"];

    public Model Model => model;

    /// <summary>The model named <paramref name="name"/> with Adam and a batch of 64, after three steps.</summary>
    public static TrainingCase Warm(string name, bool captured, bool memoryPlanning)
    {
        Generator.ManualSeed(1);
        var g = new Generator(2);
        var (model, shape) = name switch
        {
            "mnist-seed" => (Architectures.MnistSeed(logits: true), new[] { 64, 1, 28, 28 }),
            "cifar-seed" => (Architectures.CifarSeed(), new[] { 64, 3, 32, 32 }),
            "mnist-strong" => ((Model)Architectures.MnistStrong(), new[] { 64, 1, 28, 28 }),
            "cifar-resnet" => (Architectures.CifarResNet(), new[] { 64, 3, 32, 32 }),
            "residual-mlp" => (ResidualMlp(), new[] { 64, 784 }),
            _ => throw new ArgumentException($"Unknown model '{name}'."),
        };
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        model.RunEagerly = !captured;
        model.Capture.MemoryPlanning = memoryPlanning;
        var training = new TrainingCase(model, Tensor.RandN(shape, g), Tensor.RandInt(0, 10, [shape[0]], g), captured);
        model.TrainOnBatch(training.x, training.y);
        for (int i = 0; i < 3; i++)
        {
            training.Step();
        }

        if (model.LastStepReplayed != captured)
        {
            throw new InvalidOperationException($"{name}: expected {(captured ? "replayed" : "eager")} steps.");
        }

        return training;
    }

    public void Step()
    {
        if (captured)
        {
            model.TrainStep(x, y, loss, trainable);
            return;
        }

        using var scope = Tensor.NewScope();
        model.TrainStep(x, y, loss, trainable);
    }

    /// <summary>784 -> 256, two dense layers whose output is added back to their input, then 10 logits.</summary>
    private static Model ResidualMlp()
    {
        var input = Keras.Input([784]);
        var h = new Dense(256, activation: "relu").Apply(input);
        var r = new Dense(256).Apply(new Dense(256, activation: "relu").Apply(h));
        var output = new Dense(10).Apply(new ReLU().Apply(new Add().Apply(h, r)));
        return new Model(input, output, "residual_mlp");
    }
}
