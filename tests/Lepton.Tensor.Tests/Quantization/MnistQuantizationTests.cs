// Int8 accuracy on real data: a small CNN trained briefly on MNIST from shared/datasets keeps its float32 accuracy
// within one point on held-out test images once statically quantized, and nearly all of it dynamically quantized.
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Nn.Quantization;
using Xunit.Abstractions;

namespace Lepton.Tests.Quantization;

public sealed class MnistQuantizationTests(ITestOutputHelper output)
{
    [Fact]
    public void Int8AccuracyIsWithinOnePointOfFloat()
    {
        string? directory = Mnist.FindDirectory();
        Assert.True(directory is not null, "MNIST must be in shared/datasets/mnist beside the repository (CI provides it).");
        var mnist = Mnist.Load(directory);
        var train = new TensorDataset(mnist.TrainImages.Narrow(0, 0, 4000).Contiguous(), mnist.TrainLabels.Narrow(0, 0, 4000).Contiguous());
        var xTest = mnist.TestImages.Narrow(0, 0, 2000).Contiguous();
        var yTest = mnist.TestLabels.Narrow(0, 0, 2000).Contiguous();

        var model = new Sequential([
            new InputLayer([1, 28, 28]),
            new Conv2D(8, 3, activation: "relu", seed: 1),
            new MaxPooling2D(2),
            new Conv2D(16, 3, seed: 2),
            new BatchNormalization(momentum: 0.9f),
            new ReLU(),
            new MaxPooling2D(2),
            new Flatten(),
            new Dense(32, activation: "relu", seed: 3),
            new Dense(10, seed: 4),
        ])
        { Output = TextWriter.Null };
        model.Compile(new Adam(2e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        model.Fit(new DataLoader(train, batchSize: 64, shuffle: true, seed: 1), epochs: 2, verbose: 0);

        var calibration = new DataLoader(train, batchSize: 64);
        using var int8 = model.Quantize(calibration, batches: 8);
        using var dynamic = model.QuantizeDynamic();
        double floatAccuracy = model.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];
        double int8Accuracy = int8.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];
        double dynamicAccuracy = dynamic.Evaluate(xTest, yTest, batchSize: 250)["accuracy"];
        output.WriteLine($"MNIST test[0:2000] after 2 epochs on 4000 images: float32 {floatAccuracy:P2}, static int8 {int8Accuracy:P2}, dynamic int8 {dynamicAccuracy:P2}");

        Assert.True(floatAccuracy > 0.85, $"float32 accuracy {floatAccuracy:P2} is too low for the check to mean anything");
        Assert.InRange(int8Accuracy, floatAccuracy - 0.01, 1.0);
        Assert.InRange(dynamicAccuracy, floatAccuracy - 0.01, 1.0);
    }
}
