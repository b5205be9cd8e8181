// Keras-style progress: "Epoch 3/10" then "938/938 [====] - 4s 4ms/step - loss: 0.0312 - accuracy: 0.9901".
// On a terminal the line is redrawn in place as batches finish; when output is redirected it is
// printed once, when the epoch ends.
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Lepton.Nn;

/// <summary>Prints per-epoch progress lines.</summary>
internal sealed class ProgressBar
{
    private const int Width = 30;
    private readonly TextWriter writer;
    private readonly int total;
    private readonly bool interactive;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private long lastDraw = -1000;

    public ProgressBar(TextWriter writer, int epoch, int epochs, int total, int verbose)
    {
        this.writer = writer;
        this.total = total;
        interactive = verbose == 1 && ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        writer.WriteLine($"Epoch {epoch + 1}/{epochs}");
    }

    /// <summary>A bar under a title line other than an epoch's (e.g. calibration).</summary>
    public ProgressBar(TextWriter writer, string title, int total, int verbose)
    {
        this.writer = writer;
        this.total = total;
        interactive = verbose == 1 && ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;
        writer.WriteLine(title);
    }

    public TimeSpan Elapsed => clock.Elapsed;

    public void Update(int done, IReadOnlyDictionary<string, double> logs)
    {
        if (!interactive || (clock.ElapsedMilliseconds - lastDraw < 100 && done < total))
        {
            return;
        }

        lastDraw = clock.ElapsedMilliseconds;
        writer.Write("\r" + Line(done, logs, final: false));
        writer.Flush();
    }

    public void Finish(int done, IReadOnlyDictionary<string, double> logs)
    {
        string line = Line(done, logs, final: true);
        writer.WriteLine(interactive ? "\r" + line + "\u001b[K" : line);
        writer.Flush();
    }

    internal static string FormatLogs(IReadOnlyDictionary<string, double> logs)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in logs)
        {
            sb.Append(" - ").Append(key).Append(": ").Append(value.ToString("0.0000", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private string Line(int done, IReadOnlyDictionary<string, double> logs, bool final)
    {
        double seconds = clock.Elapsed.TotalSeconds;
        int filled = total == 0 ? Width : (int)((long)Width * done / total);
        string bar = new string('=', Math.Max(0, filled - (done < total ? 1 : 0))) + (done < total ? ">" : string.Empty);
        string timing;
        if (final)
        {
            double perStep = done == 0 ? 0 : seconds / done;
            timing = $"{seconds:0}s {FormatStep(perStep)}/step";
        }
        else
        {
            double eta = done == 0 ? 0 : seconds / done * (total - done);
            timing = $"ETA: {eta:0}s";
        }

        return $"{done}/{total} [{bar.PadRight(Width, '.')}] - {timing}{FormatLogs(logs)}";
    }

    private static string FormatStep(double seconds) =>
        seconds >= 1 ? $"{seconds:0}s" : seconds >= 1e-3 ? $"{seconds * 1e3:0}ms" : $"{seconds * 1e6:0}us";
}
