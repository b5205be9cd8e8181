// Appends one CSV row per epoch (epoch, then the logs in a fixed column order), flushing each
// row so the file is readable while training runs.
using System.Globalization;

namespace Lepton.Nn.Callbacks;

/// <summary>Writes epoch logs to a CSV file.</summary>
/// <example><code>new CsvLogger("training.csv")</code></example>
public sealed class CsvLogger(string path, bool append = false) : Callback
{
    /// <inheritdoc />
    public override bool PrimaryRankOnly => true;

    private string[]? columns;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        columns = null;
        if (!append && File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        bool header = columns is null && (!File.Exists(path) || new FileInfo(path).Length == 0);
        columns ??= [.. logs.Keys];
        using var writer = new StreamWriter(path, append: true);
        if (header)
        {
            writer.WriteLine(string.Join(",", ["epoch", .. columns]));
        }

        writer.WriteLine(string.Join(",", [epoch.ToString(CultureInfo.InvariantCulture), .. columns.Select(c => logs.TryGetValue(c, out double v) ? v.ToString("G8", CultureInfo.InvariantCulture) : string.Empty)]));
    }
}
