// Reader for the IDX format MNIST ships in (big-endian header: two zero bytes, a type code, the
// number of dimensions, then one 32-bit size per dimension, then the data). Gzip is detected by
// its magic bytes. Every failure names the file and what is wrong with it; the data is read only up
// to the size the header declares (checked 64-bit arithmetic), so a damaged header cannot exhaust memory.
using System.Buffers.Binary;
using System.IO.Compression;
using Lepton.IO;

namespace Lepton.Data;

/// <summary>An IDX file's dimensions and unsigned-byte payload.</summary>
public sealed class IdxFile
{
    /// <summary>The most a deflate stream can expand its input (about 1032:1).</summary>
    private const long MaxDeflateRatio = 1032;

    private IdxFile(int[] dimensions, byte[] data)
    {
        Dimensions = dimensions;
        Data = data;
    }

    /// <summary>The size of each dimension, outermost first.</summary>
    public int[] Dimensions { get; }

    /// <summary>The elements in row-major order.</summary>
    public byte[] Data { get; }

    /// <summary>
    /// Reads an IDX file of unsigned bytes, gzip-compressed or not. The header's sizes are multiplied in checked 64-bit
    /// arithmetic and the data is read only up to the size they declare: a file that holds less or more is an error,
    /// and a compressed file cannot make the reader allocate more than its data really holds.
    /// </summary>
    /// <param name="path">The file (raw, or gzip as published).</param>
    /// <example><code>var labels = IdxFile.Read("train-labels-idx1-ubyte.gz");</code></example>
    /// <exception cref="InvalidDataException">The file is damaged; the message names it and the problem.</exception>
    public static IdxFile Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        if (!gzip)
        {
            return Parse(file, path, file.Length);
        }

        try
        {
            using var decompressed = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
            return Parse(decompressed, path, length: null, maxLength: (file.Length * MaxDeflateRatio) + 1024);
        }
        catch (InvalidDataException e) when (!e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"IDX file '{path}' is not a valid gzip stream ({e.Message}); the download is probably damaged: delete it and fetch it again.", e);
        }
    }

    /// <summary>Parses IDX bytes already in memory; <paramref name="source"/> names them in errors.</summary>
    /// <param name="raw">The whole file's bytes (uncompressed).</param>
    /// <param name="source">Names the bytes in errors.</param>
    /// <example><code>var idx = IdxFile.Parse(File.ReadAllBytes("t10k-labels-idx1-ubyte"), "t10k-labels");</code></example>
    public static IdxFile Parse(byte[] raw, string source) => Parse(new MemoryStream(raw, writable: false), source, raw.Length);

    /// <summary>Reads the header, then exactly the data it declares.</summary>
    /// <param name="stream">The uncompressed IDX bytes.</param>
    /// <param name="source">Names the file in errors.</param>
    /// <param name="length">The stream's length when known (a raw file), checked before any data is read.</param>
    /// <param name="maxLength">The most the stream can hold (a compressed file's size times the deflate ratio).</param>
    private static IdxFile Parse(Stream stream, string source, long? length, long maxLength = long.MaxValue)
    {
        Span<byte> prefix = stackalloc byte[4];
        int got = stream.ReadAtLeast(prefix, 4, throwOnEndOfStream: false);
        if (got == 0 && length is null)
        {
            throw new InvalidDataException("the gzip stream holds no data (it is truncated)");
        }

        if (got < 4 || prefix[0] != 0 || prefix[1] != 0)
        {
            throw new InvalidDataException($"IDX file '{source}' does not start with the IDX magic number (two zero bytes); it is not an IDX file.");
        }

        if (prefix[2] != 0x08)
        {
            throw new InvalidDataException($"IDX file '{source}' holds element type 0x{prefix[2]:x2}; only unsigned bytes (0x08) are supported.");
        }

        int rank = prefix[3];
        var sizes = new byte[4 * rank];
        int header = 4 + sizes.Length;
        if (rank == 0 || stream.ReadAtLeast(sizes, sizes.Length, throwOnEndOfStream: false) < sizes.Length)
        {
            throw new InvalidDataException($"IDX file '{source}' has a truncated header ({(length is { } l ? $"{l} bytes" : "the data ends")} for {rank} dimensions).");
        }

        var dims = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(sizes.AsSpan(4 * d));
            if (dims[d] < 0)
            {
                throw new InvalidDataException($"IDX file '{source}' declares a negative size in dimension {d}.");
            }

            count = count > long.MaxValue / Math.Max(dims[d], 1)
                ? throw new InvalidDataException($"IDX file '{source}' declares sizes {string.Join(" x ", dims[..(d + 1)])} whose product overflows 64 bits; its header is corrupt.")
                : count * dims[d];
        }

        if (length is { } total && total - header != count)
        {
            string what = total - header < count ? "truncated" : "longer than its header says";
            throw new InvalidDataException(
                $"IDX file '{source}' is {what}: the header declares {string.Join(" x ", dims)} = {count} bytes of data but {total - header} follow.");
        }

        if (count > Array.MaxLength || count > maxLength)
        {
            throw new InvalidDataException(
                $"IDX file '{source}' declares {string.Join(" x ", dims)} = {count} bytes of data, more than {(count > Array.MaxLength ? "one array can hold" : "a compressed file of this size can hold")}; its header is corrupt.");
        }

        return new IdxFile(dims, DeclaredLength.Read(stream, count, $"IDX file '{source}'"));
    }
}
