// What a sample leaves behind in its output folder: the history as CSV, the curves (a PlotHistory
// callback rewrites them each epoch) and the test set's confusion matrix, with the paths printed.
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Callbacks;
using Lepton.Plotting;

namespace Lepton.Samples;

/// <summary>Names a run's files and writes its history and confusion matrix.</summary>
internal sealed class TrainingReport(string directory, string name)
{
    /// <summary>The callback that keeps <c>NAME.png</c> up to date while training runs.</summary>
    public PlotHistory Curves { get; } = new(Path.Combine(directory, name + ".png"), title: name);

    public void Write(History history, Model model, DataLoader test, IReadOnlyList<string>? classNames = null)
    {
        Directory.CreateDirectory(directory);
        string csv = Path.Combine(directory, name + ".csv");
        string confusion = Path.Combine(directory, name + "-confusion.png");
        history.WriteCsv(csv);
        var matrix = model.EvaluateConfusion(test);
        ConfusionMatrixPlot.Save(matrix, confusion, classNames, title: $"{name}: test set confusion matrix (accuracy {matrix.Accuracy:P2})");
        Console.WriteLine($"history:   {Path.GetFullPath(csv)}");
        Console.WriteLine($"curves:    {Path.GetFullPath(Curves.Path)}");
        Console.WriteLine($"confusion: {Path.GetFullPath(confusion)}");
    }
}
