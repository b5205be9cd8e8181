// The record Fit returns: every logged quantity per epoch, like Keras's History.history.
namespace Lepton.Nn.Callbacks;

/// <summary>Per-epoch values of the loss and metrics (and their val_ counterparts).</summary>
/// <example><code>var history = model.Fit(x, y, epochs: 5); Console.WriteLine(history["val_accuracy"][^1]);</code></example>
public sealed class History : Callback
{
    private readonly Dictionary<string, List<double>> values = [];

    /// <summary>Every quantity's values, one per epoch.</summary>
    public IReadOnlyDictionary<string, List<double>> Values => values;

    /// <summary>The epochs recorded (0-based).</summary>
    public List<int> Epochs { get; } = [];

    /// <summary>Seconds each epoch took.</summary>
    public List<double> EpochSeconds { get; } = [];

    /// <summary>The values of one quantity.</summary>
    public List<double> this[string key] => values.TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"History has no '{key}'; it has: {string.Join(", ", values.Keys)}.");

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Epochs.Add(epoch);
        foreach (var (key, value) in logs)
        {
            if (!values.TryGetValue(key, out var list))
            {
                list = [];
                values[key] = list;
            }

            list.Add(value);
        }
    }

    /// <summary>Writes the history as CSV (epoch, then each quantity).</summary>
    /// <example><code>history.WriteCsv("history.csv");</code></example>
    public void WriteCsv(string path)
    {
        var keys = values.Keys.ToArray();
        var lines = new List<string> { string.Join(",", ["epoch", .. keys, "seconds"]) };
        for (int i = 0; i < Epochs.Count; i++)
        {
            var cells = new List<string> { (Epochs[i] + 1).ToString(System.Globalization.CultureInfo.InvariantCulture) };
            cells.AddRange(keys.Select(k => i < values[k].Count ? values[k][i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : string.Empty));
            cells.Add(i < EpochSeconds.Count ? EpochSeconds[i].ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
            lines.Add(string.Join(",", cells));
        }

        IO.AtomicFile.WriteAllText(path, string.Join("\n", lines) + "\n");
    }
}
