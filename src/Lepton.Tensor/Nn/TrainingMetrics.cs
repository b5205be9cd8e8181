// The "Lepton.Training" meter (System.Diagnostics.Metrics): what Fit reports to OpenTelemetry or
// dotnet-counters. Instruments cost nothing while no listener has enabled them.
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Lepton.Nn;

/// <summary>
/// The meter <c>Fit</c> reports to. Every measurement carries the tag <c>lepton.model</c> (the model's name); loss
/// gauges also carry <c>lepton.split</c> (<c>train</c> or <c>validation</c>).
/// <list type="bullet">
/// <item><c>lepton.training.samples</c> (counter, {sample}): examples trained on.</item>
/// <item><c>lepton.training.step.duration</c> (histogram, s): wall time of each training step (on a GPU, the time to queue it).</item>
/// <item><c>lepton.training.epochs</c> (counter, {epoch}): epochs completed.</item>
/// <item><c>lepton.training.loss</c> (gauge): the last epoch's mean loss.</item>
/// <item><c>lepton.training.throughput</c> (gauge, {sample}/s): examples per second over the last epoch.</item>
/// </list>
/// </summary>
/// <example><code>
/// // OpenTelemetry: builder.WithMetrics(m => m.AddMeter(TrainingMetrics.MeterName));
/// // or from a shell: dotnet-counters monitor --counters Lepton.Training -p PID
/// </code></example>
public static class TrainingMetrics
{
    /// <summary>The meter's name, <c>Lepton.Training</c>: add it by this name to an OpenTelemetry meter provider.</summary>
    public const string MeterName = "Lepton.Training";

    private const string ModelTag = "lepton.model";
    private const string SplitTag = "lepton.split";

    private static readonly Meter Meter = new(MeterName, typeof(TrainingMetrics).Assembly.GetName().Version?.ToString());
    private static readonly Counter<long> Samples = Meter.CreateCounter<long>("lepton.training.samples", "{sample}", "Examples trained on.");
    private static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>("lepton.training.step.duration", "s", "Wall time of each training step.");
    private static readonly Counter<long> Epochs = Meter.CreateCounter<long>("lepton.training.epochs", "{epoch}", "Epochs completed.");
    private static readonly Gauge<double> Loss = Meter.CreateGauge<double>("lepton.training.loss", null, "The last epoch's mean loss.");
    private static readonly Gauge<double> Throughput = Meter.CreateGauge<double>("lepton.training.throughput", "{sample}/s", "Examples per second over the last epoch.");

    /// <summary>A timestamp to pass to <see cref="RecordStep"/>, or 0 when nobody listens to step durations.</summary>
    internal static long StepStarted() => StepDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records one training step of <paramref name="examples"/> examples started at <paramref name="started"/>.</summary>
    internal static void RecordStep(string model, int examples, long started)
    {
        var tag = new KeyValuePair<string, object?>(ModelTag, model);
        if (Samples.Enabled)
        {
            Samples.Add(examples, tag);
        }

        if (started != 0)
        {
            StepDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tag);
        }
    }

    /// <summary>Records a finished epoch: its losses and throughput.</summary>
    internal static void RecordEpoch(string model, IReadOnlyDictionary<string, double> logs, long examples, double seconds)
    {
        if (!Epochs.Enabled && !Loss.Enabled && !Throughput.Enabled)
        {
            return;
        }

        var tag = new KeyValuePair<string, object?>(ModelTag, model);
        Epochs.Add(1, tag);
        if (logs.TryGetValue("loss", out double loss))
        {
            Loss.Record(loss, tag, new(SplitTag, "train"));
        }

        if (logs.TryGetValue("val_loss", out double validationLoss))
        {
            Loss.Record(validationLoss, tag, new(SplitTag, "validation"));
        }

        if (seconds > 0)
        {
            Throughput.Record(examples / seconds, tag);
        }
    }
}
