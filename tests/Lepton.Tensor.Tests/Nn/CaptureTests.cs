// Captured steps: a replayed step gives the eager step's bits (losses and every weight after every step),
// on one thread and on several; a batch of another shape gets a capture of its own while the full batches
// keep theirs; frozen layers stay frozen; bad labels are refused at replay as eagerly; fusion changes the
// bias gradient only by rounding; and a warm replayed step allocates nothing.
using Lepton.Backends;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class CaptureTests
{
    public static TheoryData<string, int> Models => new()
    {
        { "mnist", 1 }, { "mnist", 2 }, { "cifar", 1 }, { "cifar", 3 }, { "mlp", 1 }, { "padded", 2 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void ReplayedStepsGiveTheEagerStepsBits(string name, int threads) => ConvolutionThreadTests.WithThreads(threads, () =>
    {
        var (planned, eager) = (Make(name), Make(name));
        eager.RunEagerly = true;
        planned.Capture.Fusion = false;
        var (x, y) = Batch(name, 8, 5);
        for (int step = 0; step < 5; step++)
        {
            var plannedLoss = planned.TrainOnBatch(x, y)["loss"];
            var eagerLoss = eager.TrainOnBatch(x, y)["loss"];
            Assert.Equal(step >= 2, planned.LastStepReplayed);
            Assert.False(eager.LastStepReplayed);
            Assert.Equal(eagerLoss, plannedLoss);
            AssertSameWeights(eager, planned, $"{name}, step {step}");
        }
    });

    [Theory]
    [InlineData("mnist")]
    [InlineData("mnist28")]
    [InlineData("cifar")]
    public void FusedReplaysMatchEagerStepsUpToRounding(string name)
    {
        var (captured, eager) = (Make(name), Make(name));
        eager.RunEagerly = true;
        var (x, y) = Batch(name, 8, 15);
        for (int step = 0; step < 5; step++)
        {
            Check.Close([eager.TrainOnBatch(x, y)["loss"]], [(float)captured.TrainOnBatch(x, y)["loss"]], 1e-5, 1e-5, $"{name} loss, step {step}");
            Assert.Equal(step >= 2, captured.LastStepReplayed);
            for (int i = 0; i < eager.Weights.Count; i++)
            {
                Check.Close(Array.ConvertAll(eager.Weights[i].Value.ToArray(), v => (double)v), captured.Weights[i].Value.ToArray(), 1e-5, 1e-4, $"{name} {eager.Weights[i].Name}, step {step}");
            }
        }

        // Each ReLU convolution followed by 2x2 pooling became the backend's fused kernels where the backend has them.
        Assert.Equal(FusableGroups(name), captured.LastCaptureStatistics!.Value.FusedGroups);
    }

    /// <summary>How many convolution + pooling pairs of the test model the CPU's fused kernels run (with this CPU's instructions).</summary>
    private static int FusableGroups(string name)
    {
        var fused = (IFusedKernels)Device.Cpu.RealBackend;
        (int C, int H, int K, int R)[] layers = name switch
        {
            "mnist" => [(1, 12, 8, 3)],
            "mnist28" => [(1, 28, 8, 3)],
            _ => [(3, 16, 8, 3), (8, 7, 16, 3)],
        };
        int groups = 0;
        foreach (var (c, h, k, r) in layers)
        {
            var g = new Conv2dGeometry(8, c, h, h, k, r, r, 1, 1, 0, 0, 0, 0, 1, 1, 1);
            var pool = new Pool2dGeometry(8, k, g.P, g.Q, 2, 2, 2, 2, 0, 0, 0, 0);
            groups += fused.SupportsConv2dBiasReluMaxPool(g, pool) ? 1 : 0;
        }

        return groups;
    }

    [Fact]
    public void ABatchOfAnotherShapeGetsACaptureOfItsOwnAndTheFullBatchesKeepTheirs()
    {
        var (captured, eager) = (Make("mnist"), Make("mnist"));
        eager.RunEagerly = true;
        captured.Capture.Fusion = false;
        var (x, y) = Batch("mnist", 8, 6);
        var (shortX, shortY) = Batch("mnist", 5, 7);
        bool[] isShort = [false, false, true, false, false, true, true, false];
        bool[] replayed = [false, false, false, true, true, false, true, true];
        for (int step = 0; step < isShort.Length; step++)
        {
            var (bx, by) = isShort[step] ? (shortX, shortY) : (x, y);
            Assert.Equal(eager.TrainOnBatch(bx, by)["loss"], captured.TrainOnBatch(bx, by)["loss"]);
            Assert.Equal(replayed[step], captured.LastStepReplayed);
            AssertSameWeights(eager, captured, $"step {step}");
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

        var (captured, eager) = (Frozen(), Frozen());
        eager.RunEagerly = true;
        var (x, y) = Batch("mlp", 8, 8);
        for (int step = 0; step < 4; step++)
        {
            var capturedLogs = captured.TrainOnBatch(x, y);
            var eagerLogs = eager.TrainOnBatch(x, y);
            Assert.Equal(eagerLogs["loss"], capturedLogs["loss"]);
            Assert.Equal(eagerLogs["accuracy"], capturedLogs["accuracy"]);
            Assert.Equal(step >= 2, captured.LastStepReplayed);
            AssertSameWeights(eager, captured, $"step {step}");
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

        Assert.Equal(!eager, model.LastStepReplayed);
        Assert.All(frozen.Weights, w => Assert.False(w.Value.RequiresGrad));
        Assert.All(frozen.Weights, w => Assert.Null(w.Value.Grad));
        Assert.Equal(before, frozen.Weights.Select(w => w.Value.ToArray()).ToList());
        Assert.All(model.TrainableWeights, w => Assert.True(w.Value.RequiresGrad));
    }

    [Fact]
    public void DropoutAndSoftmaxModelsReplayWithTheEagerStepsBits()
    {
        Sequential Dropout()
        {
            var model = new Sequential([new InputLayer([12]), new Dense(16, activation: "relu", seed: 4), new Dropout(0.5f, seed: 9), new Dense(4, seed: 4)]);
            model.Compile(new Adam(), new SparseCategoricalCrossentropy(fromLogits: true));
            return model;
        }

        Sequential Softmax()
        {
            var model = new Sequential([new InputLayer([12]), new Dense(4, activation: "softmax", seed: 4)]);
            model.Compile(new Adam(), new SparseCategoricalCrossentropy());
            return model;
        }

        var (x, y) = Batch("mlp", 8, 9);
        foreach (var make in new Func<Sequential>[] { Dropout, Softmax })
        {
            var (captured, eager) = (make(), make());
            eager.RunEagerly = true;
            for (int step = 0; step < 5; step++)
            {
                Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
                Assert.Equal(step >= 2, captured.LastStepReplayed);
                AssertSameWeights(eager, captured, $"step {step}");
            }
        }
    }

    [Fact]
    public void AReplayedStepRefusesALabelOutOfRangeBeforeChangingAnything()
    {
        var model = Make("mlp");
        var (x, y) = Batch("mlp", 8, 10);
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, y);
        }

        Assert.True(model.LastStepReplayed);
        var before = model.Weights.Select(w => w.Value.ToArray()).ToList();
        var bad = Tensor.FromArray([0, 1, 2, 3, 0, 1, 2, 4], [8], DType.Int32);
        var e = Assert.Throws<IndexOutOfRangeException>(() => model.TrainOnBatch(x, bad));
        Assert.StartsWith("SparseCategoricalCrossentropy: label 4 at position 7 is out of range for 4 classes", e.Message);
        Assert.Equal(before, model.Weights.Select(w => w.Value.ToArray()).ToList());

        // The capture survives the refused batch.
        model.TrainOnBatch(x, y);
        Assert.True(model.LastStepReplayed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AWarmReplayedStepAllocatesNothing(int threads) => ConvolutionThreadTests.WithThreads(threads, () =>
    {
        var model = Make("cifar", new Adam(1e-3f) { GlobalClipNorm = 1f }, new Accuracy());
        var (x, y) = Batch("cifar", 8, 11);
        var loss = new MeanMetric("loss");
        var trainable = model.TrainableWeights;
        model.TrainOnBatch(x, y);
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
            Assert.True(model.LastStepReplayed);
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
            "mnist28" => new([new InputLayer([1, 28, 28]), new Conv2D(8, 3, activation: "relu", seed: seed), new MaxPooling2D(2), new Flatten(),
                new Dense(5, seed: seed)]),
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
        int[] shape = name switch { "mnist" => [n, 1, 12, 12], "mnist28" => [n, 1, 28, 28], "cifar" => [n, 3, 16, 16], "padded" => [n, 2, 9, 9], _ => [n, 12] };
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
public sealed class CaptureTestsIlgpuCpu
{
    [Fact]
    public void OnAnIlgpuDeviceReplayedStepsGiveTheEagerStepsBits()
    {
        foreach (var name in new[] { "mlp", "mnist" })
        {
            var (captured, eager) = (CaptureTests.Make(name), CaptureTests.Make(name));
            captured.Device = eager.Device = Device.IlgpuCpu;
            eager.RunEagerly = true;
            var (x, y) = CaptureTests.Batch(name, 8, 12);
            (x, y) = (x.To(Device.IlgpuCpu), y.To(Device.IlgpuCpu));
            for (int step = 0; step < 4; step++)
            {
                Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
                Assert.Equal(step >= 2, captured.LastStepReplayed);
                CaptureTests.AssertSameWeights(eager, captured, $"{name}, step {step}");
            }
        }
    }
}
