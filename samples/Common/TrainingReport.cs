// What a sample leaves behind: the training history as CSV and a PNG plot of loss and accuracy per
// epoch, with the paths printed so the user can find them.
using Lepton.Nn.Callbacks;

namespace Lepton.Samples;

/// <summary>Writes a run's history to CSV and PNG.</summary>
internal static class TrainingReport
{
    public static void Write(History history, string directory, string name)
    {
        Directory.CreateDirectory(directory);
        string csv = Path.Combine(directory, name + ".csv");
        string png = Path.Combine(directory, name + ".png");
        history.WriteCsv(csv);

        var plot = new ScottPlot.Plot();
        double[] epochs = [.. history.Epochs.Select(e => e + 1.0)];
        foreach (var key in new[] { "loss", "val_loss", "accuracy", "val_accuracy" }.Where(history.Values.ContainsKey))
        {
            plot.Add.Scatter(epochs, history[key].ToArray()).LegendText = key;
        }

        plot.Title($"{name}: loss and accuracy per epoch");
        plot.XLabel("epoch");
        plot.ShowLegend();
        plot.SavePng(png, 800, 500);
        Console.WriteLine($"history: {Path.GetFullPath(csv)}");
        Console.WriteLine($"plot:    {Path.GetFullPath(png)}");
    }
}
