// Captured steps against eager ones on generated models: random small Sequential, functional and
// subclassed models (dense, convolutional, recurrent), losses, optimizers, clipping and frozen layers
// train to the eager twin's bits; Evaluate and Predict replay to the eager results; a model whose
// Forward reads a value on the host warns once and trains eagerly. ILGPU's CPU accelerator likewise.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class CapturePropertyTests
{
    [Fact]
    public void RandomModelsTrainToTheEagerTwinsBits() =>
        Generators.ForAll(CaptureModels.Specs, spec => CaptureModels.AssertTwinsAgree(spec, Device.Cpu, steps: 5, fusion: false), maxTest: 100);

    [Fact]
    public void WithFusionOnlyAPooledReluConvolutionLeavesTheEagerBits() =>
        Generators.ForAll(CaptureModels.Specs, spec => CaptureModels.AssertTwinsAgree(spec, Device.Cpu, steps: 5, fusion: true), maxTest: 50);

    [Fact]
    public void EvaluateAndPredictReplayToTheEagerResults()
    {
        foreach (var spec in new[] { CaptureModels.ImageSpec, CaptureModels.SequenceSpec with { Style = ModelStyle.Sequential } })
        {
            var (captured, eager) = (CaptureModels.Build(spec), CaptureModels.Build(spec));
            eager.RunEagerly = true;
            captured.Capture.Fusion = false;

            // 10 examples in batches of 4: two full batches and a short one, each shape captured on its own.
            var (x, y) = CaptureModels.Data(spec, 10, Device.Cpu);
            var (trainX, trainY) = (x.Narrow(0, 0, 4), y.Narrow(0, 0, 4));
            for (int round = 0; round < 3; round++)
            {
                Assert.Equal(eager.Evaluate(x, y, batchSize: 4), captured.Evaluate(x, y, batchSize: 4));
                Assert.Equal(round >= 2, captured.LastStepReplayed);
                var (expected, actual) = (eager.Predict(x, batchSize: 4), captured.Predict(x, batchSize: 4));
                Assert.Equal(round >= 2, captured.LastStepReplayed);
                Assert.Equal(expected.Shape, actual.Shape);
                CaptureModels.AssertSameBits(expected.ToArray(), actual.ToArray(), $"{spec}: predictions, round {round}");

                // Training between rounds changes the weights in place: the next replays must read the new values.
                Assert.Equal(eager.TrainOnBatch(trainX, trainY), captured.TrainOnBatch(trainX, trainY));
                CaptureModels.AssertSameWeights(eager, captured, $"{spec}, round {round}");
            }
        }
    }

    [Fact]
    public void AForwardThatReadsOnTheHostWarnsOnceAndTrainsEagerly()
    {
        var (captured, eager) = (new HostReadingModel(), new HostReadingModel());
        eager.RunEagerly = true;
        var (capturedOutput, eagerOutput) = (new StringWriter(), new StringWriter());
        (captured.Output, eager.Output) = (capturedOutput, eagerOutput);
        captured.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        eager.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        var spec = CaptureModels.MlpSpec with { Loss = LossKind.SparseLogits };
        var (x, y) = CaptureModels.Data(spec, 6, Device.Cpu);
        for (int step = 0; step < 5; step++)
        {
            Assert.Equal(eager.TrainOnBatch(x, y), captured.TrainOnBatch(x, y));
            Assert.False(captured.LastStepReplayed);
            CaptureModels.AssertSameWeights(eager, captured, $"step {step}");
        }

        var warnings = capturedOutput.ToString().Split('\n').Where(line => line.StartsWith("Warning:", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains($"{nameof(HostReadingModel)}.Forward", warning);
        Assert.NotNull(captured.CaptureBreak);
        Assert.Empty(eagerOutput.ToString());
    }

    /// <summary>Scales its input by a factor it decides on the host, which a replay could not repeat.</summary>
    private sealed class HostReadingModel : Model
    {
        private readonly Dense hidden = new(8, activation: "tanh", seed: 4);
        private readonly Dense output = new(3, seed: 5);

        protected override Tensor Forward(Tensor input, bool training)
        {
            if (input.Sum().Item() > 1e9f)
            {
                input = input * 0.5f;
            }

            return output.Call(hidden.Call(input, training), training);
        }
    }
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class CapturePropertyTestsIlgpuCpu
{
    /// <summary>ILGPU has no fused kernels, so the default settings (fusion on) must give the eager bits too.</summary>
    [Fact]
    public void FixedModelsTrainToTheEagerTwinsBitsOnAnIlgpuDevice()
    {
        foreach (var spec in new[] { CaptureModels.ImageSpec, CaptureModels.SequenceSpec, CaptureModels.MlpSpec })
        {
            CaptureModels.AssertTwinsAgree(spec, Device.IlgpuCpu, steps: 4, fusion: true);
        }
    }
}
