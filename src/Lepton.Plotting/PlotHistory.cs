// A callback that redraws the training curves after every epoch, so the picture on disk always
// shows the run so far; the file is replaced atomically, never left half-written.
using Lepton.Nn.Callbacks;

namespace Lepton.Plotting;

/// <summary>Rewrites a plot of the loss and metric curves (training and validation) after each epoch.</summary>
/// <param name="path">The image file; its folder is created.</param>
/// <param name="format">PNG or SVG; null takes it from the extension (.svg: SVG, else PNG).</param>
/// <param name="panelWidth">Pixels per panel (one panel per metric family: loss, accuracy, ...).</param>
/// <param name="height">Pixels.</param>
/// <param name="title">Put before each panel's name, e.g. the run's name.</param>
/// <example><code>model.Fit(train, epochs: 10, validation: test, callbacks: [new PlotHistory("runs/history.png")]);</code></example>
public sealed class PlotHistory(string path, PlotFormat? format = null, int panelWidth = 560, int height = 420, string? title = null) : Callback
{
    /// <inheritdoc />
    public override bool PrimaryRankOnly => true;

    private History history = new();

    /// <summary>The image file.</summary>
    public string Path { get; } = path;

    /// <summary>The format the file is written in.</summary>
    public PlotFormat Format { get; } = FigureWriter.Resolve(path, format);

    /// <inheritdoc />
    public override void OnTrainBegin() => history = new History();

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        history.OnEpochEnd(epoch, logs);
        HistoryPlot.Save(history, Path, Format, panelWidth, height, title);
    }
}
