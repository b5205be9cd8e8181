// Fuzzing every file reader from real files (MNIST IDX records, a CIFAR batch, a saved model) with
// seeded mutations: each case loads exactly what the file says or throws InvalidDataException naming it.
using System.Diagnostics;
using System.IO.Compression;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Lepton.Data;
using Lepton.IO;
using Lepton.Nn;
using Lepton.Tests.Nn;
using Lepton.Tests.Support;

namespace Lepton.Tests.IO;

public sealed class FileReaderFuzzTests : IDisposable
{
    private static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(2);
    private const long MemoryLimit = 64L << 20;

    private readonly string folder = Directory.CreateTempSubdirectory("lepton-fuzz-").FullName;
    private readonly List<string> failures = [];
    private int cases;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void IdxFilesRawAndGzip()
    {
        string? mnist = Mnist.FindDirectory();
        Assert.True(mnist is not null, "MNIST must be in shared/datasets/mnist beside the repository (CI provides it).");
        var images = IdxFile.Read(Path.Combine(mnist, "t10k-images-idx3-ubyte.gz"));
        var labels = IdxFile.Read(Path.Combine(mnist, "t10k-labels-idx1-ubyte.gz"));
        var originals = new[] { Idx([100, 28, 28], images.Data[..78400]), Idx([100], labels.Data[..100]) };
        var rng = new Random(1);
        for (int i = 0; i < 240; i++)
        {
            var original = originals[i % 2];
            int[] fields = [0, .. Enumerable.Range(0, original[3] + 1).Select(d => 4 * d)];
            var (name, raw) = i % 24 == 0
                ? ("sizes 65536^4 with no data", new byte[] { 0, 0, 8, 4, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0 })
                : FuzzMutations.Bytes(original, rng, fields, bigEndian: true);
            var expected = ReferenceIdx(raw);
            switch (i % 3)
            {
                case 0:
                    // Raw: the reader must agree with a plain reading of the format.
                    CheckIdx($"raw {i}: {name}", Write($"raw{i}-idx-ubyte", raw), expected);
                    break;
                case 1:
                    // Gzip of a damaged IDX: the stream is sound, its content is not.
                    CheckIdx($"gzip content {i}: {name}", Write($"gz{i}-idx-ubyte.gz", Gzip(raw)), expected);
                    break;
                default:
                    // Damaged gzip of a sound IDX: its CRC-32 and size trailer leave the original or an error.
                    var gz = Gzip(original);
                    var (gzName, damaged) = FuzzMutations.Bytes(gz, rng, [0, 4, gz.Length - 8, gz.Length - 4], bigEndian: false);
                    CheckIdx($"gzip bytes {i}: {gzName}", Write($"gzb{i}-idx-ubyte.gz", damaged), ReferenceIdx(original));
                    break;
            }
        }

        Finish(240);
    }

    [Fact]
    public void CifarBatches()
    {
        var batch = new byte[40 * 3073];
        new Random(2).NextBytes(batch);
        for (int r = 0; r < 40; r++)
        {
            batch[r * 3073] = (byte)(r % 10);
        }

        var rng = new Random(3);
        for (int i = 0; i < 60; i++)
        {
            var (name, bytes) = FuzzMutations.Bytes(batch, rng, [0, 3073, 6146, batch.Length - 3073], bigEndian: false);
            string file = $"batch{i}.bin";
            string path = Write(file, bytes);
            bool valid = bytes.Length > 0 && bytes.Length % 3073 == 0 && Enumerable.Range(0, bytes.Length / 3073).All(r => bytes[r * 3073] <= 9);
            Check($"cifar {i}: {name}", path, () => Cifar10.ReadBatches(folder, [file]), loaded =>
            {
                if (!valid)
                {
                    return "a damaged batch was accepted";
                }

                int records = bytes.Length / 3073;
                bool same = loaded.Labels.Length == records && Enumerable.Range(0, records).All(r =>
                    loaded.Labels[r] == bytes[r * 3073] && Enumerable.Range(0, 3072).All(p => loaded.Pixels[(r * 3072) + p] == bytes[(r * 3073) + 1 + p]));
                return same ? null : "the values differ from the file's";
            });
        }

        Finish(60);
    }

