// IDX and CIFAR readers never trust a size they have not checked: header sizes are multiplied in
// checked 64-bit arithmetic, gzip data is read only up to what the header declares, batches are sized first.
using System.IO.Compression;
using Lepton.Data;

namespace Lepton.Tests.IO;

public sealed class DatasetFileLimitsTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-limits-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void IdxSizesWhoseProductOverflowsAreRejected()
    {
        // 65536^4 = 2^64 wraps to 0 in unchecked arithmetic, which matched an empty data section.
        string path = Write("overflow-idx4-ubyte", [0, 0, 8, 4, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]);
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("overflows 64 bits", e.Message);
    }

    [Fact]
    public void AGzipBombStopsAtTheSizeTheHeaderDeclares()
    {
        // A header declaring 100 bytes, then 64 MiB of zeros: about 64 KiB compressed.
        string path = Path.Combine(folder, "bomb-idx1-ubyte.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        {
            gzip.Write([0, 0, 8, 1, 0, 0, 0, 100]);
            var zeros = new byte[1 << 20];
            for (int i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }

        Assert.InRange(new FileInfo(path).Length, 1, 1 << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 4 << 20);
        Assert.Contains(path, e.Message);
        Assert.Contains("holds more than the 100 bytes its header declares", e.Message);
    }

    [Fact]
    public void AGzipHeaderDeclaringMoreThanTheDataHoldsAllocatesOnlyWhatArrives()
    {
        // 1 GiB declared, 4 KiB present: the reader may allocate as the data arrives, never from the header.
        string path = Path.Combine(folder, "short-idx1-ubyte.gz");
        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        {
            gzip.Write([0, 0, 8, 1, 0x40, 0, 0, 0]);
            gzip.Write(new byte[4096]);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 4 << 20);
        Assert.Contains(path, e.Message);
        Assert.Contains("more than a compressed file of this size can hold", e.Message);

        using (var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        {
            gzip.Write([0, 0, 8, 1, 0, 1, 0, 0]);
            gzip.Write(new byte[4096]);
        }

        e = Assert.Throws<InvalidDataException>(() => IdxFile.Read(path));
        Assert.Contains("holds 4096 bytes but its header declares 65536; it is truncated", e.Message);
    }

    [Fact]
    public void CifarBatchesLargerThanOneTensorAreRejectedBeforeReading()
    {
        // A sparse 2.15 GB file of whole records: more pixels than one array holds, found from its size alone.
        string path = Path.Combine(folder, "data_batch_1.bin");
        using (var file = File.Create(path))
        {
            file.SetLength(3073L * 700_000);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Cifar10.ReadBatches(folder, ["data_batch_1.bin"]));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
        Assert.Contains(folder, e.Message);
        Assert.Contains("700000 records", e.Message);
    }

    [Fact]
    public void CifarBatchesAreReadInOrderAcrossChunksAndFiles()
    {
        // 300 records (more than one 256-record chunk) in one file, 2 in another; label r % 10, pixels (r + i) % 256.
        static byte[] Batch(int records, int first)
        {
            var bytes = new byte[records * 3073];
            for (int r = 0; r < records; r++)
            {
                bytes[r * 3073] = (byte)((first + r) % 10);
                for (int i = 0; i < 3072; i++)
                {
                    bytes[(r * 3073) + 1 + i] = (byte)((first + r + i) % 256);
                }
            }

            return bytes;
        }

        Write("a.bin", Batch(300, 0));
        Write("b.bin", Batch(2, 300));
        var (pixels, labels) = Cifar10.ReadBatches(folder, ["a.bin", "b.bin"]);
        Assert.Equal(302, labels.Length);
        Assert.Equal(302 * 3072, pixels.Length);
        for (int r = 0; r < 302; r += 37)
        {
            Assert.Equal(r % 10, labels[r]);
            Assert.Equal((byte)((r + 5) % 256), pixels[(r * 3072) + 5]);
        }

        Assert.Equal((byte)((301 + 3071) % 256), pixels[^1]);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
