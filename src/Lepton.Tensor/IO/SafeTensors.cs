// The safetensors format (readable by PyTorch, JAX and Hugging Face tools): an 8-byte little-endian
// header length, a JSON header mapping names to {dtype, shape, data_offsets}, then raw
// little-endian data. Reading validates every offset and names the file and the problem.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Lepton.IO;

/// <summary>Reads and writes named tensors in the safetensors format.</summary>
public static class SafeTensors
{
    /// <summary>Writes tensors (float32 as F32, int32 as I32) to a stream.</summary>
    /// <example><code>SafeTensors.Write(stream, [("dense/kernel", w)]);</code></example>
    public static void Write(Stream stream, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object>();
        if (metadata is not null)
        {
            header["__metadata__"] = metadata;
        }

        long offset = 0;
        foreach (var (name, value) in items)
        {
            long bytes = 4L * value.Numel;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = value.DType == DType.Int32 ? "I32" : value.DType == DType.Float32 ? "F32" : throw new NotSupportedException($"SafeTensors: cannot store {value.DType.Name()} yet."),
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

        foreach (var (_, value) in items)
        {
            var data = value.ToArray();
            if (value.DType == DType.Int32)
            {
                var ints = Array.ConvertAll(data, v => (int)v);
                stream.Write(MemoryMarshal.AsBytes(ints.AsSpan()));
            }
            else
            {
                stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            }
        }
    }

    /// <summary>Writes a file atomically.</summary>
    /// <example><code>SafeTensors.Save("weights.safetensors", model.Weights.Select(w => (w.Name, w.Value)));</code></example>
    public static void Save(string path, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, s => Write(s, tensors, metadata));

    /// <summary>Reads every tensor of a safetensors file (F32 and I32; F64, F16 and BF16 are converted to float32).</summary>
    /// <example><code>var tensors = SafeTensors.Load("weights.safetensors");</code></example>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"safetensors file '{path}' does not exist.", path);
        }

        return Read(File.ReadAllBytes(path), path, device);
    }

    /// <summary>The string metadata of a safetensors file's header (empty when it has none).</summary>
    public static Dictionary<string, string> ReadMetadata(byte[] bytes, string source)
    {
        var result = new Dictionary<string, string>();
        if (bytes.Length < 8)
        {
            throw new InvalidDataException($"safetensors file '{source}' is truncated: {bytes.Length} bytes.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8))
        {
            throw new InvalidDataException($"safetensors file '{source}' declares a {headerLength}-byte header but is shorter; it is truncated.");
        }

        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        if (doc.RootElement.TryGetProperty("__metadata__", out var metadata))
        {
            foreach (var item in metadata.EnumerateObject())
            {
                result[item.Name] = item.Value.GetString() ?? string.Empty;
            }
        }

        return result;
    }

    /// <summary>Parses safetensors bytes; <paramref name="source"/> names them in errors.</summary>
    public static Dictionary<string, Tensor> Read(byte[] bytes, string source, Device? device = null)
    {
        if (bytes.Length < 8)
        {
            throw new InvalidDataException($"safetensors file '{source}' is truncated: {bytes.Length} bytes, not even the 8-byte header length.");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8))
        {
            throw new InvalidDataException($"safetensors file '{source}' declares a {headerLength}-byte header but has {bytes.Length - 8} bytes after the length; it is truncated or not a safetensors file.");
        }

        int dataStart = 8 + (int)headerLength;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"safetensors file '{source}' has a header that is not valid JSON: {e.Message}", e);
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (doc)
        {
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    continue;
                }

                string dtype = entry.Value.GetProperty("dtype").GetString() ?? string.Empty;
                int[] shape = [.. entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32())];
                long[] offsets = [.. entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64())];
                int size = dtype switch { "F32" or "I32" => 4, "F64" or "I64" => 8, "F16" or "BF16" => 2, _ => throw new InvalidDataException($"safetensors file '{source}': tensor '{entry.Name}' has unsupported dtype '{dtype}'.") };
                long count = shape.Aggregate(1L, (a, d) => a * d);
                if (offsets.Length != 2 || offsets[1] - offsets[0] != count * size || offsets[0] < 0 || dataStart + offsets[1] > bytes.Length)
                {
                    throw new InvalidDataException(
                        $"safetensors file '{source}': tensor '{entry.Name}' ({dtype} {Shapes.Format(shape)}) has data offsets [{string.Join(", ", offsets)}] that do not fit its size or the file ({bytes.Length - dataStart} data bytes); the file is truncated or corrupt.");
                }

                var span = bytes.AsSpan(dataStart + (int)offsets[0], (int)(count * size));
                var values = new float[count];
                for (int i = 0; i < count; i++)
                {
                    values[i] = dtype switch
                    {
                        "F32" => BinaryPrimitives.ReadSingleLittleEndian(span[(i * 4)..]),
                        "I32" => BinaryPrimitives.ReadInt32LittleEndian(span[(i * 4)..]),
                        "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(span[(i * 8)..]),
                        "I64" => BinaryPrimitives.ReadInt64LittleEndian(span[(i * 8)..]),
                        "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(span[(i * 2)..]),
                        _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span[(i * 2)..]) << 16),
                    };
                }

                var dt = dtype is "I32" or "I64" ? DType.Int32 : DType.Float32;
                result[entry.Name] = Tensor.FromArray(values, shape, dt, device).DetachFromScope();
            }
        }

        return result;
    }
}
