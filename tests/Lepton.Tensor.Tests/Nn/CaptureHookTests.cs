// The hooks of a training step, eager and replayed: GradientReady (once per trainable weight, during backward, with
// the plain backward's gradient, changes kept), gradient accumulation, CustomOptimizer, and captured steps' memory.
using Lepton.Backends;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;
using static Lepton.Tests.Nn.CaptureTests;
using Sgd = Lepton.Nn.Optimizers.Sgd;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class CaptureHookTests
{
    [Theory]
    [InlineData("mlp", false)]
    [InlineData("mlp", true)]
    [InlineData("cifar", false)]
    [InlineData("cifar", true)]
    public void GradientReadyGivesEachTrainableWeightItsFinalGradientBeforeTheUpdate(string name, bool eagerly)
    {
        var (model, twin) = (Frozen(name, new Sgd(0.1f)), Frozen(name, new Sgd(0.1f)));
        model.RunEagerly = eagerly;
        model.Capture.Fusion = false;
        var trainable = model.TrainableWeights;
        var weights = model.Weights;
        var frozen = model.Layers.Single(l => !l.Trainable).Weights;
        Assert.NotEmpty(frozen);
        var (first, last) = (model.Layers[1].Weights[0], model.Layers[^1].Weights[0]);
        Assert.EndsWith("kernel", first.Name);
        Assert.EndsWith("kernel", last.Name);
        var calls = new List<(Weight Weight, float[] Gradient, float[] Value)>();
        model.GradientReady = (weight, gradient) => calls.Add((weight, gradient.ToArray(), weight.Value.ToArray()));
        for (int step = 0; step < 5; step++)
        {
            var (x, y) = Batch(name, 8, 40 + (ulong)step);
            var before = weights.Select(w => w.Value.ToArray()).ToList();
            var expected = PlainGradients(model, twin, x, y);
            calls.Clear();
            model.TrainOnBatch(x, y);
            Assert.Equal(!eagerly && step >= 2, model.LastStepReplayed);

            // Once per trainable weight, none for the frozen layer, the last layer's kernel before the first's.
            Assert.Equal(trainable.Count, calls.Count);
            Assert.Equal(trainable.Count, calls.Select(c => c.Weight).Distinct().Count());
            Assert.All(calls, c => Assert.Contains(c.Weight, trainable));
            Assert.All(calls, c => Assert.DoesNotContain(c.Weight, frozen));
            Assert.True(calls.FindIndex(c => c.Weight == last) < calls.FindIndex(c => c.Weight == first), $"step {step}: {last.Name} after {first.Name}");
            foreach (var (weight, gradient, value) in calls)
            {
                int i = IndexOf(weights, weight);
                Assert.True(expected[i]!.AsSpan().SequenceEqual(gradient), $"step {step}: {weight.Name}'s gradient differs from a plain backward's");
                Assert.True(before[i].AsSpan().SequenceEqual(value), $"step {step}: {weight.Name} was updated before its gradient was reported");
                Assert.False(before[i].AsSpan().SequenceEqual(weight.Value.ToArray()), $"step {step}: {weight.Name} did not train");
            }
        }
    }

    [Theory]
    [InlineData("mlp", false)]
    [InlineData("mlp", true)]
    [InlineData("cifar", false)]
    public void AGradientZeroedInTheHandlerLeavesSgdWeightsUnchanged(string name, bool eagerly)
    {
        // The CIFAR model's replays run fused convolution + pooling (on by default) and planned memory.
        var model = Frozen(name, new Sgd(0.1f));
        model.RunEagerly = eagerly;
        model.GradientReady = (_, gradient) => gradient.Mul_(0f);
        var (x, y) = Batch(name, 8, 50);
        var before = model.Weights.Select(w => w.Value.ToArray()).ToList();
        for (int step = 0; step < 4; step++)
        {
            model.TrainOnBatch(x, y);
            Assert.Equal(!eagerly && step >= 2, model.LastStepReplayed);
            Assert.Equal(before, model.Weights.Select(w => w.Value.ToArray()).ToList());
        }

        // Without the handler the same (replayed) step moves every trainable weight.
        model.GradientReady = null;
        model.TrainOnBatch(x, y);
        Assert.Equal(!eagerly, model.LastStepReplayed);
        Assert.All(model.TrainableWeights, w => Assert.False(before[IndexOf(model.Weights, w)].AsSpan().SequenceEqual(w.Value.ToArray()), w.Name));
    }

    [Fact]
    public void AHandlerSetAfterTheStepWasCapturedIsCalledInReplayedSteps()
    {
        var model = Frozen("mlp", new Sgd(0.1f));
        var (x, y) = Batch("mlp", 8, 51);
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, y);
        }

        Assert.True(model.LastStepReplayed);
        var reported = new List<Weight>();
        model.GradientReady = (weight, _) => reported.Add(weight);
        for (int step = 0; step < 4; step++)
        {
            reported.Clear();
            model.TrainOnBatch(x, y);
            Assert.Equal(model.TrainableWeights.OrderBy(w => w.Name), reported.OrderBy(w => w.Name));
        }

        Assert.True(model.LastStepReplayed);
    }

    [Theory]
    [InlineData("mnist", false)]
    [InlineData("mlp", true)]
    public void AccumulatedCapturedStepsGiveTheEagerStepsBits(string name, bool custom)
    {
        // Adam, or a custom momentum optimizer with global norm clipping.
        Sequential Model() => Make(name, custom ? new TensorMomentum(0.05f, 0.9f) { GlobalClipNorm = 0.5f } : null);
        var (captured, eager) = (Model(), Model());
        captured.Capture.Fusion = false;
        eager.RunEagerly = true;
        var (x, y) = Batch(name, 64, 21);
        foreach (var model in new[] { captured, eager })
        {
            model.Fit(x, y, batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: 2);
            Assert.Equal(4, model.Optimizer!.Iterations);
        }

        Assert.True(captured.LastStepReplayed);
        AssertSameWeights(eager, captured, "after 8 batches, k = 2");
    }

    [Fact]
    public void AccumulatingTwoHalvesIsOneSgdStepOnTheWholeBatch()
    {
        var (halves, whole) = (Regression(), Regression());
        var g = new Generator(22);
        var (x, y) = (Tensor.RandN([32, 6], g), Tensor.RandN([32, 3], g));
        halves.Fit(x, y, epochs: 3, batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: 2);
        whole.Fit(x, y, epochs: 3, batchSize: 16, shuffle: false, verbose: 0);
        Assert.True(halves.LastStepReplayed);
        Assert.Equal(12 / 2, halves.Optimizer!.Iterations);
        Assert.Equal(6, whole.Optimizer!.Iterations);
        for (int i = 0; i < whole.Weights.Count; i++)
        {
            Check.Close(Array.ConvertAll(whole.Weights[i].Value.ToArray(), v => (double)v), halves.Weights[i].Value.ToArray(), 1e-6, 0, whole.Weights[i].Name);
        }
    }

    [Fact]
    public void AnIncompleteGroupIsDroppedWhenFitReturns()
    {
        // Seven batches with k = 2 update as six do; the seventh batch's gradient must not reach the next Fit.
        var (seven, six) = (Make("mlp"), Make("mlp"));
        var (x, y) = Batch("mlp", 56, 23);
        var (x2, y2) = Batch("mlp", 16, 24);
        seven.Fit(x, y, batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: 2);
        six.Fit(x.Narrow(0, 0, 48).Contiguous(), y.Narrow(0, 0, 48).Contiguous(), batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: 2);
        Assert.Equal(3, seven.Optimizer!.Iterations);
        AssertSameWeights(six, seven, "after the first Fit");
        foreach (var model in new[] { seven, six })
        {
            model.Fit(x2, y2, batchSize: 8, shuffle: false, verbose: 0, gradientAccumulation: 2);
        }

        Assert.Equal(4, seven.Optimizer!.Iterations);
        AssertSameWeights(six, seven, "after the second Fit");
    }

    [Fact]
    public void FitRefusesGradientAccumulationBelowOne()
    {
        var model = Make("mlp");
        var (x, y) = Batch("mlp", 8, 25);
        var before = model.Weights.Select(w => w.Value.ToArray()).ToList();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x, y, verbose: 0, gradientAccumulation: 0));
        Assert.Equal("gradientAccumulation", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(new Lepton.Data.DataLoader(new Lepton.Data.TensorDataset(x, y), 4), verbose: 0, gradientAccumulation: -1));
        Assert.Equal("gradientAccumulation", e.ParamName);
        Assert.Equal(before, model.Weights.Select(w => w.Value.ToArray()).ToList());
        Assert.Equal(0, model.Optimizer!.Iterations);
    }

    [Fact]
    public void ACustomSgdTrainsThroughCapturedStepsWithTheEagerBits()
    {
        var (captured, eager) = (Make("mnist", new TensorSgd(0.05f)), Make("mnist", new TensorSgd(0.05f)));
        captured.Capture.Fusion = false;
        eager.RunEagerly = true;
        var (x, y) = Batch("mnist", 48, 26);
        var before = captured.Weights.Select(w => w.Value.ToArray()).ToList();
        captured.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0);
        eager.Fit(x, y, epochs: 2, batchSize: 8, shuffle: false, verbose: 0);
        Assert.True(captured.LastStepReplayed);
        Assert.Equal(12, captured.Optimizer!.Iterations);
        AssertSameWeights(eager, captured, "custom SGD");
        Assert.All(captured.Weights, w => Assert.False(before[IndexOf(captured.Weights, w)].AsSpan().SequenceEqual(w.Value.ToArray()), w.Name));
    }

    [Fact]
    public void ReplayedCustomStepsFollowTheLearningRateSchedule()
    {
        var schedule = new ExponentialDecay(0.2f, decaySteps: 1, decayRate: 0.5f);
        var (captured, eager) = (Make("mlp", new TensorSgd(schedule)), Make("mlp", new TensorSgd(schedule)));
        eager.RunEagerly = true;
        var optimizer = (TensorSgd)captured.Optimizer!;
        var weights = captured.Weights;
        var gradients = new float[weights.Count][];
        captured.GradientReady = (weight, gradient) => gradients[IndexOf(weights, weight)] = gradient.ToArray();
        float previousRate = float.PositiveInfinity;
        for (int step = 0; step < 6; step++)
        {
            var (x, y) = Batch("mlp", 8, 60 + (ulong)step);
            var before = weights.Select(w => w.Value.ToArray()).ToList();
            float rate = schedule.Rate(step);
            Assert.True(rate < previousRate);
            previousRate = rate;
            Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
            Assert.Equal(step >= 2, captured.LastStepReplayed);
            AssertSameWeights(eager, captured, $"step {step}");

            // Each weight moved by exactly this step's rate times its gradient, not by the rate of the captured step.
            foreach (var w in captured.TrainableWeights)
            {
                int i = IndexOf(weights, w);
                var expected = new float[before[i].Length];
                for (int j = 0; j < expected.Length; j++)
                {
                    expected[j] = before[i][j] - (gradients[i][j] * rate);
                }

                Assert.True(expected.AsSpan().SequenceEqual(w.Value.ToArray()), $"step {step}: {w.Name} did not move by rate {rate} times its gradient");
                Assert.All(optimizer.Probe(w, "rate"), r => Assert.Equal(rate, r));
                Assert.All(optimizer.Probe(w, "iterations"), n => Assert.Equal(step + 1, n));
            }
        }
    }

    [Fact]
    public void ACustomMomentumKeepsItsSlotsAcrossReplayedSteps()
    {
        var (captured, eager) = (Make("mlp", new TensorMomentum(0.05f, 0.9f)), Make("mlp", new TensorMomentum(0.05f, 0.9f)));
        eager.RunEagerly = true;
        var optimizer = (TensorMomentum)captured.Optimizer!;
        var weights = captured.Weights;
        var gradients = new float[weights.Count][];
        captured.GradientReady = (weight, gradient) => gradients[IndexOf(weights, weight)] = gradient.ToArray();
        var velocities = weights.Select(w => new float[w.Value.Numel]).ToArray();
        for (int step = 0; step < 6; step++)
        {
            var (x, y) = Batch("mlp", 8, 70 + (ulong)step);
            Assert.Equal(eager.TrainOnBatch(x, y)["loss"], captured.TrainOnBatch(x, y)["loss"]);
            Assert.Equal(step >= 2, captured.LastStepReplayed);
            AssertSameWeights(eager, captured, $"step {step}");
            foreach (var w in captured.TrainableWeights)
            {
                int i = IndexOf(weights, w);
                for (int j = 0; j < velocities[i].Length; j++)
                {
                    velocities[i][j] = (velocities[i][j] * 0.9f) + gradients[i][j];
                }

                Assert.True(velocities[i].AsSpan().SequenceEqual(optimizer.Velocity(w)), $"step {step}: {w.Name}'s velocity is not 0.9 v + g");
                Assert.Equal(((TensorMomentum)eager.Optimizer!).Velocity(eager.Weights[i]), optimizer.Velocity(w));
            }
        }
    }

    [Fact]
    public void MemoryPlanningSharesBuffersWithoutChangingTheStepAndReplaysKeepMemoryFlat()
    {
        var (planned, unplanned) = (Make("cifar"), Make("cifar"));
        unplanned.Capture.MemoryPlanning = false;
        for (int step = 0; step < 6; step++)
        {
            var (x, y) = Batch("cifar", 8, 80 + (ulong)step);
            Assert.Equal(unplanned.TrainOnBatch(x, y)["loss"], planned.TrainOnBatch(x, y)["loss"]);
            Assert.Equal(step >= 2, planned.LastStepReplayed);
            Assert.Equal(step >= 2, unplanned.LastStepReplayed);
            AssertSameWeights(unplanned, planned, $"step {step}");
        }

        var (on, off) = (planned.LastCaptureStatistics!.Value, unplanned.LastCaptureStatistics!.Value);
        Assert.Equal(off.IntermediateBytes, on.IntermediateBytes);
        Assert.True(on.PlannedBytes < on.IntermediateBytes, $"planned {on.PlannedBytes} B of {on.IntermediateBytes} B");
        Assert.Equal(off.IntermediateBytes, off.PlannedBytes);

        var pool = Device.Cpu.Backend.Pool;
        var (bx, by) = Batch("cifar", 8, 90);
        planned.TrainOnBatch(bx, by);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long live = pool.LiveBytes;
        for (int step = 0; step < 200; step++)
        {
            planned.TrainOnBatch(bx, by);
            Assert.True(planned.LastStepReplayed);
            Assert.Equal(live, pool.LiveBytes);
        }
    }

    /// <summary>A test model trained with <paramref name="optimizer"/>, with a middle layer (a Dense or a Conv2D) frozen.</summary>
    private static Sequential Frozen(string name, Optimizer optimizer)
    {
        var model = Make(name, optimizer);
        model.Layers[name == "cifar" ? 3 : 2].Trainable = false;
        return model;
    }

    private static Sequential Regression()
    {
        var model = new Sequential([new InputLayer([6]), new Dense(10, activation: "tanh", seed: 5), new Dense(3, seed: 5)]);
        model.Compile(new Sgd(0.1f), new MeanSquaredError());
        return model;
    }

    /// <summary>Each of <paramref name="model"/>'s weights' gradient (null when frozen) from a plain backward on its twin.</summary>
    private static float[]?[] PlainGradients(Model model, Model twin, Tensor x, Tensor y)
    {
        using var scope = Tensor.NewScope();
        var trainable = model.TrainableWeights;
        for (int i = 0; i < model.Weights.Count; i++)
        {
            var w = twin.Weights[i].Value;
            w.RequiresGrad = false;
            w.CopyFrom(model.Weights[i].Value);
            w.ZeroGrad();
            w.RequiresGrad = trainable.Contains(model.Weights[i]);
        }

        twin.Loss!.Compute(y, twin.Call(x, training: true)).Backward();
        return [.. twin.Weights.Select(w => w.Value.Grad?.ToArray())];
    }

    private static int IndexOf(IReadOnlyList<Weight> weights, Weight weight)
    {
        for (int i = 0; i < weights.Count; i++)
        {
            if (ReferenceEquals(weights[i], weight))
            {
                return i;
            }
        }

        throw new ArgumentException($"{weight.Name} is not a weight of the model.");
    }

    /// <summary>SGD from tensor ops; it also keeps the rate and step it read, to show what a replay read.</summary>
    [Fact]
    public void DisposingACustomOptimizerFreesItsSlotsAndScalars()
    {
        var optimizer = new TensorMomentum(0.01f, 0.9f);
        var model = CaptureTests.Make("mlp", optimizer);
        var (x, y) = CaptureTests.Batch("mlp", 8, 31);
        model.TrainOnBatch(x, y);
        long slotBytes = model.TrainableWeights.Sum(w => 4L * w.Value.Numel);
        long before = Device.Cpu.Backend.Pool.LiveBytes;
        optimizer.Dispose();
        long freed = before - Device.Cpu.Backend.Pool.LiveBytes;
        Assert.True(freed >= slotBytes + 8, $"freed {freed} bytes, the velocity slots and the two scalars hold at least {slotBytes + 8}");
    }

    private sealed class TensorSgd : CustomOptimizer
    {
        public TensorSgd(float learningRate)
            : base(learningRate)
        {
        }

        public TensorSgd(LearningRateSchedule schedule)
            : base(schedule)
        {
        }

        public override string Name => "tensor_sgd";

        public float[] Probe(Weight weight, string name) => Slot(weight, name).ToArray();

        protected override void UpdateWeight(Weight weight, Tensor gradient)
        {
            weight.Value.Add_(gradient * LearningRateTensor, -1f);
            Slot(weight, "rate").CopyFrom(LearningRateTensor);
            Slot(weight, "iterations").CopyFrom(IterationsTensor);
        }
    }

    /// <summary>Momentum SGD from tensor ops: v = momentum v + g; w -= rate v.</summary>
    private sealed class TensorMomentum(float learningRate, float momentum) : CustomOptimizer(learningRate)
    {
        public override string Name => "tensor_momentum";

        public float[] Velocity(Weight weight) => Slot(weight, "velocity").ToArray();

        protected override void UpdateWeight(Weight weight, Tensor gradient)
        {
            var velocity = Slot(weight, "velocity");
            velocity.Mul_(momentum).Add_(gradient);
            weight.Value.Add_(velocity * LearningRateTensor, -1f);
        }
    }
}
