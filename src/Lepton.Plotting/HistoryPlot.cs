// Training curves from a History: one panel per metric family (loss, accuracy, ...), each with the
// training curve and, when there is one, the validation curve, against the epoch (1-based).
using Lepton.Nn.Callbacks;
using ScottPlot;

namespace Lepton.Plotting;

/// <summary>Draws a training history as curves, one panel per quantity (its <c>val_</c> counterpart in the same panel).</summary>
/// <example><code>
/// var history = model.Fit(x, y, epochs: 10, validationSplit: 0.1f);
/// HistoryPlot.Save(history, "runs/history.png");
/// </code></example>
public static class HistoryPlot
{
    /// <summary>Saves the history's curves to <paramref name="path"/>, replacing the file atomically.</summary>
    /// <param name="history">What <c>Fit</c> returned (or a <see cref="History"/> callback).</param>
    /// <param name="path">The image file; its folder is created.</param>
    /// <param name="format">PNG or SVG; null takes it from the extension (.svg: SVG, else PNG).</param>
    /// <param name="panelWidth">Pixels per panel; the figure is one panel per metric family wide.</param>
    /// <param name="height">Pixels.</param>
    /// <param name="title">Put before each panel's name, e.g. the run's name.</param>
    /// <example><code>HistoryPlot.Save(history, "history.svg", title: "resnet");</code></example>
    public static void Save(History history, string path, PlotFormat? format = null, int panelWidth = 560, int height = 420, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        FigureWriter.Save(path, FigureWriter.Resolve(path, format), Panels(history, title), panelWidth, height);
    }

    /// <summary>The quantities drawn together: each log key without its <c>val_</c> prefix, the loss first.</summary>
    /// <param name="keys">Log keys, e.g. loss, accuracy, val_loss, val_accuracy.</param>
    /// <example><code>var families = HistoryPlot.Families(history.Values.Keys); // ["loss", "accuracy"]</code></example>
    public static IReadOnlyList<string> Families(IEnumerable<string> keys)
    {
        var families = new List<string>();
        foreach (string key in keys)
        {
            string family = key.StartsWith("val_", StringComparison.Ordinal) ? key["val_".Length..] : key;
            if (!families.Contains(family))
            {
                families.Add(family);
            }
        }

        int loss = families.IndexOf("loss");
        if (loss > 0)
        {
            families.RemoveAt(loss);
            families.Insert(0, "loss");
        }

        return families;
    }

    private static List<Plot> Panels(History history, string? title)
    {
        double[] epochs = [.. history.Epochs.Select(e => e + 1.0)];
        var panels = new List<Plot>();
        foreach (string family in Families(history.Values.Keys))
        {
            var plot = new Plot();
            AddCurve(plot, history, family, epochs, "training", LinePattern.Solid);
            AddCurve(plot, history, "val_" + family, epochs, "validation", LinePattern.Dashed);
            plot.Title(title is null ? family : $"{title}: {family}");
            plot.XLabel("epoch");
            plot.YLabel(family);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            if (epochs.Length == 1)
            {
                plot.Axes.SetLimitsX(0.5, 1.5);
            }

            plot.Legend.Alignment = family.Contains("loss", StringComparison.Ordinal) ? Alignment.UpperRight : Alignment.LowerRight;
            plot.ShowLegend();
            panels.Add(plot);
        }

        return panels;
    }

    private static void AddCurve(Plot plot, History history, string key, double[] epochs, string label, LinePattern pattern)
    {
        if (!history.Values.TryGetValue(key, out var values) || values.Count == 0)
        {
            return;
        }

        int n = Math.Min(epochs.Length, values.Count);
        var curve = plot.Add.Scatter(epochs[..n], values.Take(n).ToArray());
        curve.LegendText = label;
        curve.LinePattern = pattern;
        curve.LineWidth = 2;
        curve.MarkerSize = 6;
    }
}
