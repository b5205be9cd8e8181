// Writes training curves and weight histograms as TensorBoard event files, laid out as Keras does:
// logDir/train and logDir/validation, tags epoch_<metric>, one step per epoch.
using Lepton.IO;

namespace Lepton.Nn.Callbacks;

/// <summary>
/// Logs each epoch's loss and metrics (and the learning rate) for TensorBoard, and histograms of every weight each
/// <c>histogramFreq</c> epochs. Training logs go to <c>logDir/train</c>, <c>val_</c> logs to <c>logDir/validation</c>
/// with the prefix dropped, so both curves share one chart (<c>epoch_loss</c>, <c>epoch_accuracy</c>, ...).
/// </summary>
/// <remarks>
/// Each <c>Fit</c> starts new files named <c>events.out.tfevents.&lt;unix time&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;n&gt;</c>, flushed after
/// every epoch so a running <c>tensorboard --logdir</c> shows progress. Weights are histogrammed in 30 equal-width buckets.
/// </remarks>
/// <param name="logDir">The run's folder; give each run its own (e.g. <c>runs/exp1</c>).</param>
/// <param name="histogramFreq">Write weight histograms every this many epochs (0: never, as Keras's default).</param>
/// <example><code>model.Fit(x, y, epochs: 10, validationSplit: 0.1f, callbacks: [new TensorBoard("runs/exp1", histogramFreq: 1)]);</code></example>
public sealed class TensorBoard(string logDir = "logs", int histogramFreq = 0) : Callback
{
    /// <inheritdoc />
    public override bool PrimaryRankOnly => true;

    private EventFileWriter? train;
    private EventFileWriter? validation;

    /// <summary>The run's folder.</summary>
    public string LogDir { get; } = logDir;

    /// <summary>Epochs between weight histograms (0: none).</summary>
    public int HistogramFreq { get; } = histogramFreq >= 0
        ? histogramFreq
        : throw new ArgumentOutOfRangeException(nameof(histogramFreq), histogramFreq, "TensorBoard: histogramFreq cannot be negative.");

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        CloseWriters();
        train = new EventFileWriter(Path.Combine(LogDir, "train"));
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        train ??= new EventFileWriter(Path.Combine(LogDir, "train"));
        var trainScalars = new List<KeyValuePair<string, double>>();
        var validationScalars = new List<KeyValuePair<string, double>>();
        foreach (var (key, value) in logs)
        {
            if (key.StartsWith("val_", StringComparison.Ordinal))
            {
                validationScalars.Add(new("epoch_" + key["val_".Length..], value));
            }
            else
            {
                trainScalars.Add(new("epoch_" + key, value));
            }
        }

        if (Model?.Optimizer is { } optimizer)
        {
            trainScalars.Add(new("epoch_learning_rate", optimizer.LearningRate));
        }

        train.WriteScalars(epoch, trainScalars);
        if (validationScalars.Count > 0)
        {
            validation ??= new EventFileWriter(Path.Combine(LogDir, "validation"));
            validation.WriteScalars(epoch, validationScalars);
            validation.Flush();
        }

        if (HistogramFreq > 0 && epoch % HistogramFreq == 0 && Model is not null)
        {
            foreach (var weight in Model.Weights)
            {
                train.WriteHistogram(epoch, weight.Name, weight.Value.ToArray());
            }
        }

        train.Flush();
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) => CloseWriters();

    private void CloseWriters()
    {
        train?.Dispose();
        validation?.Dispose();
        train = null;
        validation = null;
    }
}
