// Magnitude pruning: schedules against TF-MOT's formulas, masks that zero exactly the smallest
// magnitudes (ties by position), pruned weights exactly zero after Fit with Adam and SGD momentum on
// planned and eager models, Strip, save/load with masks, and bad input.
using System.IO.Compression;
using Lepton.Nn;
using Lepton.Nn.Callbacks;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;
using Sgd = Lepton.Nn.Optimizers.Sgd;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class PruningTests
{
    [Fact]
    public void SchedulesFollowTfMotFormulas()
    {
        var constant = new ConstantSparsity(0.5, beginStep: 10, endStep: 50, frequency: 10);
        foreach (var (step, prunes) in new (long, bool)[] { (0, false), (9, false), (10, true), (15, false), (20, true), (50, true), (60, false) })
        {
            Assert.Equal(prunes, constant.ShouldPrune(step));
            Assert.Equal(0.5, constant.Sparsity(step));
        }

        Assert.True(new ConstantSparsity(0.3, beginStep: 0, frequency: 7).ShouldPrune(7000));

        // TF-MOT: p = clamp((step - begin) / (end - begin), 0, 1); s = final + (initial - final) * (1 - p)^power.
        var decay = new PolynomialDecay(0.1, 0.9, beginStep: 100, endStep: 300, power: 3, frequency: 50);
        foreach (long step in new long[] { 0, 100, 150, 200, 250, 300, 400 })
        {
            double p = Math.Clamp((step - 100) / 200.0, 0, 1);
            Assert.Equal(0.9 + (-0.8 * Math.Pow(1 - p, 3)), decay.Sparsity(step), 12);
        }

        Assert.Equal(0.8, decay.Sparsity(200), 12);
        Assert.Equal([false, true, false, true, true, false], new long[] { 50, 100, 175, 250, 300, 350 }.Select(decay.ShouldPrune));
    }

    [Theory]
    [InlineData(0.5, new[] { 1, 2, 3, 4, 6, 10 })]
    [InlineData(1.0 / 6, new[] { 1, 3 })]
    [InlineData(0.0, new int[0])]
    public void MasksZeroExactlyTheSmallestMagnitudesWithTiesByPosition(double sparsity, int[] pruned)
    {
        float[] kernel = [0.5f, -0.1f, 0.3f, 0.1f, -0.2f, 0.7f, 0.1f, 0.9f, -0.4f, 0.6f, 0.2f, -0.8f];
        var model = new Sequential([new InputLayer([4]), new Dense(3, biasInitializer: "ones")]);
        model.BuildIfInputKnown();
        var dense = (Dense)model.Layers[^1];
        dense.Kernel.Assign(Tensor.FromArray(kernel, [4, 3]));
        var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(sparsity, 0));
        pruning.UpdateMasks(sparsity);

        float[] after = dense.Kernel.Value.ToArray<float>();
        for (int i = 0; i < kernel.Length; i++)
        {
            Assert.Equal(pruned.Contains(i) ? 0f : kernel[i], after[i]);
        }

        Assert.Equal([1f, 1f, 1f], dense.Bias!.Value.ToArray<float>());
        var row = Assert.Single(Pruning.Report(model).Rows);
        Assert.Equal((dense.Name, 12L, (long)pruned.Length), (row.Layer, row.Count, row.Zeros));
    }

    [Fact]
    public void SummaryShowsEachMaskedLayersSparsity()
    {
        var model = new Sequential([new InputLayer([4]), new Dense(5, name: "pruned"), new Dense(2, name: "kept")]) { Output = TextWriter.Null };
        Assert.DoesNotContain("Sparsity", model.Summary());
        var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(0.5, 0), layers: ["pruned"]);
        pruning.UpdateMasks(0.5);
        string summary = model.Summary();
        Assert.Contains("Sparsity", summary);
        var lines = summary.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.EndsWith("25          100         50.0 %", lines.Single(l => l.StartsWith(" pruned (Dense)", StringComparison.Ordinal)));
        Assert.EndsWith("12          48", lines.Single(l => l.StartsWith(" kept (Dense)", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("adam", false)]
    [InlineData("adam", true)]
    [InlineData("sgd", false)]
    [InlineData("sgd", true)]
    public void FitKeepsPrunedWeightsExactlyZeroOnAReplayedFunctionalModel(string optimizer, bool global)
    {
        var input = Keras.Input([12]);
        var hidden = new BatchNormalization().Apply(new Dense(16, activation: "relu", seed: 1).Apply(input));
        var model = new Model(input, new Dense(4, seed: 2).Apply(hidden)) { Output = TextWriter.Null };
        model.Compile(Optimizer(optimizer), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = CaptureTests.Batch("mlp", 64, 4);

        var pruning = Pruning.LowMagnitude(model, new PolynomialDecay(0, 0.75, beginStep: 0, endStep: 6, frequency: 2), globalThreshold: global);
        model.Fit(x, y, epochs: 1, batchSize: 8, callbacks: [pruning], verbose: 0);

        Assert.True(model.LastStepReplayed);
        AssertPruned(model, 0.75, global);
        Assert.Equal(2, pruning.PrunedWeights.Count);
        Assert.All(model.Weights.Where(w => !w.Name.EndsWith("/kernel", StringComparison.Ordinal)), w => Assert.Null(w.PruningMask));
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    public void FitKeepsPrunedWeightsExactlyZeroOnAPlannedCnn(string optimizer)
    {
        var model = CaptureTests.Make("mnist", Optimizer(optimizer));
        model.Output = TextWriter.Null;
        var (x, y) = CaptureTests.Batch("mnist", 48, 5);
        var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(0.6, beginStep: 2, frequency: 3));
        model.Fit(x, y, epochs: 1, batchSize: 8, callbacks: [pruning], verbose: 0);

        Assert.True(model.LastStepReplayed);
        AssertPruned(model, 0.6, global: false);
    }

    [Fact]
    public void AChangedMaskZeroesTheOptimizerStateThere()
    {
        var model = CaptureTests.Make("mlp", new Sgd(0.05f, momentum: 0.9f));
        var (x, y) = CaptureTests.Batch("mlp", 8, 6);
        var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(0.5, 0));
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, y);
        }

        pruning.UpdateMasks(0.5);
        var state = model.Optimizer!.StateTensors().ToDictionary(s => s.Name, s => s.Value.ToArray<float>());
        foreach (var w in model.Weights.Where(w => w.PruningMask is not null))
        {
            float[] mask = w.PruningMask!.ToArray<float>();
            float[] momentum = state[$"{w.Name}/momentum"];
            Assert.Contains(mask, m => m == 0);
            Assert.All(Enumerable.Range(0, mask.Length).Where(i => mask[i] == 0), i => Assert.Equal(0f, momentum[i]));
        }

        model.TrainOnBatch(x, y);
        AssertPruned(model, 0.5, global: false);
    }

    [Fact]
    public void StripLeavesPlainLayersWithTheirZerosThatSaveAsAPlainModel()
    {
        var model = CaptureTests.Make("mlp");
        var (x, y) = CaptureTests.Batch("mlp", 8, 7);
        Pruning.LowMagnitude(model, new ConstantSparsity(0.5, 0)).UpdateMasks(0.5);
        model.TrainOnBatch(x, y);
        Pruning.Strip(model);

        Assert.All(model.Weights, w => Assert.Null(w.PruningMask));
        var report = Pruning.Report(model);
        Assert.Equal(4, report.Rows.Count);
        Assert.All(report.Rows, r => Assert.Equal(0.5, r.Sparsity, 1e-9));
        Assert.Contains("Total", report.ToString(), StringComparison.Ordinal);

        string path = Path.Combine(Path.GetTempPath(), $"pruned-{Guid.NewGuid():N}.lepton");
        try
        {
            model.Save(path);
            using (var zip = ZipFile.OpenRead(path))
            {
                Assert.Null(zip.GetEntry("pruning_masks.safetensors"));
            }

            using var loaded = Model.Load(path);
            Assert.All(loaded.Weights, w => Assert.Null(w.PruningMask));
            CaptureTests.AssertSameWeights(model, loaded, "stripped");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SaveAndLoadKeepTheMasksAndTrainingKeepsThem()
    {
        var model = CaptureTests.Make("mlp", new Adam(1e-2f));
        var (x, y) = CaptureTests.Batch("mlp", 8, 8);
        Pruning.LowMagnitude(model, new ConstantSparsity(0.5, 0), layers: [model.Layers[1].Name, model.Layers[3].Name]).UpdateMasks(0.5);
        model.TrainOnBatch(x, y);

        string path = Path.Combine(Path.GetTempPath(), $"pruned-{Guid.NewGuid():N}.lepton");
        try
        {
            model.Save(path);
            using var loaded = Model.Load(path);
            var masked = loaded.Weights.Where(w => w.PruningMask is not null).Select(w => w.Name).ToList();
            Assert.Equal(model.Weights.Where(w => w.PruningMask is not null).Select(w => w.Name), masked);
            Assert.Equal(2, masked.Count);
            foreach (var (saved, restored) in model.Weights.Zip(loaded.Weights).Where(p => p.First.PruningMask is not null))
            {
                Assert.Equal(saved.PruningMask!.ToArray<float>(), restored.PruningMask!.ToArray<float>());
            }

            for (int step = 0; step < 3; step++)
            {
                loaded.TrainOnBatch(x, y);
            }

            AssertPruned(loaded, 0.5, global: false);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BadInputIsRefusedNamingTheArgumentOrLayer()
    {
        Assert.Equal("targetSparsity", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(1.0, 0)).ParamName);
        Assert.Equal("targetSparsity", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(-0.1, 0)).ParamName);
        Assert.Equal("finalSparsity", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, 1.5, 0, 10)).ParamName);
        Assert.Equal("endStep", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, 0.5, 10, 5)).ParamName);
        Assert.Equal("endStep", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(0.5, 10, endStep: 5)).ParamName);
        Assert.Equal("endStep", Assert.Throws<ArgumentOutOfRangeException>(() => new PolynomialDecay(0, 0.5, 0, -1)).ParamName);
        Assert.Equal("frequency", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(0.5, 0, frequency: 0)).ParamName);
        Assert.Equal("beginStep", Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantSparsity(0.5, -1)).ParamName);

        var schedule = new ConstantSparsity(0.5, 0);
        var plain = new Sequential([new InputLayer([4]), new Flatten(name: "flat")]);
        var none = Assert.Throws<ArgumentException>(() => Pruning.LowMagnitude(plain, schedule));
        Assert.Equal("model", none.ParamName);
        Assert.Contains("no prunable weights", none.Message, StringComparison.Ordinal);

        var input = Keras.Input([4]);
        var model = new Model(input, new Dense(2).Apply(new BatchNormalization(name: "bn").Apply(input)));
        var notPrunable = Assert.Throws<ArgumentException>(() => Pruning.LowMagnitude(model, schedule, layers: ["bn"]));
        Assert.Contains("'bn' (BatchNormalization) has no prunable weights", notPrunable.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<ArgumentException>(() => Pruning.LowMagnitude(model, schedule, layers: ["nope"]));
        Assert.Equal("layers", missing.ParamName);
        Assert.Contains("no layer 'nope'", missing.Message, StringComparison.Ordinal);
    }

    private static Optimizer Optimizer(string name) => name == "adam" ? new Adam(1e-2f) : new Sgd(0.05f, momentum: 0.9f);

    /// <summary>Every masked value is exactly 0 and the kernels have the target sparsity (each, or together).</summary>
    private static void AssertPruned(Model model, double sparsity, bool global)
    {
        var masked = model.Weights.Where(w => w.PruningMask is not null).ToList();
        Assert.NotEmpty(masked);
        long total = 0, zeros = 0, maskZeros = 0;
        foreach (var w in masked)
        {
            float[] values = w.Value.ToArray<float>();
            float[] mask = w.PruningMask!.ToArray<float>();
            Assert.All(Enumerable.Range(0, values.Length).Where(i => mask[i] == 0), i => Assert.Equal(0f, values[i]));
            int n = values.Length;
            int expected = n - (int)Math.Round(n * (1 - sparsity));
            if (!global)
            {
                Assert.Equal(expected, mask.Count(m => m == 0));
                Assert.Equal(expected, values.Count(v => v == 0));
            }

            total += n;
            zeros += values.Count(v => v == 0);
            maskZeros += mask.Count(m => m == 0);
        }

        long expectedTotal = total - (long)Math.Round(total * (1 - sparsity));
        Assert.Equal(global ? expectedTotal : maskZeros, zeros);
        int slack = global ? 0 : masked.Count; // per-kernel rounding
        Assert.InRange(maskZeros, expectedTotal - slack, expectedTotal + slack);
    }
}
