// Dataset loaders: IDX parsing (raw and gzip), clear errors for missing, truncated and corrupt
// files, and the real MNIST files from shared/datasets when they are beside the repository.
using System.IO.Compression;
using Lepton.Data;

namespace Lepton.Tests;

public sealed class DataTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-data-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void ReadsRawAndGzipIdx()
    {
        byte[] idx = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        string raw = Path.Combine(folder, "a-idx2-ubyte");
        File.WriteAllBytes(raw, idx);
        string gz = raw + ".gz";
        using (var stream = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
        {
            stream.Write(idx);
        }

        foreach (var path in new[] { raw, gz })
        {
            var file = IdxFile.Read(path);
            Assert.Equal(new[] { 2, 3 }, file.Dimensions);
            Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, file.Data);
        }
    }

    [Fact]
    public void BadFilesNameTheFileAndTheProblem()
    {
        string truncated = Write("truncated", [0, 0, 8, 1, 0, 0, 0, 5, 1, 2]);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(truncated));
        Assert.Contains(truncated, e.Message);
        Assert.Contains("truncated", e.Message);

        string notIdx = Write("text", "hello world"u8.ToArray());
        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => IdxFile.Read(notIdx)).Message);

        string floats = Write("floats", [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        Assert.Contains("0x0d", Assert.Throws<InvalidDataException>(() => IdxFile.Read(floats)).Message);

        string badGzip = Write("bad.gz", [0x1f, 0x8b, 8, 0, 1, 2, 3]);
        Assert.Contains("gzip", Assert.Throws<InvalidDataException>(() => IdxFile.Read(badGzip)).Message);

        Assert.Throws<FileNotFoundException>(() => IdxFile.Read(Path.Combine(folder, "missing")));
        var missing = Assert.Throws<FileNotFoundException>(() => Mnist.Load(folder));
        Assert.Contains("train-images-idx3-ubyte", missing.Message);
    }

    [Fact]
    public void MnistWithWrongDimensionsIsRejected()
    {
        foreach (var name in Mnist.FileNames)
        {
            Write(name, [0, 0, 8, 1, 0, 0, 0, 1, 7]);
        }

        var e = Assert.Throws<InvalidDataException>(() => Mnist.Load(folder));
        Assert.Contains("60000 x 28 x 28", e.Message);
    }

    [Fact]
    public void LoadsTheRealMnistWhenPresent()
    {
        string? directory = Mnist.FindDirectory();
        Assert.True(directory is not null, "MNIST must be in shared/datasets/mnist beside the repository (CI provides it).");
        var mnist = Mnist.Load(directory);
        Assert.Equal(new[] { 60000, 1, 28, 28 }, mnist.TrainImages.Shape);
        Assert.Equal(new[] { 10000 }, mnist.TestLabels.Shape);
        Assert.Equal(DType.Int32, mnist.TrainLabels.DType);
        Assert.Equal(new[] { 5, 0, 4, 1, 9, 2, 1, 3, 1, 4 }, mnist.TrainLabels.Narrow(0, 0, 10).ToInt32Array());
        Assert.Equal(new[] { 7, 2, 1, 0, 4 }, mnist.TestLabels.Narrow(0, 0, 5).ToInt32Array());
        var stats = mnist.TrainImages.Mean().Item();
        Assert.InRange(stats, 0.1306, 0.1308);
        Assert.Equal(1f, mnist.TrainImages.Max().Item());

        // The byte-backed set gives the float tensors' values, batch by batch, and labels alike.
        var fromBytes = new DataLoader(mnist.TestSet.Take(100, 300), 128).Batches().ToArray();
        var fromFloats = new DataLoader(new TensorDataset(mnist.TestImages, mnist.TestLabels).Take(100, 300), 128).Batches().ToArray();
        Assert.Equal(3, fromBytes.Length);
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(fromFloats[b].Inputs.Shape, fromBytes[b].Inputs.Shape);
            Assert.Equal(fromFloats[b].Inputs.ToArray(), fromBytes[b].Inputs.ToArray());
            Assert.Equal(DType.Int32, fromBytes[b].Targets.DType);
            Assert.Equal(fromFloats[b].Targets.ToInt32Array(), fromBytes[b].Targets.ToInt32Array());
        }
    }

    [Fact]
    public void ReadsCifarBinaryBatchesAndRejectsBadOnes()
    {
        // Two records: label 3 with pixel values 0..255 repeating, then label 9 with all 255.
        var bytes = new byte[2 * 3073];
        bytes[0] = 3;
        for (int i = 1; i < 3073; i++)
        {
            bytes[i] = (byte)(i - 1);
        }

        bytes[3073] = 9;
        Array.Fill(bytes, (byte)255, 3074, 3072);
        Write("batch.bin", bytes);
        var (pixels, labels) = Cifar10.ReadBatches(folder, ["batch.bin"]);
        Assert.Equal(new[] { 3, 9 }, labels);
        Assert.Equal(2 * 3072, pixels.Length);
        Assert.Equal(1, pixels[1]);
        Assert.Equal(255, pixels[3072]);

        Write("short.bin", bytes[..3000]);
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.ReadBatches(folder, ["short.bin"]));
        Assert.Contains("short.bin", e.Message);
        Assert.Contains("3073-byte records", e.Message);
        bytes[0] = 12;
        Write("label.bin", bytes);
        Assert.Contains("label 12", Assert.Throws<InvalidDataException>(() => Cifar10.ReadBatches(folder, ["label.bin"])).Message);
        Assert.Throws<FileNotFoundException>(() => Cifar10.Load(folder));
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