    [Fact]
    public void SafeTensorsFiles()
    {
        string weights = Path.Combine(folder, "weights.safetensors");
        ModelTests.SmallClassifier().SaveWeights(weights);
        var original = File.ReadAllBytes(weights);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(original);
        var rng = new Random(4);
        for (int i = 0; i < 160; i++)
        {
            var (name, bytes) = i % 2 == 0
                ? FuzzMutations.Bytes(original, rng, [0, 4, headerEnd - 4, headerEnd], bigEndian: false)
                : JsonCase(original, rng);
            string path = Write($"w{i}.safetensors", bytes);
            var expected = ReferenceSafeTensors(bytes);
            Check($"safetensors {i}: {name}", path, () => SafeTensors.Load(path), loaded =>
            {
                if (expected is null)
                {
                    return "a damaged file was accepted";
                }

                return loaded.Count == expected.Count && expected.All(e => loaded.TryGetValue(e.Key, out var t) && t.ToArray().SequenceEqual(e.Value))
                    ? null
                    : "the tensors differ from the file's";
            });
        }

        Finish(160);
    }

    [Fact]
    public void ModelArchives()
    {
        var (x, y) = ModelTests.Blobs(30, 1);
        var model = ModelTests.SmallClassifier();
        model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");
        model.TrainOnBatch(x, y);
        string saved = Path.Combine(folder, "model.lepton");
        model.Save(saved);
        var expected = model.Weights.Select(w => w.Value.ToArray()).ToArray();
        var archive = File.ReadAllBytes(saved);
        var entries = DamagedFiles.ReadZip(saved);
        var rng = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            string name;
            string path = Path.Combine(folder, $"m{i}.lepton");
            if (i % 4 == 0)
            {
                // The archive's own bytes, zip headers included: its CRCs leave the original or an error.
                byte[] bytes;
                (name, bytes) = FuzzMutations.Bytes(archive, rng, ZipFields(archive), bigEndian: false);
                File.WriteAllBytes(path, bytes);
            }
            else
            {
                // An entry's JSON damaged and re-zipped, so every CRC is valid and only the content is wrong.
                string entry = i % 4 == 3 ? "model.safetensors" : "config.json";
                var content = entries.Single(e => e.Name == entry).Bytes;
                byte[] changed;
                if (entry == "config.json")
                {
                    var (what, json) = FuzzMutations.Json(Encoding.UTF8.GetString(content), rng);
                    (name, changed) = (what, Encoding.UTF8.GetBytes(json));
                }
                else
                {
                    (name, changed) = JsonCase(content, rng);
                }

                name = $"{entry} {name}";
                DamagedFiles.WriteZip(path, [.. entries.Select(e => e.Name == entry ? (e.Name, changed) : e)]);
            }

            Check($"lepton {i}: {name}", path, () => Model.Load(path), loaded =>
            {
                using (loaded)
                {
                    var weights = loaded.Weights.Select(w => w.Value.ToArray()).ToArray();
                    return weights.Length == expected.Length && weights.Zip(expected).All(p => p.First.SequenceEqual(p.Second))
                        ? null
                        : "the weights differ from the saved ones";
                }
            });
        }

