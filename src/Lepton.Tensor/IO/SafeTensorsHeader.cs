// The validated header of a safetensors file, checked the way the reference implementation checks
// it: a sane length, JSON entries of {dtype, shape, data_offsets}, and tensors that tile the data.
using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Lepton.IO;

/// <summary>One tensor declared by a safetensors header; offsets are relative to the data section.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">The safetensors dtype code, e.g. <c>F32</c>.</param>
/// <param name="Shape">The shape.</param>
/// <param name="Count">The number of elements (the product of the shape).</param>
/// <param name="Begin">The first byte in the data section.</param>
/// <param name="End">One past the last byte in the data section.</param>
internal sealed record SafeTensorEntry(string Name, string DType, int[] Shape, long Count, long Begin, long End);

/// <summary>
/// A safetensors header that has passed every check: the tensors, sorted by offset, cover the data section from
/// its first to its last byte with no gap and no overlap, and each holds exactly its shape's element count.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private SafeTensorsHeader(long dataStart, List<SafeTensorEntry> tensors, Dictionary<string, string> metadata)
    {
        DataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Where the data section starts in the file: 8 + the header length.</summary>
    public long DataStart { get; }

    /// <summary>The tensors in the order of their offsets.</summary>
    public IReadOnlyList<SafeTensorEntry> Tensors { get; }

    /// <summary>The string metadata (<c>__metadata__</c>), empty when there is none.</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>The byte size of one element of a safetensors dtype, or 0 for an unknown dtype.</summary>
    /// <param name="dtype">The dtype code.</param>
    public static int ElementSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" => 8,
        _ => 0,
    };

    /// <summary>The header length declared by the first 8 bytes, checked against the file's length.</summary>
    /// <param name="first8">The file's first 8 bytes (fewer when the file is shorter).</param>
    /// <param name="fileLength">The whole file's length in bytes.</param>
    /// <param name="source">The file's name, for errors.</param>
    public static int ReadHeaderLength(ReadOnlySpan<byte> first8, long fileLength, string source)
    {
        if (fileLength < 8 || first8.Length < 8)
        {
            throw new InvalidDataException($"safetensors file '{source}' is truncated: {fileLength} bytes, not even the 8-byte header length.");
        }

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(first8);
        if (length > MaxHeaderBytes)
        {
            throw new InvalidDataException(
                $"safetensors file '{source}' declares a {length}-byte header, more than the {MaxHeaderBytes}-byte limit; it is corrupt or not a safetensors file.");
        }

        if ((long)length > fileLength - 8)
        {
            throw new InvalidDataException(
                $"safetensors file '{source}' declares a {length}-byte header but has {fileLength - 8} bytes after the length; it is truncated or not a safetensors file.");
        }

        if (length < 2)
        {
            throw new InvalidDataException($"safetensors file '{source}' declares a {length}-byte header, too short for a JSON object.");
        }

        return (int)length;
    }

    /// <summary>Parses and validates the JSON header.</summary>
    /// <param name="json">The header bytes (after the 8-byte length).</param>
    /// <param name="dataLength">The bytes in the file after the header.</param>
    /// <param name="source">The file's name, for errors.</param>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string source)
    {
        if (!Utf8.IsValid(json))
        {
            throw new InvalidDataException($"safetensors file '{source}' has a header that is not valid UTF-8; it is corrupt.");
        }

        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            doc = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                throw new JsonException("there is more after the header's JSON object");
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"safetensors file '{source}' has a header that is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"safetensors file '{source}' has a header that is a JSON {doc.RootElement.ValueKind}, not an object of tensors.");
            }

            var tensors = new List<SafeTensorEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name))
                {
                    throw new InvalidDataException($"safetensors file '{source}' declares '{entry.Name}' twice in its header.");
                }

                if (entry.Name == "__metadata__")
                {
                    ReadMetadata(entry.Value, metadata, source);
                }
                else
                {
                    tensors.Add(ReadEntry(entry, source));
                }
            }

            CheckLayout(tensors, dataLength, source);
            return new SafeTensorsHeader(8 + json.Length, tensors, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"safetensors file '{source}' has __metadata__ that is a JSON {value.ValueKind}, not an object of strings.");
        }

        foreach (var item in value.EnumerateObject())
        {
            metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                ? item.Value.GetString()!
                : throw new InvalidDataException($"safetensors file '{source}' has metadata '{item.Name}' that is a JSON {item.Value.ValueKind}, not a string.");
        }
    }

    private static SafeTensorEntry ReadEntry(JsonProperty entry, string source)
    {
        string name = entry.Name;
        string where = $"safetensors file '{source}': tensor '{name}'";
        if (entry.Value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{where} is a JSON {entry.Value.ValueKind}, not an object of dtype, shape and data_offsets.");
        }

        string dtype = entry.Value.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()!
            : throw new InvalidDataException($"{where} has no \"dtype\" string.");
        int size = ElementSize(dtype);
        if (size == 0)
        {
            throw new InvalidDataException($"{where} has unknown dtype '{dtype}'.");
        }

        var shapeArray = RequireArray(entry.Value, "shape", where);
        var shape = new int[shapeArray.GetArrayLength()];
        long count = 1;
        int axis = 0;
        foreach (var dim in shapeArray.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size64) || size64 < 0)
            {
                throw new InvalidDataException($"{where} has shape dimension {axis} = {dim.GetRawText()}, not a non-negative integer.");
            }

            if (size64 > int.MaxValue)
            {
                throw new InvalidDataException($"{where} has shape dimension {axis} = {size64}, more than a tensor dimension can hold ({int.MaxValue}).");
            }

            shape[axis++] = (int)size64;
            count = Multiply(count, size64, where);
        }

        var offsetArray = RequireArray(entry.Value, "data_offsets", where);
        if (offsetArray.GetArrayLength() != 2)
        {
            throw new InvalidDataException($"{where} has {offsetArray.GetArrayLength()} data_offsets; it needs exactly [begin, end].");
        }

        long begin = Offset(offsetArray[0], where);
        long end = Offset(offsetArray[1], where);
        if (end < begin)
        {
            throw new InvalidDataException($"{where} has data_offsets [{begin}, {end}] that end before they begin.");
        }

        long bytes = Multiply(count, size, where);
        if (end - begin != bytes)
        {
            throw new InvalidDataException(
                $"{where} ({dtype} {Shapes.Format(shape)}) needs {bytes} bytes but its data_offsets [{begin}, {end}] span {end - begin}.");
        }

        return new SafeTensorEntry(name, dtype, shape, count, begin, end);
    }

    /// <summary>The tensors, sorted by offset, must tile the data section exactly.</summary>
    private static void CheckLayout(List<SafeTensorEntry> tensors, long dataLength, string source)
    {
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (var t in tensors)
        {
            if (t.Begin != expected)
            {
                string problem = t.Begin > expected ? $"leaves a gap: the data before it ends at {expected}" : $"overlaps the tensor before it, which ends at {expected}";
                throw new InvalidDataException($"safetensors file '{source}': tensor '{t.Name}' at data_offsets [{t.Begin}, {t.End}] {problem}; the header is corrupt.");
            }

            expected = t.End;
        }

        if (expected > dataLength)
        {
            throw new InvalidDataException(
                $"safetensors file '{source}' is truncated: its tensors need {expected} bytes of data but only {dataLength} follow the header.");
        }

        if (expected < dataLength)
        {
            throw new InvalidDataException(
                $"safetensors file '{source}' has {dataLength - expected} bytes after its last tensor (its tensors cover {expected} of {dataLength} data bytes); it is corrupt.");
        }
    }

    private static JsonElement RequireArray(JsonElement entry, string key, string where) =>
        entry.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Array
            ? value
            : throw new InvalidDataException($"{where} has no \"{key}\" array.");

    private static long Offset(JsonElement value, string where) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long offset) && offset >= 0
            ? offset
            : throw new InvalidDataException($"{where} has data offset {value.GetRawText()}, not a non-negative 64-bit integer.");

    private static long Multiply(long a, long b, string where)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{where} has a shape whose size overflows 64 bits; the header is corrupt.");
        }
    }
}
