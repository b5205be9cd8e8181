// Reader for the IDX format MNIST ships in (big-endian header: two zero bytes, a type code, the
// number of dimensions, then one 32-bit size per dimension, then the data). Gzip is detected by
// its magic bytes. Every failure names the file and what is wrong with it.
using System.IO.Compression;

namespace Lepton.Data;

/// <summary>An IDX file's dimensions and unsigned-byte payload.</summary>
public sealed class IdxFile
{
    private IdxFile(int[] dimensions, byte[] data)
    {
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>The size of each dimension, outermost first.</summary>
    public int[] Dimensions { get; }

    /// <summary>The elements in row-major order.</summary>
    public byte[] Data { get; }

    /// <summary>Reads an IDX file of unsigned bytes, gzip-compressed or not.</summary>
    /// <example><code>var labels = IdxFile.Read("train-labels-idx1-ubyte.gz");</code></example>
    public static IdxFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        }

        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
            if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
            {
                using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var decompressed = new MemoryStream();
                gzip.CopyTo(decompressed);
                raw = decompressed.ToArray();
                if (raw.Length == 0)
                {
                    throw new InvalidDataException("the gzip stream holds no data (it is truncated)");
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"IDX file '{path}' is not a valid gzip stream ({e.Message}); the download is probably damaged: delete it and fetch it again.", e);
        }

        return Parse(raw, path);
    }

    /// <summary>Parses IDX bytes already in memory; <paramref name="source"/> names them in errors.</summary>
    public static IdxFile Parse(byte[] raw, string source)
    {
        if (raw.Length < 4 || raw[0] != 0 || raw[1] != 0)
        {
            throw new InvalidDataException($"IDX file '{source}' does not start with the IDX magic number (two zero bytes); it is not an IDX file.");
        }

        if (raw[2] != 0x08)
        {
            throw new InvalidDataException($"IDX file '{source}' holds element type 0x{raw[2]:x2}; only unsigned bytes (0x08) are supported.");
        }

        int rank = raw[3];
        int header = 4 + (4 * rank);
        if (rank == 0 || raw.Length < header)
        {
            throw new InvalidDataException($"IDX file '{source}' has a truncated header ({raw.Length} bytes for {rank} dimensions).");
        }

        var dims = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            int at = 4 + (4 * d);
            dims[d] = (raw[at] << 24) | (raw[at + 1] << 16) | (raw[at + 2] << 8) | raw[at + 3];
            if (dims[d] < 0)
            {
                throw new InvalidDataException($"IDX file '{source}' declares a negative size in dimension {d}.");
            }

            count *= dims[d];
        }

        if (raw.Length - header != count)
        {
            string what = raw.Length - header < count ? "truncated" : "longer than its header says";
            throw new InvalidDataException(
                $"IDX file '{source}' is {what}: the header declares {string.Join(" x ", dims)} = {count} bytes of data but {raw.Length - header} follow.");
        }

        return new IdxFile(dims, raw[header..]);
    }
}
