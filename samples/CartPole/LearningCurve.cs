// Writes a CartPole run's learning curve: a CSV with one row per iteration and a PNG of the training
// return and the greedy evaluations against environment steps, with the solved threshold drawn in.
using System.Globalization;

namespace Lepton.Samples;

/// <summary>CSV and PNG of returns per iteration.</summary>
internal static class LearningCurve
{
    public static void Write(
        IReadOnlyList<(int Iteration, long Steps, double Seconds, double TrainReturn, double EvalReturn)> curve, string directory, string name, double solvedAt)
    {
        Directory.CreateDirectory(directory);
        string csv = Path.Combine(directory, name + ".csv");
        string png = Path.Combine(directory, name + ".png");
        using (var writer = new StreamWriter(csv))
        {
            writer.WriteLine("iteration,environment_steps,seconds,train_return_last20,greedy_return_100");
            foreach (var row in curve)
            {
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Iteration},{row.Steps},{row.Seconds:F3},{Cell(row.TrainReturn)},{Cell(row.EvalReturn)}"));
            }
        }

        var plot = new ScottPlot.Plot();
        var train = curve.Where(r => !double.IsNaN(r.TrainReturn)).ToArray();
        plot.Add.Scatter(train.Select(r => (double)r.Steps).ToArray(), train.Select(r => r.TrainReturn).ToArray()).LegendText = "training return (last 20 episodes)";
        var evals = curve.Where(r => !double.IsNaN(r.EvalReturn)).ToArray();
        if (evals.Length > 0)
        {
            var points = plot.Add.ScatterPoints(evals.Select(r => (double)r.Steps).ToArray(), evals.Select(r => r.EvalReturn).ToArray());
            points.LegendText = "greedy return (100 episodes)";
            points.MarkerSize = 9;
        }

        plot.Add.HorizontalLine(solvedAt).LegendText = $"solved ({solvedAt})";
        plot.Title($"{name}: return per iteration");
        plot.XLabel("environment steps");
        plot.YLabel("return");
        plot.Axes.SetLimitsY(0, 520);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(png, 800, 500);
        Console.WriteLine($"curve: {Path.GetFullPath(csv)}");
        Console.WriteLine($"plot:  {Path.GetFullPath(png)}");
    }

    private static string Cell(double value) => double.IsNaN(value) ? "" : value.ToString("F2", CultureInfo.InvariantCulture);
}
