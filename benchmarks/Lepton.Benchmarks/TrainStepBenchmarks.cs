// One training step of the MNIST CNN (forward, loss, backward, Adam), to watch time and the managed
// memory a step allocates (MemoryDiagnoser's Allocated column); tensor data itself is pooled. The step
// Fit runs per batch, and TrainOnBatch, which adds a fresh loss metric and the logs it returns.
using BenchmarkDotNet.Attributes;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Benchmarks;

public class TrainStepBenchmarks
{
    private Sequential model = null!;
    private Tensor x = null!;
    private Tensor y = null!;
    private MeanMetric loss = null!;
    private IReadOnlyList<Weight> trainable = null!;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        model = new Sequential([
            new InputLayer([1, 28, 28]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(),
            new Dense(128, activation: "relu"), new Dense(10),
        ]);
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
        x = Tensor.RandN([64, 1, 28, 28], g);
        y = Tensor.RandInt(0, 10, [64], g);
        loss = new MeanMetric("loss");
        trainable = model.TrainableWeights;

        // Builds the model and its training plan, so that every measured step runs planned (an eager step outside
        // Fit's per-batch scope would leave its tensors to the garbage collector).
        model.TrainOnBatch(x, y);
        model.TrainOnBatch(x, y);
    }

    /// <summary>The step Fit runs for each batch.</summary>
    [Benchmark]
    public void MnistTrainStep() => model.TrainStep(x, y, loss, trainable);

    [Benchmark]
    public double MnistTrainOnBatch() => model.TrainOnBatch(x, y)["loss"];
}
