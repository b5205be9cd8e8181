// A saved model's zip entries are checked: a flipped bit fails the entry's CRC-32 instead of loading
// other weights, and an entry cannot make Load read more than the size its header declares.
using System.IO.Compression;
using Lepton.Nn;
using Lepton.Tests.Nn;
using Lepton.Tests.Support;

namespace Lepton.Tests.IO;

public sealed class ModelArchiveIntegrityTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-zip-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void AFlippedBitInStoredWeightsFailsTheCrcCheck()
    {
        string saved = SaveModel();
        string stored = Path.Combine(folder, "stored.lepton");
        DamagedFiles.WriteZip(stored, DamagedFiles.ReadZip(saved), CompressionLevel.NoCompression);
        Assert.Equal(Weights(Model.Load(saved)), Weights(Model.Load(stored)));

        // Stored entries hold the bytes verbatim: a flipped bit in the last float changes a weight and nothing else.
        var bytes = File.ReadAllBytes(stored);
        int end = DamagedFiles.EntryDataOffset(bytes, "model.safetensors") + DamagedFiles.EntryCompressedLength(bytes, "model.safetensors");
        bytes[end - 2] ^= 0x10;
        File.WriteAllBytes(stored, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(stored));
        Assert.Contains(stored, e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("CRC-32", e.Message);
    }

    [Fact]
    public void FlippedBitsInDeflatedWeightsNeverLoadOtherWeights()
    {
        string saved = SaveModel();
        var expected = Weights(Model.Load(saved));
        var original = File.ReadAllBytes(saved);
        int start = DamagedFiles.EntryDataOffset(original, "model.safetensors");
        int length = DamagedFiles.EntryCompressedLength(original, "model.safetensors");
        var rng = new Random(20);
        string damaged = Path.Combine(folder, "flipped.lepton");
        int rejected = 0;
        for (int i = 0; i < 20; i++)
        {
            var bytes = (byte[])original.Clone();
            bytes[start + rng.Next(length)] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(damaged, bytes);
            try
            {
                Assert.Equal(expected, Weights(Model.Load(damaged)));
            }
            catch (InvalidDataException e)
            {
                Assert.Contains(damaged, e.Message);
                rejected++;
            }
        }

        Assert.True(rejected >= 18, $"only {rejected} of 20 damaged archives were rejected");
    }

    [Fact]
    public void AnEntryDeclaringMoreThanDeflateCanProduceIsRejectedBeforeReading()
    {
        var bytes = File.ReadAllBytes(SaveModel());
        DamagedFiles.PatchDeclaredLength(bytes, "model.safetensors", 3_000_000_000);
        string path = Path.Combine(folder, "huge.lepton");
        File.WriteAllBytes(path, bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 16 << 20);
        Assert.Contains(path, e.Message);
        Assert.Contains("3000000000 bytes", e.Message);
    }

    [Fact]
    public void AnEntryInflatingPastItsDeclaredLengthIsNotReadToTheEnd()
    {
        // config.json followed by 64 MiB of spaces (still valid JSON), declared as the JSON's length only.
        string saved = SaveModel();
        var entries = DamagedFiles.ReadZip(saved);
        var config = entries.Single(e => e.Name == "config.json").Bytes;
        var padded = new byte[config.Length + (64 << 20)];
        config.CopyTo(padded, 0);
        Array.Fill(padded, (byte)' ', config.Length, 64 << 20);
        string path = Path.Combine(folder, "bomb.lepton");
        DamagedFiles.WriteZip(path, [.. entries.Select(e => e.Name == "config.json" ? (e.Name, padded) : e)]);
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length < 1 << 20);
        DamagedFiles.PatchDeclaredLength(bytes, "config.json", (uint)config.Length);
        File.WriteAllBytes(path, bytes);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 16 << 20);
        Assert.Contains(path, e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void AnEntryShorterThanDeclaredIsTruncated()
    {
        var bytes = File.ReadAllBytes(SaveModel());
        int declared = DamagedFiles.ReadZip(SaveModel()).Single(e => e.Name == "config.json").Bytes.Length;
        DamagedFiles.PatchDeclaredLength(bytes, "config.json", (uint)declared + 10);
        string path = Path.Combine(folder, "short.lepton");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"declares {declared + 10}", e.Message);
    }

    private static float[][] Weights(Model model) => [.. model.Weights.Select(w => w.Value.ToArray())];

    private string SaveModel()
    {
        var (x, y) = ModelTests.Blobs(30, 1);
        var model = ModelTests.SmallClassifier();
        model.Compile("adam", "sparse_categorical_crossentropy");
        model.TrainOnBatch(x, y);
        string path = Path.Combine(folder, $"model-{Guid.NewGuid():N}.lepton");
        model.Save(path);
        return path;
    }
}
