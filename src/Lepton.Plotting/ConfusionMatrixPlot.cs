// A confusion matrix as a heatmap: true classes down, predicted classes across, each cell shaded by
// its share of the true class's examples and labelled with its exact count.
using Lepton.Nn;
using ScottPlot;

namespace Lepton.Plotting;

/// <summary>Draws a <see cref="ConfusionMatrix"/> as a labelled heatmap.</summary>
/// <example><code>
/// var matrix = model.EvaluateConfusion(testLoader);
/// ConfusionMatrixPlot.Save(matrix, "runs/confusion.png", classNames: ["cat", "dog"]);
/// </code></example>
public static class ConfusionMatrixPlot
{
    /// <summary>Saves the matrix as a heatmap with counts in the cells, shaded by each cell's share of its true class (a colour bar from 0 to 1), replacing the file atomically.</summary>
    /// <param name="matrix">The counts.</param>
    /// <param name="path">The image file; its folder is created.</param>
    /// <param name="classNames">A name per class for the axes; null numbers them 0, 1, ...</param>
    /// <param name="format">PNG or SVG; null takes it from the extension (.svg: SVG, else PNG).</param>
    /// <param name="size">Width and height in pixels.</param>
    /// <param name="title">The title; null gives "confusion matrix (accuracy ...)".</param>
    /// <example><code>ConfusionMatrixPlot.Save(matrix, "confusion.svg", size: 900);</code></example>
    public static void Save(ConfusionMatrix matrix, string path, IReadOnlyList<string>? classNames = null, PlotFormat? format = null, int size = 720, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int n = matrix.NumClasses;
        if (classNames is not null && classNames.Count != n)
        {
            throw new ArgumentException($"ConfusionMatrixPlot: {classNames.Count} class names for a matrix of {n} classes.", nameof(classNames));
        }

        string[] names = classNames is null ? [.. Enumerable.Range(0, n).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))] : [.. classNames];
        FigureWriter.Save(path, FigureWriter.Resolve(path, format), [Heatmap(matrix, names, title)], size, size);
    }

    private static Plot Heatmap(ConfusionMatrix matrix, string[] names, string? title)
    {
        int n = matrix.NumClasses;

        // Shade by the fraction of each true class (its recall row), so rare classes read as clearly as common ones.
        var shares = new double[n, n];
        for (int t = 0; t < n; t++)
        {
            long row = 0;
            for (int p = 0; p < n; p++)
            {
                row += matrix[t, p];
            }

            for (int p = 0; p < n; p++)
            {
                shares[t, p] = row == 0 ? 0 : (double)matrix[t, p] / row;
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(shares);
        heatmap.Colormap = new WhiteToBlue();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);

        // The extent runs through the cells' centres: cell (t, p) is centred on x = p, y = n - 1 - t.
        heatmap.Extent = new CoordinateRect(0, n - 1, 0, n - 1);

        // Row t of the array is drawn at the top: y = n - 1 - t.
        float fontSize = Math.Clamp(220f / n, 8f, 16f);
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                var text = plot.Add.Text(matrix[t, p].ToString(System.Globalization.CultureInfo.InvariantCulture), p, n - 1 - t);
                text.LabelFontSize = fontSize;
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = shares[t, p] > 0.5 ? Colors.White : Colors.Black;
                text.LabelBold = t == p;
            }
        }

        double[] positions = [.. Enumerable.Range(0, n).Select(i => (double)i)];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, names);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. positions.Select(y => n - 1 - y)], names);
        if (names.Any(name => name.Length > 3))
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;

            // Room below the axis for the slanted names, so they clear the axis label.
            plot.Axes.Bottom.MinimumSize = 40 + (0.75f * 8 * names.Max(name => name.Length));
        }

        plot.XLabel("predicted class");
        plot.YLabel("true class");
        plot.Title(title ?? $"confusion matrix ({matrix.Total} examples, accuracy {matrix.Accuracy:P2})");
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.Add.ColorBar(heatmap); // the share of the true class, 0 to 1
        plot.Grid.IsVisible = false;
        return plot;
    }

    /// <summary>White for 0 to dark blue for 1, so empty cells stay blank and the diagonal stands out.</summary>
    private sealed class WhiteToBlue : IColormap
    {
        public string Name => "white to blue";

        public Color GetColor(double normalizedIntensity)
        {
            double f = double.IsNaN(normalizedIntensity) ? 0 : Math.Clamp(normalizedIntensity, 0, 1);
            return new Color((byte)(255 - (f * (255 - 8))), (byte)(255 - (f * (255 - 48))), (byte)(255 - (f * (255 - 107))));
        }
    }
}
