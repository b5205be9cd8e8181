// A TensorBoard event file: TFRecord framing (length, masked CRC-32C of the length, the record,
// masked CRC-32C of the record) around Event protobufs, the first of which names the file version.
using System.Buffers.Binary;
using System.Globalization;

namespace Lepton.IO;

/// <summary>Writes scalar and histogram summaries to an <c>events.out.tfevents.*</c> file TensorBoard reads.</summary>
internal sealed class EventFileWriter : IDisposable
{
    // Field numbers of tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto.
    private const int EventWallTime = 1, EventStep = 2, EventFileVersion = 3, EventSummary = 5;
    private const int SummaryValue = 1;
    private const int ValueTag = 1, ValueSimpleValue = 2, ValueHistogram = 5;
    private const int HistogramMin = 1, HistogramMax = 2, HistogramNum = 3, HistogramSum = 4, HistogramSumSquares = 5,
        HistogramBucketLimit = 6, HistogramBucket = 7;

    private static int fileCounter;
    private readonly FileStream stream;

    /// <summary>Creates a new event file in <paramref name="directory"/> (made if missing) and writes its version event.</summary>
    /// <param name="directory">The run's folder, e.g. <c>logs/train</c>.</param>
    public EventFileWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string name = string.Create(
            CultureInfo.InvariantCulture,
            $"events.out.tfevents.{seconds}.{Environment.MachineName}.{Environment.ProcessId}.{Interlocked.Increment(ref fileCounter)}");
        Path = System.IO.Path.Combine(directory, name);
        stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        var evt = NewEvent(0);
        evt.String(EventFileVersion, "brain.Event:2");
        WriteRecord(evt.Written);
        Flush();
    }

    /// <summary>The file's full path.</summary>
    public string Path { get; }

    /// <summary>Writes one event holding a scalar summary value per tag.</summary>
    /// <param name="step">The x axis value (Keras: the epoch).</param>
    /// <param name="values">Tags and values.</param>
    public void WriteScalars(long step, IEnumerable<KeyValuePair<string, double>> values)
    {
        var summary = new ProtobufWriter();
        foreach (var (tag, value) in values)
        {
            var entry = new ProtobufWriter();
            entry.String(ValueTag, tag);
            entry.Float(ValueSimpleValue, (float)value);
            summary.Message(SummaryValue, entry);
        }

        WriteSummary(step, summary);
    }

    /// <summary>Writes one event holding a histogram of <paramref name="values"/> in equal-width buckets between their minimum and maximum.</summary>
    /// <param name="step">The x axis value.</param>
    /// <param name="tag">The histogram's name, e.g. <c>dense_1/kernel</c>.</param>
    /// <param name="values">The values; non-finite ones are left out.</param>
    /// <param name="buckets">Buckets over [min, max] (one when all values are equal).</param>
    public void WriteHistogram(long step, string tag, ReadOnlySpan<float> values, int buckets = 30)
    {
        var histogram = Histogram(values, buckets);
        var entry = new ProtobufWriter();
        entry.String(ValueTag, tag);
        entry.Message(ValueHistogram, histogram);
        var summary = new ProtobufWriter();
        summary.Message(SummaryValue, entry);
        WriteSummary(step, summary);
    }

    /// <summary>Pushes what was written to the file, so TensorBoard sees it while training runs.</summary>
    public void Flush() => stream.Flush(flushToDisk: false);

    /// <inheritdoc />
    public void Dispose() => stream.Dispose();

    /// <summary>The HistogramProto of the finite values: min, max, num, sum, sum_squares, bucket right edges and counts.</summary>
    internal static ProtobufWriter Histogram(ReadOnlySpan<float> values, int buckets)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0, squares = 0;
        long count = 0;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
                sum += v;
                squares += (double)v * v;
                count++;
            }
        }

        if (count == 0)
        {
            min = max = 0;
        }

        int n = count == 0 || min == max ? 1 : Math.Max(1, buckets);
        double width = (max - min) / n;
        var limits = new double[n];
        var counts = new double[n];
        for (int i = 0; i < n; i++)
        {
            limits[i] = i == n - 1 ? max : min + ((i + 1) * width);
        }

        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                int bucket = n == 1 ? 0 : Math.Min(n - 1, (int)((v - min) / width));
                counts[bucket]++;
            }
        }

        var histogram = new ProtobufWriter();
        histogram.Double(HistogramMin, min);
        histogram.Double(HistogramMax, max);
        histogram.Double(HistogramNum, count);
        histogram.Double(HistogramSum, sum);
        histogram.Double(HistogramSumSquares, squares);
        histogram.PackedDoubles(HistogramBucketLimit, limits);
        histogram.PackedDoubles(HistogramBucket, counts);
        return histogram;
    }

    private static ProtobufWriter NewEvent(long step)
    {
        var evt = new ProtobufWriter();
        evt.Double(EventWallTime, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        evt.Int64(EventStep, step);
        return evt;
    }

    private void WriteSummary(long step, ProtobufWriter summary)
    {
        var evt = NewEvent(step);
        evt.Message(EventSummary, summary);
        WriteRecord(evt.Written);
    }

    private void WriteRecord(ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Crc32C.Masked(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, Crc32C.Masked(data));
        stream.Write(header);
        stream.Write(data);
        stream.Write(footer);
    }
}
