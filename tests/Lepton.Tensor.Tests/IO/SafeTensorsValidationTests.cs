// The safetensors reader checks its header like the reference implementation: offsets that overflow,
// overlap, alias, leave gaps or miss the end of the file are errors, and files over 2 GiB are readable.
using Lepton.IO;
using Lepton.Tests.Support;

namespace Lepton.Tests.IO;

public sealed class SafeTensorsValidationTests : IDisposable
{
    private static readonly byte[] TwelveBytes = [0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64];

    private readonly string folder = Directory.CreateTempSubdirectory("lepton-st-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void AValidFileLoadsTheSameFromAStreamAndFromMemory()
    {
        var bytes = DamagedFiles.SafeTensors(
            """{"__metadata__":{"k":"v"},"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", TwelveBytes);
        string path = Write("ok.safetensors", bytes);
        foreach (var tensors in new[] { SafeTensors.Load(path), SafeTensors.Read(bytes, path) })
        {
            Assert.Equal(new[] { 1f, 2f }, tensors["a"].ToArray());
            Assert.Equal(DType.Int32, tensors["b"].DType);
            Assert.Equal(new[] { 1077936128 }, tensors["b"].ToInt32Array());
        }

        Assert.Equal("v", SafeTensors.ReadMetadata(path)["k"]);
        Assert.Equal(new[] { "b" }, SafeTensors.Load(path, names: ["b"]).Keys);
    }

    [Fact]
    public void AFlippedDataBitInAFileWrittenHereFailsItsChecksum()
    {
        string path = Path.Combine(folder, "weights.safetensors");
        using var w = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);
        SafeTensors.Save(path, [("w", w)]);
        Assert.Equal(8, SafeTensors.ReadMetadata(path)[SafeTensors.DataChecksumKey].Length);
        Assert.Equal(w.ToArray(), SafeTensors.Load(path)["w"].ToArray());

        var bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        foreach (var load in new Action[] { () => SafeTensors.Load(path), () => SafeTensors.Read(bytes, path) })
        {
            var e = Assert.Throws<InvalidDataException>(load);
            Assert.Contains(path, e.Message);
            Assert.Contains("CRC-32", e.Message);
        }

        // Reading only some tensors does not read the whole data section, so it cannot check it.
        Assert.NotEqual(w.ToArray(), SafeTensors.Load(path, names: ["w"])["w"].ToArray());
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[9223372036854775804,-9223372036854775808]}}""", "data offset -9223372036854775808")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[9223372036854775804,9223372036854775807]}}""", "needs 12 bytes")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", "gap")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", "4 bytes after its last tensor")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", "truncated")]
    [InlineData("""{"a":{"dtype":"F32","shape":[65536,65536,65536,65536],"data_offsets":[0,12]}}""", "overflows 64 bits")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,12]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3.5],"data_offsets":[0,12]}}""", "not a non-negative integer")]
    [InlineData("""{"a":{"shape":[3],"data_offsets":[0,12]}}""", "no \"dtype\"")]
    [InlineData("""{"a":{"dtype":7,"shape":[3],"data_offsets":[0,12]}}""", "no \"dtype\"")]
    [InlineData("""{"a":{"dtype":"F32","shape":"3","data_offsets":[0,12]}}""", "no \"shape\" array")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3]}}""", "no \"data_offsets\" array")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4,12]}}""", "exactly [begin, end]")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[12,0]}}""", "end before they begin")]
    [InlineData("""{"a":{"dtype":"Q4","shape":[3],"data_offsets":[0,12]}}""", "unknown dtype 'Q4'")]
    [InlineData("""{"a":[3]}""", "not an object of dtype")]
    [InlineData("""[1, 2]""", "not an object of tensors")]
    [InlineData("""{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", "metadata 'k'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", "twice")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}""", "not valid JSON")]
    public void ACorruptHeaderNamesTheFileTheTensorAndTheProblem(string header, string problem)
    {
        string path = Write("bad.safetensors", DamagedFiles.SafeTensors(header, TwelveBytes));
        foreach (var load in new Action[] { () => SafeTensors.Load(path), () => SafeTensors.Read(File.ReadAllBytes(path), path) })
        {
            var e = Assert.Throws<InvalidDataException>(load);
            Assert.Contains(path, e.Message);
            Assert.Contains(problem, e.Message);
        }
    }

    [Fact]
    public void AHeaderLengthOneByteShortIsRejected()
    {
        var bytes = DamagedFiles.SafeTensors("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}  """, TwelveBytes);
        bytes[0]--;
        string path = Write("short.safetensors", bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains("1 bytes after its last tensor", e.Message);
        bytes[0] = 0xff;
        bytes[7] = 0x7f;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("limit", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);
    }

    [Fact]
    public void AFileOver2GiBIsReadThroughAStream()
    {
        // A sparse file: a 2 GiB tensor that is never read, then a small one at the very end.
        const long big = 1L << 31;
        string header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + (big / 4) + "],\"data_offsets\":[0," + big + "]},"
            + "\"small\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + big + "," + (big + 12) + "]}}";
        var prefix = DamagedFiles.SafeTensors(header, []);
        string path = Path.Combine(folder, "large.safetensors");
        using (var file = File.Create(path))
        {
            file.Write(prefix);
            file.SetLength(prefix.Length + big + 12);
            file.Position = prefix.Length + big;
            file.Write(TwelveBytes);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var tensors = SafeTensors.Load(path, names: ["small"]);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 16 << 20);
        Assert.Equal(new[] { 1f, 2f, 3f }, tensors["small"].ToArray());
        Assert.Empty(SafeTensors.ReadMetadata(path));
        var missing = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path, names: ["other"]));
        Assert.Contains("no tensor 'other'", missing.Message);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
