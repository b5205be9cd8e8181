// The sparsity of a pruned model, per kernel and overall, printable as a table.
using System.Globalization;
using System.Text;

namespace Lepton.Nn;

/// <summary>Per-weight and total sparsity, made by <see cref="Pruning.Report"/>; <c>ToString()</c> gives a table.</summary>
/// <example><code>var report = Pruning.Report(model); Console.WriteLine(report.TotalSparsity);</code></example>
public sealed class PruningReport
{
    internal PruningReport(IReadOnlyList<WeightSparsity> rows) => Rows = rows;

    /// <summary>One row per pruned (or prunable) weight, in layer order.</summary>
    public IReadOnlyList<WeightSparsity> Rows { get; }

    /// <summary>Values in all rows.</summary>
    public long Count => Rows.Sum(r => r.Count);

    /// <summary>Zeros in all rows.</summary>
    public long Zeros => Rows.Sum(r => r.Zeros);

    /// <summary>The fraction of zeros over all rows.</summary>
    public double TotalSparsity => Count == 0 ? 0 : (double)Zeros / Count;

    /// <summary>The table: layer, weight, count, zeros and sparsity per row, then the total.</summary>
    public override string ToString()
    {
        var table = new List<string[]> { new[] { "Layer", "Weight", "Count", "Zeros", "Sparsity" } };
        table.AddRange(Rows.Select(r => Row(r.Layer, r.Weight, r.Count, r.Zeros, r.Sparsity)));
        table.Add(Row("Total", "", Count, Zeros, TotalSparsity));
        int[] widths = [.. Enumerable.Range(0, 5).Select(c => table.Max(r => r[c].Length))];
        var text = new StringBuilder();
        foreach (var row in table)
        {
            text.AppendLine(string.Join("  ", row.Select((cell, c) => c < 2 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
        }

        return text.ToString();
    }

    private static string[] Row(string layer, string weight, long count, long zeros, double sparsity) =>
        [layer, weight, count.ToString(CultureInfo.InvariantCulture), zeros.ToString(CultureInfo.InvariantCulture), sparsity.ToString("P2", CultureInfo.InvariantCulture)];
}
