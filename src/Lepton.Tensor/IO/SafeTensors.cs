// The safetensors format (readable by PyTorch, JAX and Hugging Face tools): an 8-byte little-endian
// header length, a JSON header mapping names to {dtype, shape, data_offsets}, then raw
// little-endian data. Reading validates the header (SafeTensorsHeader) and names the file and the
// problem; files are read through a stream, so their size is not limited to one array.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Lepton.IO;

/// <summary>Reads and writes named tensors in the safetensors format.</summary>
public static class SafeTensors
{
    /// <summary>The metadata key under which files written here record the CRC-32 of their data section (8 hex digits).</summary>
    public const string DataChecksumKey = "lepton.data_crc32";

    /// <summary>
    /// Writes tensors of every element type (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL) to a stream. The header's metadata also records the CRC-32 of the
    /// data section under <see cref="DataChecksumKey"/>, so reading the file back detects damaged data (other tools
    /// ignore the entry).
    /// </summary>
    /// <param name="stream">Where the file's bytes go.</param>
    /// <param name="tensors">The named tensors, stored in the order of their names.</param>
    /// <param name="metadata">String metadata for the header, or null.</param>
    /// <example><code>SafeTensors.Write(stream, [("dense/kernel", w)]);</code></example>
    public static void Write(Stream stream, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        // Each tensor's elements are read once and kept until written: the header, written first, needs their CRC-32.
        var data = items.Select(t => t.Value.DenseBytes()).ToList();
        uint crc = 0;
        foreach (var bytes in data)
        {
            crc = Crc32.Compute(bytes, crc);
        }

        var header = new Dictionary<string, object>
        {
            ["__metadata__"] = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
            {
                [DataChecksumKey] = crc.ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            },
        };

        long offset = 0;
        foreach (var (name, value) in items)
        {
            long bytes = (long)value.Numel * value.DType.Size();
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = Code(value.DType),
                ["shape"] = value.Shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }

        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var bytes in data)
        {
            stream.Write(bytes);
        }
    }

    /// <summary>Writes a file atomically (see <see cref="Write"/>).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">The named tensors.</param>
    /// <param name="metadata">String metadata for the header, or null.</param>
    /// <example><code>SafeTensors.Save("weights.safetensors", model.Weights.Select(w => (w.Name, w.Value)));</code></example>
    public static void Save(string path, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, s => Write(s, tensors, metadata));

    /// <summary>
    /// Reads the tensors of a safetensors file (F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL, each as the element
    /// type of the same name), through a stream:
    /// the header first, then each tensor's bytes at its offset, so files of any size can be read. With
    /// <paramref name="names"/>, only those tensors are read (the others are validated but never loaded). A file that
    /// records its data's CRC-32 (<see cref="DataChecksumKey"/>, as files written here do) is checked against it when
    /// every tensor is read.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="device">Where the tensors are created (default: the default device).</param>
    /// <param name="names">The tensors to read; null reads all of them.</param>
    /// <example><code>var tensors = SafeTensors.Load("weights.safetensors");</code></example>
    /// <exception cref="InvalidDataException">The file is not valid safetensors; the message names the file, the tensor and the problem.</exception>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null, IEnumerable<string>? names = null)
    {
        using var stream = OpenRead(path);
        var header = ReadHeader(stream, path);
        var wanted = Select(header, names, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        uint crc = 0;
        try
        {
            foreach (var entry in wanted)
            {
                var tensor = NewTensor(entry, path, device);
                result[entry.Name] = tensor;
                stream.Position = header.DataStart + entry.Begin;
                long total = entry.End - entry.Begin;
                var chunk = new byte[(int)Math.Min(total, 1 << 20)];
                long done = 0;
                while (done < total)
                {
                    int n = (int)Math.Min(total - done, chunk.Length);
                    try
                    {
                        stream.ReadExactly(chunk, 0, n);
                    }
                    catch (EndOfStreamException e)
                    {
                        throw new InvalidDataException($"safetensors file '{path}' ended while reading tensor '{entry.Name}'; it was truncated while being read.", e);
                    }

                    crc = Crc32.Compute(chunk.AsSpan(0, n), crc);
                    CheckBools(entry, chunk.AsSpan(0, n), path);
                    tensor.Backend.UploadBytes(chunk.AsSpan(0, n), tensor.Buffer, done);
                    done += n;
                }
            }

            if (names is null)
            {
                CheckDataChecksum(header, crc, path);
            }
        }
        catch
        {
            Dispose(result);
            throw;
        }

        return result;
    }

    /// <summary>The string metadata of a safetensors file's header (empty when it has none); only the header is read.</summary>
    /// <param name="path">The file.</param>
    /// <example><code>var metadata = SafeTensors.ReadMetadata("weights.safetensors");</code></example>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var stream = OpenRead(path);
        return ReadHeader(stream, path).Metadata;
    }

    /// <summary>The string metadata of safetensors bytes (empty when it has none).</summary>
    /// <param name="bytes">The whole file's bytes.</param>
    /// <param name="source">Names the bytes in errors.</param>
    /// <example><code>var metadata = SafeTensors.ReadMetadata(bytes, "weights.safetensors");</code></example>
    public static Dictionary<string, string> ReadMetadata(byte[] bytes, string source) => ParseHeader(bytes, source).Metadata;

    /// <summary>Parses safetensors bytes already in memory (e.g. an archive entry), validated as <see cref="Load"/> validates a file.</summary>
    /// <param name="bytes">The whole file's bytes.</param>
    /// <param name="source">Names the bytes in errors.</param>
    /// <param name="device">Where the tensors are created (default: the default device).</param>
    /// <example><code>var tensors = SafeTensors.Read(bytes, "model.lepton!model.safetensors");</code></example>
    /// <exception cref="InvalidDataException">The bytes are not valid safetensors; the message names the source, the tensor and the problem.</exception>
    public static Dictionary<string, Tensor> Read(byte[] bytes, string source, Device? device = null)
    {
        var header = ParseHeader(bytes, source);
        CheckDataChecksum(header, Crc32.Compute(bytes.AsSpan((int)header.DataStart)), source);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var entry in header.Tensors)
            {
                var tensor = NewTensor(entry, source, device);
                result[entry.Name] = tensor;
                var span = bytes.AsSpan((int)(header.DataStart + entry.Begin), (int)(entry.End - entry.Begin));
                CheckBools(entry, span, source);
                tensor.Backend.UploadBytes(span, tensor.Buffer, 0);
            }
        }
        catch
        {
            Dispose(result);
            throw;
        }

        return result;
    }

    /// <summary>The safetensors dtype code of an element type.</summary>
    private static string Code(DType dtype) => dtype switch
    {
        DType.Float64 => "F64",
        DType.Float32 => "F32",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Int64 => "I64",
        DType.Int32 => "I32",
        DType.Int16 => "I16",
        DType.Int8 => "I8",
        DType.UInt8 => "U8",
        _ => "BOOL",
    };

    /// <summary>Checks the data section's CRC-32 against the one the header records, when it records one.</summary>
    private static void CheckDataChecksum(SafeTensorsHeader header, uint actual, string source)
    {
        if (header.Metadata.TryGetValue(DataChecksumKey, out string? recorded)
            && !string.Equals(recorded, actual.ToString("x8", System.Globalization.CultureInfo.InvariantCulture), StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException(
                $"safetensors file '{source}': its data does not match the CRC-32 its header records ({recorded}, the data gives {actual:x8}); the file is damaged.");
        }
    }

    /// <summary>The total number of elements the tensors of validated safetensors bytes hold.</summary>
    internal static long CountElements(byte[] bytes, string source) => ParseHeader(bytes, source).Tensors.Sum(t => t.Count);

    private static FileStream OpenRead(string path) =>
        File.Exists(path)
            ? new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16)
            : throw new FileNotFoundException($"safetensors file '{path}' does not exist.", path);

    private static SafeTensorsHeader ParseHeader(byte[] bytes, string source)
    {
        int length = SafeTensorsHeader.ReadHeaderLength(bytes.AsSpan(0, Math.Min(8, bytes.Length)), bytes.Length, source);
        return SafeTensorsHeader.Parse(bytes.AsSpan(8, length), bytes.Length - 8L - length, source);
    }

    private static SafeTensorsHeader ReadHeader(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        Span<byte> first8 = stackalloc byte[8];
        int got = stream.ReadAtLeast(first8, 8, throwOnEndOfStream: false);
        int length = SafeTensorsHeader.ReadHeaderLength(first8[..got], fileLength, path);
        var json = new byte[length];
        stream.ReadExactly(json);
        return SafeTensorsHeader.Parse(json, fileLength - 8 - length, path);
    }

    private static List<SafeTensorEntry> Select(SafeTensorsHeader header, IEnumerable<string>? names, string path)
    {
        if (names is null)
        {
            // In file order: the tensors cover the data section end to end, so reading them in turn checksums all of it.
            return [.. header.Tensors.OrderBy(t => t.Begin)];
        }

        var wanted = new HashSet<string>(names, StringComparer.Ordinal);
        var found = header.Tensors.Where(t => wanted.Contains(t.Name)).ToList();
        if (found.Count != wanted.Count)
        {
            var missing = wanted.Except(found.Select(t => t.Name)).Order(StringComparer.Ordinal);
            throw new InvalidDataException($"safetensors file '{path}' has no tensor {string.Join(", ", missing.Select(n => $"'{n}'"))}.");
        }

        return found;
    }

    /// <summary>An uninitialized tensor for the entry, of the element type its dtype code names.</summary>
    private static Tensor NewTensor(SafeTensorEntry entry, string source, Device? device)
    {
        DType? dtype = entry.DType switch
        {
            "F64" => DType.Float64,
            "F32" => DType.Float32,
            "F16" => DType.Float16,
            "BF16" => DType.BFloat16,
            "I64" => DType.Int64,
            "I32" => DType.Int32,
            "I16" => DType.Int16,
            "I8" => DType.Int8,
            "U8" => DType.UInt8,
            "BOOL" => DType.Bool,
            _ => null,
        };
        if (dtype is null)
        {
            throw new InvalidDataException(
                $"safetensors file '{source}': tensor '{entry.Name}' has dtype {entry.DType}, which Lepton cannot load (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL).");
        }

        if (entry.Count > int.MaxValue)
        {
            throw new InvalidDataException(
                $"safetensors file '{source}': tensor '{entry.Name}' has {entry.Count} elements, more than one tensor can hold ({int.MaxValue}).");
        }

        return Tensor.Empty(entry.Shape, device ?? Device.Default, dtype.Value).DetachFromScope();
    }

    /// <summary>A BOOL tensor's bytes must each be 0 or 1.</summary>
    private static void CheckBools(SafeTensorEntry entry, ReadOnlySpan<byte> bytes, string source)
    {
        if (entry.DType == "BOOL" && bytes.IndexOfAnyExcept((byte)0, (byte)1) is int at and >= 0)
        {
            throw new InvalidDataException($"safetensors file '{source}': BOOL tensor '{entry.Name}' holds the byte {bytes[at]}, which is neither 0 nor 1.");
        }
    }

    private static void Dispose(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }
}
