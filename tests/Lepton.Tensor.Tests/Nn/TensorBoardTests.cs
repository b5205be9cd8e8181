// TensorBoard: the event files read back with Google.Protobuf's CodedInputStream and a bitwise
// CRC-32C of our own, checking framing, field types, tags, steps, scalar values and histograms.
using Google.Protobuf;
using Lepton.IO;
using Lepton.Nn.Callbacks;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class TensorBoardTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-tensorboard-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Crc32CMatchesTheCheckValue()
    {
        byte[] check = "123456789"u8.ToArray();
        Assert.Equal(0xE3069283u, BitwiseCrc32C(check));
        Assert.Equal(0xE3069283u, Crc32C.Compute(check));
    }

    [Fact]
    public void WritesEpochScalarsAndWeightHistogramsKerasStyle()
    {
        var model = ModelTests.SmallClassifier();
        model.Compile(new Sgd(0.05f), "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(60, 1);
        var (vx, vy) = ModelTests.Blobs(30, 2);
        var weights = new WeightRecorder();
        var history = model.Fit(x, y, epochs: 3, batchSize: 20, validationData: (vx, vy), callbacks: [new TensorBoard(folder, histogramFreq: 2), weights], verbose: 0);

        var train = ReadEvents(Path.Combine(folder, "train"));
        Assert.Equal("brain.Event:2", train[0].FileVersion);
        var scalars = train.Where(e => e.Values.Any(v => v.Simple is not null)).ToList();
        Assert.Equal([0L, 1, 2], scalars.Select(e => e.Step));
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var values = scalars[epoch].Values.ToDictionary(v => v.Tag, v => v.Simple!.Value);
            Assert.Equal(["epoch_loss", "epoch_accuracy", "epoch_learning_rate"], values.Keys);
            Assert.Equal((float)history["loss"][epoch], values["epoch_loss"]);
            Assert.Equal((float)history["accuracy"][epoch], values["epoch_accuracy"]);
            Assert.Equal(0.05f, values["epoch_learning_rate"]);
        }

        var validation = ReadEvents(Path.Combine(folder, "validation"));
        Assert.Equal("brain.Event:2", validation[0].FileVersion);
        Assert.Equal([0L, 1, 2], validation.Skip(1).Select(e => e.Step));
        Assert.Equal(
            history["val_loss"].Select(v => (float)v),
            validation.Skip(1).Select(e => e.Values.Single(v => v.Tag == "epoch_loss").Simple!.Value));

        // Histograms at epochs 0 and 2, one per weight, of that epoch's values.
        var histograms = train.Where(e => e.Values.Any(v => v.Histogram is not null)).ToList();
        Assert.Equal(2 * model.Weights.Count, histograms.Count);
        foreach (var evt in histograms)
        {
            var value = evt.Values.Single();
            int index = model.Weights.Select(w => w.Name).ToList().IndexOf(value.Tag);
            Assert.True(index >= 0, $"unexpected tag {value.Tag}");
            float[] w = weights.AfterEpoch[(int)evt.Step][index];
            var h = value.Histogram!;
            Assert.Equal(w.Length, h.Num);
            Assert.Equal(w.Min(), h.Min);
            Assert.Equal(w.Max(), h.Max);
            Assert.Equal(w.Sum(v => (double)v), h.Sum, 9);
            Assert.Equal(w.Sum(v => (double)v * v), h.SumSquares, 9);
            Assert.Equal(w.Length, h.Buckets.Sum());
            Assert.Equal(h.BucketLimits.Length, h.Buckets.Length);
            Assert.Equal(h.Max, h.BucketLimits[^1]);
        }

        Assert.Equal([0L, 0, 0, 0, 2, 2, 2, 2], histograms.Select(e => e.Step));
    }

    [Fact]
    public void HistogramBucketsCountHalfOpenIntervals()
    {
        string directory = Path.Combine(folder, "direct");
        using (var writer = new EventFileWriter(directory))
        {
            writer.WriteHistogram(7, "w", [-1f, 0f, 0.5f, 1f, 3f, float.NaN], buckets: 4);
            writer.WriteHistogram(8, "constant", [2f, 2f, 2f], buckets: 4);
        }

        var events = ReadEvents(directory);
        var h = events[1].Values.Single().Histogram!;
        Assert.Equal(7, events[1].Step);
        Assert.Equal(5, h.Num);
        Assert.Equal(-1, h.Min);
        Assert.Equal(3, h.Max);
        Assert.Equal(3.5, h.Sum);
        Assert.Equal(11.25, h.SumSquares);
        Assert.Equal([0.0, 1, 2, 3], h.BucketLimits);
        Assert.Equal([1.0, 2, 1, 1], h.Buckets);

        var constant = events[2].Values.Single().Histogram!;
        Assert.Equal([2.0], constant.BucketLimits);
        Assert.Equal([3.0], constant.Buckets);
    }

    /// <summary>Reads every record of the single event file in <paramref name="directory"/>, checking both CRCs of each.</summary>
    private static List<Event> ReadEvents(string directory)
    {
        string file = Assert.Single(Directory.GetFiles(directory, "events.out.tfevents.*"));
        Assert.Contains($".{Environment.MachineName}.", Path.GetFileName(file));
        byte[] bytes = File.ReadAllBytes(file);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            var lengthBytes = bytes.AsSpan(at, 8);
            ulong length = BitConverter.ToUInt64(lengthBytes);
            Assert.Equal(Mask(BitwiseCrc32C(lengthBytes)), BitConverter.ToUInt32(bytes, at + 8));
            var data = bytes.AsSpan(at + 12, (int)length);
            Assert.Equal(Mask(BitwiseCrc32C(data)), BitConverter.ToUInt32(bytes, at + 12 + (int)length));
            events.Add(DecodeEvent(data.ToArray()));
            at += 12 + (int)length + 4;
        }

        Assert.Equal(bytes.Length, at);
        return events;
    }

    private static Event DecodeEvent(byte[] data)
    {
        var evt = new Event();
        var input = new CodedInputStream(data);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: Expect(tag, WireFormat.WireType.Fixed64); evt.WallTime = input.ReadDouble(); break;
                case 2: Expect(tag, WireFormat.WireType.Varint); evt.Step = input.ReadInt64(); break;
                case 3: Expect(tag, WireFormat.WireType.LengthDelimited); evt.FileVersion = input.ReadString(); break;
                case 5: Expect(tag, WireFormat.WireType.LengthDelimited); DecodeSummary(input.ReadBytes(), evt.Values); break;
                default: throw new InvalidDataException($"unexpected Event field {WireFormat.GetTagFieldNumber(tag)}");
            }
        }

        Assert.InRange(evt.WallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        return evt;
    }

    private static void DecodeSummary(ByteString bytes, List<SummaryValue> values)
    {
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            Assert.Equal(1, WireFormat.GetTagFieldNumber(tag));
            Expect(tag, WireFormat.WireType.LengthDelimited);
            var value = new SummaryValue();
            var entry = input.ReadBytes().CreateCodedInput();
            uint field;
            while ((field = entry.ReadTag()) != 0)
            {
                switch (WireFormat.GetTagFieldNumber(field))
                {
                    case 1: value.Tag = entry.ReadString(); break;
                    case 2: Expect(field, WireFormat.WireType.Fixed32); value.Simple = entry.ReadFloat(); break;
                    case 5: value.Histogram = DecodeHistogram(entry.ReadBytes()); break;
                    default: throw new InvalidDataException($"unexpected Summary.Value field {WireFormat.GetTagFieldNumber(field)}");
                }
            }

            values.Add(value);
        }
    }

    private static Histogram DecodeHistogram(ByteString bytes)
    {
        var h = new Histogram();
        var input = bytes.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int number = WireFormat.GetTagFieldNumber(tag);
            if (number is 6 or 7)
            {
                Expect(tag, WireFormat.WireType.LengthDelimited);
                var packed = input.ReadBytes().CreateCodedInput();
                var list = new List<double>();
                while (!packed.IsAtEnd)
                {
                    list.Add(packed.ReadDouble());
                }

                if (number == 6)
                {
                    h.BucketLimits = [.. list];
                }
                else
                {
                    h.Buckets = [.. list];
                }

                continue;
            }

            Expect(tag, WireFormat.WireType.Fixed64);
            double v = input.ReadDouble();
            switch (number)
            {
                case 1: h.Min = v; break;
                case 2: h.Max = v; break;
                case 3: h.Num = v; break;
                case 4: h.Sum = v; break;
                case 5: h.SumSquares = v; break;
                default: throw new InvalidDataException($"unexpected HistogramProto field {number}");
            }
        }

        return h;
    }

    private static void Expect(uint tag, WireFormat.WireType type) => Assert.Equal(type, WireFormat.GetTagWireType(tag));

    /// <summary>CRC-32C one bit at a time (no table), to check the writer's table-driven one.</summary>
    private static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                uint lowBit = crc & 1;
                crc >>= 1;
                if (lowBit != 0)
                {
                    crc ^= 0x82F63B78;
                }
            }
        }

        return crc ^ 0xFFFFFFFF;
    }

    private static uint Mask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8);

    private sealed class Event
    {
        public double WallTime { get; set; }

        public long Step { get; set; }

        public string? FileVersion { get; set; }

        public List<SummaryValue> Values { get; } = [];
    }

    private sealed class SummaryValue
    {
        public string Tag { get; set; } = string.Empty;

        public float? Simple { get; set; }

        public Histogram? Histogram { get; set; }
    }

    private sealed class Histogram
    {
        public double Min { get; set; }

        public double Max { get; set; }

        public double Num { get; set; }

        public double Sum { get; set; }

        public double SumSquares { get; set; }

        public double[] BucketLimits { get; set; } = [];

        public double[] Buckets { get; set; } = [];
    }

    private sealed class WeightRecorder : Callback
    {
        public List<List<float[]>> AfterEpoch { get; } = [];

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
            AfterEpoch.Add([.. Model!.Weights.Select(w => w.Value.ToArray())]);
    }
}
