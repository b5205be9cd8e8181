// Lepton.Plotting: the history figure is rewritten after every epoch (atomically, one panel per
// metric family), and figures carry their titles, legends, axis labels, class names and counts.
using System.Buffers.Binary;
using Lepton.Nn;
using Lepton.Nn.Callbacks;
using Lepton.Nn.Optimizers;
using Lepton.Plotting;
using Lepton.Tests.Nn;

namespace Lepton.Tests.Plotting;

public sealed class PlottingTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-plotting-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void PlotHistoryRewritesTheFigureAfterEachEpoch()
    {
        var model = ModelTests.SmallClassifier();
        model.Compile(new Adam(0.01f), "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(40, 1);
        var (vx, vy) = ModelTests.Blobs(20, 2);
        string path = Path.Combine(folder, "runs", "history.png");
        var sizes = new List<(int Width, int Height)>();
        var plot = new PlotHistory(path, panelWidth: 300, height: 200);
        model.Fit(x, y, epochs: 3, batchSize: 20, validationData: (vx, vy), callbacks: [plot, new AfterEpoch(() => sizes.Add(PngSize(path)))], verbose: 0);

        Assert.Equal(PlotFormat.Png, plot.Format);
        Assert.Equal([(600, 200), (600, 200), (600, 200)], sizes); // two panels: loss and accuracy
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void SvgHistoryHasTitlesLegendAndAxisLabels()
    {
        var history = new History();
        history.OnEpochEnd(0, new Dictionary<string, double> { ["loss"] = 0.9, ["top5_accuracy"] = 0.5, ["val_loss"] = 1.0, ["val_top5_accuracy"] = 0.4 });
        history.OnEpochEnd(1, new Dictionary<string, double> { ["loss"] = 0.5, ["top5_accuracy"] = 0.7, ["val_loss"] = 0.6, ["val_top5_accuracy"] = 0.6 });
        string path = Path.Combine(folder, "history.svg");
        HistoryPlot.Save(history, path, title: "run7");

        string svg = File.ReadAllText(path);
        Assert.StartsWith("<?xml", svg);
        Assert.Contains("<svg", svg);
        foreach (string text in new[] { "run7: loss", "run7: top5_accuracy", "training", "validation", "epoch" })
        {
            Assert.Contains(text, svg);
        }
    }

    [Fact]
    public void FamiliesPutTheLossFirstAndPairValidationKeys()
    {
        Assert.Equal(["loss", "accuracy", "mae"], HistoryPlot.Families(["accuracy", "loss", "val_accuracy", "val_loss", "mae"]));
    }

    [Fact]
    public void ConfusionMatrixFigureShowsCountsAndClassNames()
    {
        var matrix = new ConfusionMatrix(3);
        matrix.Add([0, 0, 0, 1, 1, 2, 2, 2, 2], [0, 0, 1, 1, 1, 2, 2, 2, 0]);
        string svgPath = Path.Combine(folder, "confusion.svg");
        ConfusionMatrixPlot.Save(matrix, svgPath, classNames: ["cat", "dog", "bird"]);
        string svg = File.ReadAllText(svgPath);
        foreach (string text in new[] { "cat", "dog", "bird", "predicted class", "true class", "77.78" })
        {
            Assert.Contains(text, svg);
        }

        Assert.Contains(">3<", System.Text.RegularExpressions.Regex.Replace(svg, @"\s+", string.Empty)); // birds taken for birds
        string pngPath = Path.Combine(folder, "confusion.png");
        ConfusionMatrixPlot.Save(matrix, pngPath, size: 400);
        Assert.Equal((400, 400), PngSize(pngPath));
        Assert.Throws<ArgumentException>(() => ConfusionMatrixPlot.Save(matrix, pngPath, classNames: ["cat", "dog"]));
    }

    /// <summary>The width and height in a PNG's IHDR chunk, after checking the signature.</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        return (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    private sealed class AfterEpoch(Action action) : Callback
    {
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => action();
    }
}
