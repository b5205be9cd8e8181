// Changes a replayed step must notice: another model's Predict called inside the step, pruning started
// after the step was captured, a new gradient-accumulation factor, and a layer frozen between steps. Each
// compares a captured model with an eager twin bit for bit.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class CaptureInvalidationTests
{
    [Fact]
    public void AnotherModelsPredictInsideTheLossRunsInsideTheCapturedStep()
    {
        var teacher = new Sequential([new InputLayer([12]), new Dense(4, seed: 7)]);
        var (captured, eager) = (new Student(teacher), new Student(teacher));
        eager.RunEagerly = true;
        var (x, y) = CaptureTests.Batch("mlp", 8, 21);
        for (int step = 0; step < 5; step++)
        {
            Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
            Assert.Equal(step >= 2, captured.LastStepReplayed);
            CaptureTests.AssertSameWeights(eager, captured, $"step {step}");
        }

        // The teacher changes: the student's replayed loss follows it, as the eager twin's does.
        using (Tensor.NoGrad())
        {
            teacher.Weights[0].Value.Mul_(0.5f);
        }

        Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
        Assert.True(captured.LastStepReplayed);
        Assert.Null(captured.CaptureBreak);
    }

    [Fact]
    public void PruningStartedAfterTheStepWasCapturedKeepsPrunedWeightsZero()
    {
        var model = CaptureTests.Make("mlp");
        model.Output = TextWriter.Null;
        var (x, y) = CaptureTests.Batch("mlp", 32, 22);
        model.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0);
        Assert.True(model.LastStepReplayed);

        // Steps count the optimizer's iterations: the first Fit took 4, so the masks are made at the next step.
        var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(0.5, beginStep: model.Optimizer!.Iterations, frequency: 100));
        model.Fit(x, y, epochs: 2, batchSize: 8, callbacks: [pruning], verbose: 0);
        Assert.True(model.LastStepReplayed);
        Assert.NotEmpty(pruning.PrunedWeights);
        foreach (var w in model.Weights.Where(w => w.PruningMask is not null))
        {
            float[] mask = w.PruningMask!.ToArray(), values = w.Value.ToArray();
            Assert.Contains(0f, mask);
            Assert.All(Enumerable.Range(0, mask.Length).Where(i => mask[i] == 0f), i => Assert.Equal(0f, values[i]));
        }
    }

    [Fact]
    public void ANewGradientAccumulationFactorIsNotReplayedWithTheOldOne()
    {
        var (captured, eager) = (CaptureTests.Make("mlp", new Lepton.Nn.Optimizers.Sgd(0.1f)), CaptureTests.Make("mlp", new Lepton.Nn.Optimizers.Sgd(0.1f)));
        eager.RunEagerly = true;
        captured.Output = eager.Output = TextWriter.Null;
        var (x, y) = CaptureTests.Batch("mlp", 64, 23);
        foreach (int k in new[] { 2, 4 })
        {
            eager.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: k);
            captured.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: k);
            Assert.True(captured.LastStepReplayed);
            CaptureTests.AssertSameWeights(eager, captured, $"k = {k}");
        }
    }

    [Fact]
    public void FreezingABatchNormLayerBetweenStepsCapturesAgain()
    {
        Sequential Make()
        {
            var model = new Sequential([new InputLayer([12]), new Dense(16, seed: 5), new BatchNormalization(), new Dense(4, seed: 6)]);
            model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
            return model;
        }

        var (captured, eager) = (Make(), Make());
        eager.RunEagerly = true;
        var (x, y) = CaptureTests.Batch("mlp", 8, 24);
        for (int step = 0; step < 8; step++)
        {
            if (step == 4)
            {
                // A frozen batch norm normalizes with its moving statistics and stops updating them.
                captured.Layers[1].Trainable = eager.Layers[1].Trainable = false;
            }

            Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
            CaptureTests.AssertSameWeights(eager, captured, $"step {step}");
        }

        Assert.True(captured.LastStepReplayed);
    }

    /// <summary>A model whose loss adds a distance to another model's predictions.</summary>
    private sealed class Student : Sequential
    {
        private readonly Model teacher;

        public Student(Model teacher)
            : base([new InputLayer([12]), new Dense(16, activation: "relu", seed: 3), new Dense(4, seed: 4)])
        {
            this.teacher = teacher;
            Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        }

        protected override Tensor ComputeTrainingLoss(Tensor x, Tensor y, Tensor prediction)
        {
            var distance = prediction - teacher.Predict(x);
            return base.ComputeTrainingLoss(x, y, prediction) + ((distance * distance).Mean() * 0.1f);
        }
    }
}
