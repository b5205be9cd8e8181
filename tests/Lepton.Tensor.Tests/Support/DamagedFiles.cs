// Damaged copies of saved files for the reliability tests: zip archives rewritten entry by entry (so
// each CRC is valid and only the content is wrong), patched zip headers, and raw safetensors bytes.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Lepton.Tests.Support;

internal static class DamagedFiles
{
    /// <summary>Every entry of a zip archive, decompressed, in archive order.</summary>
    public static List<(string Name, byte[] Bytes)> ReadZip(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return [.. zip.Entries.Select(e =>
        {
            using var stream = e.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return (e.FullName, memory.ToArray());
        })];
    }

    /// <summary>Writes a zip archive with valid CRCs.</summary>
    public static void WriteZip(string path, IEnumerable<(string Name, byte[] Bytes)> entries, CompressionLevel level = CompressionLevel.Optimal)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var stream = zip.CreateEntry(name, level).Open();
            stream.Write(bytes);
        }
    }

    /// <summary>A copy of a zip archive with one entry's content replaced (re-zipped, so its CRC is valid).</summary>
    public static void ReplaceEntry(string source, string target, string name, Func<byte[], byte[]> change) =>
        WriteZip(target, [.. ReadZip(source).Select(e => e.Name == name ? (e.Name, change(e.Bytes)) : e)]);

    /// <summary>Where an entry's (compressed) data starts in a zip file, from its local header.</summary>
    public static int EntryDataOffset(byte[] zip, string name)
    {
        int at = LocalHeader(zip, name);
        return at + 30 + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 26)) + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(at + 28));
    }

    /// <summary>An entry's compressed size, from its local header.</summary>
    public static int EntryCompressedLength(byte[] zip, string name) => (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(LocalHeader(zip, name) + 18));

    /// <summary>Sets the uncompressed size an entry declares, in its local header and in the central directory.</summary>
    public static void PatchDeclaredLength(byte[] zip, string name, uint length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(LocalHeader(zip, name) + 22), length);
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        for (int at = 0; at + 46 <= zip.Length; at++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at)) == 0x02014b50 &&
                zip.AsSpan(at + 46, Math.Min(nameBytes.Length, zip.Length - at - 46)).SequenceEqual(nameBytes))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + 24), length);
                return;
            }
        }

        throw new InvalidOperationException($"no central directory entry {name}");
    }

    /// <summary>Safetensors bytes from a header and a data section (the length prefix computed).</summary>
    public static byte[] SafeTensors(string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    private static int LocalHeader(byte[] zip, string name)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        for (int at = 0; at + 30 <= zip.Length; at++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at)) == 0x04034b50 &&
                zip.AsSpan(at + 30, Math.Min(nameBytes.Length, zip.Length - at - 30)).SequenceEqual(nameBytes))
            {
                return at;
            }
        }

        throw new InvalidOperationException($"no local header for {name}");
    }
}
