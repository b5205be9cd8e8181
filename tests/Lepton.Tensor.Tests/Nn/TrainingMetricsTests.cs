// The "Lepton.Training" meter: a MeterListener sees the examples, steps, epochs, losses and
// throughput Fit reports, tagged with the model's name.
using System.Diagnostics.Metrics;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class TrainingMetricsTests
{
    [Fact]
    public void FitReportsSamplesStepsEpochsLossAndThroughput()
    {
        string name = "metered_" + Guid.NewGuid().ToString("N");
        var model = new Sequential([new InputLayer([4]), new Dense(8, activation: "relu", seed: 1), new Dense(3, activation: "softmax", seed: 2)], name);
        model.Compile(new Adam(0.01f), "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(50, 3);
        var (vx, vy) = ModelTests.Blobs(20, 4);

        var measurements = new List<(string Instrument, double Value, string? Split)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TrainingMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? model = null, split = null;
            foreach (var (key, tagValue) in tags)
            {
                model = key == "lepton.model" ? (string?)tagValue : model;
                split = key == "lepton.split" ? (string?)tagValue : split;
            }

            if (model == name)
            {
                lock (measurements)
                {
                    measurements.Add((instrument.Name, value, split));
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();

        // 50 examples in batches of 20: steps of 20, 20 and 10, twice.
        var history = model.Fit(x, y, epochs: 2, batchSize: 20, validationData: (vx, vy), verbose: 0);
        listener.Dispose();

        double[] Values(string instrument, string? split = null) =>
            [.. measurements.Where(m => m.Instrument == instrument && m.Split == split).Select(m => m.Value)];

        Assert.Equal([20.0, 20, 10, 20, 20, 10], Values("lepton.training.samples"));
        var durations = Values("lepton.training.step.duration");
        Assert.Equal(6, durations.Length);
        Assert.All(durations, d => Assert.InRange(d, 1e-9, 60));
        Assert.Equal([1.0, 1], Values("lepton.training.epochs"));
        Assert.Equal(history["loss"], Values("lepton.training.loss", "train"));
        Assert.Equal(history["val_loss"], Values("lepton.training.loss", "validation"));
        var throughput = Values("lepton.training.throughput");
        Assert.Equal(2, throughput.Length);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            Assert.Equal(50 / history.EpochSeconds[epoch], throughput[epoch], 0.05 * throughput[epoch]);
        }
    }
}