        Finish(200);
    }

    private static (string Name, byte[] Bytes) JsonCase(byte[] safetensors, Random rng)
    {
        string name = string.Empty;
        var bytes = FuzzMutations.WithSafeTensorsHeader(safetensors, header =>
        {
            (name, string json) = FuzzMutations.Json(header.TrimEnd(), rng);
            return json;
        });
        return ($"header {name}", bytes);
    }

    private void CheckIdx(string what, string path, (int[] Dims, byte[] Data)? expected) =>
        Check(what, path, () => IdxFile.Read(path), loaded =>
            expected is not { } e ? "a damaged file was accepted"
            : loaded.Dimensions.SequenceEqual(e.Dims) && loaded.Data.AsSpan().SequenceEqual(e.Data) ? null
            : "the values differ from the file's");

    /// <summary>Runs one case: a result must pass <paramref name="verify"/>; an error must be an InvalidDataException naming the file.</summary>
    private void Check<T>(string what, string path, Func<T> load, Func<T, string?> verify)
    {
        cases++;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            if (verify(load()) is { } problem)
            {
                failures.Add($"{what}: {problem}");
            }
        }
        catch (InvalidDataException e) when (e.GetType() == typeof(InvalidDataException))
        {
            if (!e.Message.Contains(path, StringComparison.Ordinal) || e.Message.Length < path.Length + 20)
            {
                failures.Add($"{what}: the message does not name the file and the problem: {e.Message}");
            }
        }
        catch (Exception e)
        {
            failures.Add($"{what}: {e.GetType().Name}: {e.Message}");
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (clock.Elapsed > TimeLimit || allocated > MemoryLimit)
        {
            failures.Add($"{what}: took {clock.Elapsed.TotalSeconds:F2} s and allocated {allocated >> 20} MiB");
        }
    }

    private void Finish(int expectedCases)
    {
        Assert.Equal(expectedCases, cases);
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases failed:\n{string.Join("\n", failures.Take(15))}");
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Idx(int[] dims, byte[] data)
    {
        var bytes = new List<byte> { 0, 0, 8, (byte)dims.Length };
        foreach (int d in dims)
        {
            bytes.AddRange([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        }

        return [.. bytes, .. data];
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return memory.ToArray();
    }

    /// <summary>The IDX format read plainly (sizes multiplied exactly), or null when the bytes are not a valid IDX file.</summary>
    private static (int[] Dims, byte[] Data)? ReferenceIdx(byte[] b)
    {
        if (b.Length < 4 || b[0] != 0 || b[1] != 0 || b[2] != 8 || b[3] == 0 || b.Length < 4 + (4 * b[3]))
        {
            return null;
        }

        var dims = Enumerable.Range(0, b[3]).Select(d => (b[4 + (4 * d)] << 24) | (b[5 + (4 * d)] << 16) | (b[6 + (4 * d)] << 8) | b[7 + (4 * d)]).ToArray();
        BigInteger count = dims.Aggregate(BigInteger.One, (n, d) => n * d);
        int header = 4 + (4 * dims.Length);
        return dims.All(d => d >= 0) && b.Length - header == count ? (dims, b[header..]) : null;
    }

    /// <summary>
    /// The safetensors format read plainly (F32 and I32 only), or null when the bytes are not valid: a JSON object of
    /// {dtype, shape, data_offsets} whose tensors, sorted by offset, tile the data section exactly.
    /// </summary>
    private static Dictionary<string, float[]>? ReferenceSafeTensors(byte[] b)
    {
        try
        {
            ulong n = b.Length >= 8 ? BitConverter.ToUInt64(b) : ulong.MaxValue;
            if (n > (ulong)(b.Length - 8))
            {
                return null;
            }

            using var doc = JsonDocument.Parse(b.AsMemory(8, (int)n));
            var tensors = new List<(string Name, bool Int, long Begin, long End)>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                {
                    if (p.Value.EnumerateObject().Any(m => m.Value.ValueKind != JsonValueKind.String))
                    {
                        return null;
                    }

                    continue;
                }

                string dtype = p.Value.GetProperty("dtype").GetString()!;
                var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(o => o.GetInt64()).ToArray();
                BigInteger count = p.Value.GetProperty("shape").EnumerateArray().Aggregate(BigInteger.One, (c, d) => c * d.GetInt32());
                if (dtype is not ("F32" or "I32") || offsets.Length != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != count * 4 ||
                    p.Value.GetProperty("shape").EnumerateArray().Any(d => d.GetInt32() < 0) || tensors.Any(t => t.Name == p.Name))
                {
                    return null;
                }

                tensors.Add((p.Name, dtype == "I32", offsets[0], offsets[1]));
            }

            long end = 0;
            foreach (var t in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
            {
                end = t.Begin == end ? t.End : -1;
            }

            long data = b.Length - 8 - (long)n;
            return end != data ? null : tensors.ToDictionary(t => t.Name, t => Enumerable.Range(0, (int)((t.End - t.Begin) / 4))
                .Select(i => BitConverter.ToInt32(b, (int)(8 + (long)n + t.Begin) + (4 * i)))
                .Select(v => t.Int ? v : BitConverter.Int32BitsToSingle(v)).ToArray());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The offsets of the size and CRC fields of every local header and central directory entry.</summary>
    private static int[] ZipFields(byte[] zip)
    {
        var fields = new List<int>();
        for (int at = 0; at + 4 <= zip.Length; at++)
        {
            uint signature = BitConverter.ToUInt32(zip, at);
            if (signature == 0x04034b50)
            {
                fields.AddRange([at + 14, at + 18, at + 22, at + 26]);
            }
            else if (signature == 0x02014b50)
            {
                fields.AddRange([at + 16, at + 20, at + 24, at + 28, at + 42]);
            }
            else if (signature == 0x06054b50)
            {
                fields.AddRange([at + 8, at + 12, at + 16]);
            }
        }

        return [.. fields];
    }
}
