// Callbacks: early stopping with weight restore, best-only checkpoints, LR reduction and
// scheduling, CSV logging and stopping on a NaN loss.
using Lepton.Nn;
using Lepton.Nn.Callbacks;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class CallbackTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-callbacks-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void EarlyStoppingStopsAndRestoresTheBestWeights()
    {
        var model = ModelTests.SmallClassifier();
        model.Compile(new Sgd(0.05f), "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(60, 1);
        var (vx, vy) = ModelTests.Blobs(30, 2);
        var recorder = new WeightRecorder();
        var stop = new EarlyStopping("val_loss", patience: 1, minDelta: 10, restoreBestWeights: true);
        var history = model.Fit(x, y, epochs: 20, batchSize: 20, validationData: (vx, vy), callbacks: [recorder, stop], verbose: 0);
        // minDelta 10 means no epoch after the first counts as an improvement.
        Assert.Equal(2, history.Epochs.Count);
        Assert.Equal(1, stop.StoppedEpoch);
        Assert.Equal(0, stop.BestEpoch);
        Assert.Equal(recorder.AfterEpoch[0], model.Weights.Select(w => w.Value.ToArray()).ToList());
    }

    [Fact]
    public void ModelCheckpointSavesOnlyImprovements()
    {
        var model = ModelTests.SmallClassifier();
        model.Compile(new Adam(0.01f), "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(60, 3);
        string path = Path.Combine(folder, "best.lepton");
        var checkpoint = new ModelCheckpoint(path, monitor: "loss", saveBestOnly: true);
        var flip = new FlipLoss();
        model.Fit(x, y, epochs: 4, batchSize: 20, callbacks: [flip, checkpoint], verbose: 0);
        Assert.Equal(new[] { 0, 2 }, checkpoint.SavedEpochs);
        Assert.True(File.Exists(path));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public void ReduceLROnPlateauAndSchedulerChangeTheRate()
    {
        var model = ModelTests.SmallClassifier();
        var adam = new Adam(0.01f);
        model.Compile(adam, "sparse_categorical_crossentropy");
        var (x, y) = ModelTests.Blobs(30, 4);
        var rates = new List<float>();
        var reduce = new ReduceLROnPlateau("loss", factor: 0.5f, patience: 1, minDelta: 100);
        model.Fit(x, y, epochs: 3, batchSize: 30, callbacks: [reduce, new RateRecorder(rates)], verbose: 0);
        Assert.Equal(new[] { 0.01f, 0.01f, 0.005f }, rates.Select(r => MathF.Round(r, 6)));

        var scheduled = new List<float>();
        model.Fit(x, y, epochs: 3, batchSize: 30, callbacks: [new LearningRateScheduler((epoch, _) => 0.1f / (epoch + 1)), new RateRecorder(scheduled)], verbose: 0);
        Assert.Equal(new[] { 0.1f, 0.05f, 0.1f / 3 }, scheduled.Select(r => MathF.Round(r, 6)), new FloatEq());
    }

    [Fact]
    public void CsvLoggerWritesOneRowPerEpoch()
    {
        var model = ModelTests.SmallClassifier();
        model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(30, 5);
        string path = Path.Combine(folder, "log.csv");
        model.Fit(x, y, epochs: 3, batchSize: 10, callbacks: [new CsvLogger(path)], verbose: 0);
        var lines = File.ReadAllLines(path);
        Assert.Equal("epoch,loss,accuracy", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("2,", lines[3]);
    }

    [Fact]
    public void TerminateOnNaNStopsMidEpoch()
    {
        var model = ModelTests.SmallClassifier();
        model.Output = TextWriter.Null;
        model.Compile(new Sgd(0.01f), "sparse_categorical_crossentropy");
        var (x, y) = ModelTests.Blobs(40, 6);
        var poisoned = Tensor.Concat([x.Narrow(0, 0, 10), Tensor.Full([30, 4], float.NaN)]);
        var stop = new TerminateOnNaN();
        var history = model.Fit(poisoned, y, epochs: 5, batchSize: 10, shuffle: false, callbacks: [stop], verbose: 0);
        Assert.Equal(1, stop.TerminatedAtBatch);
        Assert.Single(history.Epochs);
    }

    private sealed class WeightRecorder : Callback
    {
        public List<List<float[]>> AfterEpoch { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
            AfterEpoch.Add([.. Model!.Weights.Select(w => w.Value.ToArray())]);
    }

    /// <summary>Rewrites the logged loss to 3, 5, 1, 4: improvements at epochs 0 and 2.</summary>
    private sealed class FlipLoss : Callback
    {
        private static readonly double[] Values = [3, 5, 1, 4];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
            ((Dictionary<string, double>)logs)["loss"] = Values[epoch];
    }

    private sealed class RateRecorder(List<float> rates) : Callback
    {
        public override void OnEpochBegin(int epoch) => rates.Add(Model!.Optimizer!.LearningRate);
    }

    private sealed class FloatEq : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => MathF.Abs(a - b) < 1e-6f;

        public int GetHashCode(float value) => 0;
    }
}
