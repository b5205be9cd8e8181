// Training plans: a planned step gives the eager step's bits (losses and every weight after every step)
// for each layer, activation and optimizer a plan covers, on one thread and on several; batches of another
// shape, frozen layers and uncovered models train eagerly; bad labels are refused as eagerly; and a warm
// planned step allocates nothing.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class TrainingPlanTests
{
    public static TheoryData<string, int> Models => new()
    {
        { "mnist", 1 }, { "mnist", 2 }, { "cifar", 1 }, { "cifar", 3 }, { "mlp", 1 }, { "padded", 2 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void PlannedStepsGiveTheEagerStepsBits(string name, int threads) => ConvolutionThreadTests.WithThreads(threads, () =>
    {
        var (planned, eager) = (Make(name), Make(name));
        eager.RunEagerly = true;
        var (x, y) = Batch(name, 8, 5);
        for (int step = 0; step < 4; step++)
        {
            var plannedLoss = planned.TrainOnBatch(x, y)["loss"];
            var eagerLoss = eager.TrainOnBatch(x, y)["loss"];
            Assert.True(planned.LastStepPlanned);
            Assert.False(eager.LastStepPlanned);
            Assert.Equal(eagerLoss, plannedLoss);
            AssertSameWeights(eager, planned, $"{name}, step {step}");
        }
    });

    [Fact]
    public void ABatchOfAnotherShapeTrainsEagerlyAndTheFullBatchesKeepTheirPlan()
    {
        var (planned, eager) = (Make("mnist"), Make("mnist"));
        eager.RunEagerly = true;
        var (x, y) = Batch("mnist", 8, 6);
        var (shortX, shortY) = Batch("mnist", 5, 7);
        bool[] expected = [true, true, false, true, true];
        for (int step = 0; step < expected.Length; step++)
        {
            var (bx, by) = step == 2 ? (shortX, shortY) : (x, y);
            Assert.Equal(eager.TrainOnBatch(bx, by)["loss"], planned.TrainOnBatch(bx, by)["loss"]);
            Assert.Equal(expected[step], planned.LastStepPlanned);
            AssertSameWeights(eager, planned, $"step {step}");
        }
    }

    [Fact]
    public void FrozenLayersMetricsAndSgdWithMomentumMatchEagerSteps()
    {
        Sequential Frozen()
        {
            var model = Make("mlp", new Lepton.Nn.Optimizers.Sgd(0.05f, momentum: 0.9f), new Accuracy());
            model.Layers[1].Trainable = false;
            return model;
        }

        var (planned, eager) = (Frozen(), Frozen());
        eager.RunEagerly = true;
        var (x, y) = Batch("mlp", 8, 8);
        for (int step = 0; step < 3; step++)
        {
            var plannedLogs = planned.TrainOnBatch(x, y);
            var eagerLogs = eager.TrainOnBatch(x, y);
            Assert.Equal(eagerLogs["loss"], plannedLogs["loss"]);
            Assert.Equal(eagerLogs["accuracy"], plannedLogs["accuracy"]);
            Assert.True(planned.LastStepPlanned);
            AssertSameWeights(eager, planned, $"step {step}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrainOnBatchComputesNoGradientForAFrozenLayer(bool eager)
    {
        var model = Make("mlp");
        model.RunEagerly = eager;
        var frozen = model.Layers[1];
        frozen.Trainable = false;
        var before = frozen.Weights.Select(w => w.Value.ToArray()).ToList();
        var (x, y) = Batch("mlp", 8, 13);
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, y);
        }

        Assert.Equal(!eager, model.LastStepPlanned);
        Assert.All(frozen.Weights, w => Assert.False(w.Value.RequiresGrad));
        Assert.All(frozen.Weights, w => Assert.Null(w.Value.Grad));
        Assert.Equal(before, frozen.Weights.Select(w => w.Value.ToArray()).ToList());
        Assert.All(model.TrainableWeights, w => Assert.True(w.Value.RequiresGrad));
    }

    [Fact]
    public void ModelsAPlanDoesNotCoverTrainEagerly()
    {
        var (x, y) = Batch("mlp", 8, 9);
        var dropout = new Sequential([new InputLayer([12]), new Dense(16, activation: "relu"), new Dropout(0.5f), new Dense(4)]);
        var softmax = new Sequential([new InputLayer([12]), new Dense(4, activation: "softmax")]);
        dropout.Compile(new Adam(), new SparseCategoricalCrossentropy(fromLogits: true));
        softmax.Compile(new Adam(), new SparseCategoricalCrossentropy());
        foreach (var model in new[] { dropout, softmax })
        {
            for (int step = 0; step < 3; step++)
            {
                Assert.True(double.IsFinite(model.TrainOnBatch(x, y)["loss"]));
                Assert.False(model.LastStepPlanned);
            }
        }
    }

    [Fact]
    public void APlannedStepRefusesALabelOutOfRangeBeforeChangingAnything()
    {
        var model = Make("mlp");
        var (x, y) = Batch("mlp", 8, 10);
        model.TrainOnBatch(x, y);
        model.TrainOnBatch(x, y);
        Assert.True(model.LastStepPlanned);
        var before = model.Weights.Select(w => w.Value.ToArray()).ToList();
        var bad = Tensor.FromArray([0, 1, 2, 3, 0, 1, 2, 4], [8], DType.Int32);
        var e = Assert.Throws<IndexOutOfRangeException>(() => model.TrainOnBatch(x, bad));
        Assert.StartsWith("SparseCategoricalCrossentropy: label 4 at position 7 is out of range for 4 classes", e.Message);
        Assert.Equal(before, model.Weights.Select(w => w.Value.ToArray()).ToList());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AWarmPlannedStepAllocatesNothing(int threads) => ConvolutionThreadTests.WithThreads(threads, () =>
    {
        var model = Make("cifar");
        var (x, y) = Batch("cifar", 8, 11);
        var loss = new MeanMetric("loss");
        var trainable = model.TrainableWeights;
        for (int step = 0; step < 4; step++)
        {
            model.TrainStep(x, y, loss, trainable);
        }

        long least = long.MaxValue;
        for (int step = 0; step < 3; step++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.TrainStep(x, y, loss, trainable);
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.True(model.LastStepPlanned);
        }

        Assert.Equal(0, least);
    });

    internal static Sequential Make(string name, Optimizer? optimizer = null, params Metric[] metrics)
    {
        ulong seed = 3;
        Sequential model = name switch
        {
            "mnist" => new([new InputLayer([1, 12, 12]), new Conv2D(8, 3, activation: "relu", seed: seed), new MaxPooling2D(2), new Flatten(),
                new Dense(16, activation: "relu", seed: seed), new Dense(5, seed: seed)]),
            "cifar" => new([new InputLayer([3, 16, 16]), new Conv2D(8, 3, activation: "relu", seed: seed), new MaxPooling2D(2),
                new Conv2D(16, 3, activation: "relu", seed: seed), new MaxPooling2D(2), new Conv2D(16, 2, activation: "relu", seed: seed),
                new Flatten(), new Dense(12, activation: "relu", seed: seed), new Dense(5, seed: seed)]),
            "padded" => new([new InputLayer([2, 9, 9]), new Conv2D(8, 3, strides: 2, padding: "same", activation: "relu", seed: seed),
                new Conv2D(8, 3, padding: "same", activation: "relu", useBias: false, seed: seed), new MaxPooling2D(2), new Flatten(),
                new Dense(6, activation: "tanh", seed: seed), new Dense(5, useBias: false, seed: seed)]),
            _ => new([new InputLayer([12]), new Dense(16, activation: "sigmoid", seed: seed), new Dense(16, activation: "leaky_relu", seed: seed),
                new Dense(8, seed: seed), new Dense(4, activation: "gelu", seed: seed)]),
        };
        model.Compile(optimizer ?? new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true, labelSmoothing: name == "cifar" ? 0.1f : 0f), metrics);
        return model;
    }

    internal static (Tensor X, Tensor Y) Batch(string name, int n, ulong seed)
    {
        var g = new Generator(seed);
        int[] shape = name switch { "mnist" => [n, 1, 12, 12], "cifar" => [n, 3, 16, 16], "padded" => [n, 2, 9, 9], _ => [n, 12] };
        return (Tensor.RandN(shape, g), Tensor.RandInt(0, name == "mlp" ? 4 : 5, [n], g));
    }

    internal static void AssertSameWeights(Model expected, Model actual, string what)
    {
        for (int i = 0; i < expected.Weights.Count; i++)
        {
            Assert.True(expected.Weights[i].Value.ToArray().AsSpan().SequenceEqual(actual.Weights[i].Value.ToArray()), $"{what}: {expected.Weights[i].Name} differs");
        }
    }
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class TrainingPlanTestsIlgpuCpu
{
    [Fact]
    public void OnAnIlgpuDeviceDenseModelsArePlannedAndConvolutionsTrainEagerly()
    {
        foreach (var name in new[] { "mlp", "mnist" })
        {
            var (planned, eager) = (TrainingPlanTests.Make(name), TrainingPlanTests.Make(name));
            planned.Device = eager.Device = Device.IlgpuCpu;
            eager.RunEagerly = true;
            var (x, y) = TrainingPlanTests.Batch(name, 8, 12);
            (x, y) = (x.To(Device.IlgpuCpu), y.To(Device.IlgpuCpu));
            for (int step = 0; step < 3; step++)
            {
                Assert.Equal(eager.TrainOnBatch(x, y)["loss"], planned.TrainOnBatch(x, y)["loss"]);
                Assert.Equal(name == "mlp", planned.LastStepPlanned);
                TrainingPlanTests.AssertSameWeights(eager, planned, $"{name}, step {step}");
            }
        }
    }
}
