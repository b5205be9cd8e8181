// End to end: an MLP learns XOR and a small CNN learns a synthetic bar-orientation image task with
// plain SGD, to 100% accuracy with a falling loss.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class TrainingTests : BackendTests
{
    [Fact]
    public void MlpLearnsXor()
    {
        var x = T([0f, 0f, 0f, 1f, 1f, 0f, 1f, 1f], 4, 2);
        var y = T([0f, 1f, 1f, 0f], 4, 1);
        var model = new TinyMlp(Device, 2, 8, 1, seed: 3);
        float first = 0, last = 0;
        for (int step = 0; step < 600; step++)
        {
            using var scope = Tensor.NewScope();
            var loss = Tensor.BinaryCrossEntropyWithLogits(model.Forward(x), y);
            loss.Backward();
            Sgd.Step(model.Parameters, 0.5f);
            last = loss.Item();
            if (step == 0)
            {
                first = last;
            }
        }

        Assert.True(last < first * 0.1f, $"loss went from {first} to {last}");
        var predicted = (model.Forward(x) > 0f).ToArray();
        Assert.Equal(new[] { 0f, 1f, 1f, 0f }, predicted);
    }

    [Fact]
    public void SmallCnnLearnsBarOrientation()
    {
        var (images, labels) = ParityChecks.Bars(64, seed: 5);
        var x = T(images, 64, 1, 8, 8);
        var y = Tensor.FromArray(labels, [64], Device);
        var conv = TinyMlp.Init(Device, [4, 1, 3, 3], 9, 11);
        var convBias = Tensor.Zeros([4], device: Device).RequiresGrad_();
        var dense = TinyMlp.Init(Device, [64, 2], 64, 12);
        var denseBias = Tensor.Zeros([2], device: Device).RequiresGrad_();
        Tensor[] parameters = [conv, convBias, dense, denseBias];
        Tensor Forward(Tensor input) =>
            input.Conv2d(conv, convBias, padding: (1, 1)).Relu().MaxPool2d((2, 2)).Flatten(1).MatMul(dense) + denseBias;

        float first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            using var scope = Tensor.NewScope();
            var loss = Tensor.CrossEntropy(Forward(x), y);
            loss.Backward();
            Sgd.Step(parameters, 0.2f);
            last = loss.Item();
            if (step == 0)
            {
                first = last;
            }
        }

        Assert.True(last < first * 0.2f, $"loss went from {first} to {last}");
        var (testImages, testLabels) = ParityChecks.Bars(64, seed: 99);
        var predicted = Forward(T(testImages, 64, 1, 8, 8)).ArgMax(1).ToInt32Array();
        Assert.Equal(testLabels, predicted);
    }
}

public sealed class TrainingTestsCpu : TrainingTests
{
    protected override Device Device => Device.Cpu;
}
