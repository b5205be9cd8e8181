// Seeded mutations for the file-reader fuzz tests: byte-level damage (truncation, bit flips, header
// fields set to zero, negative, huge or overflowing values) and JSON damage that stays parseable or not.
using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace Lepton.Tests.Support;

internal static class FuzzMutations
{
    /// <summary>32-bit values a damaged header field takes: zero, negative, huge and overflowing.</summary>
    public static readonly uint[] FieldValues = [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000, 0xFFFF, 100, 3073];

    private static readonly Func<JsonNode?>[] JsonValues =
    [
        () => 0, () => -1, () => 2147483647, () => 2147483648L, () => 4294967296L, () => long.MaxValue, () => long.MinValue,
        () => 65536, () => 1e308, () => 0.5, () => "x", () => string.Empty, () => null, () => true, () => false,
        () => new JsonArray(), () => new JsonObject(), () => new JsonArray(3), () => new JsonArray(0, 0),
        () => new JsonArray(65536, 65536, 65536, 65536), () => new JsonArray(-1, 2),
    ];

    /// <summary>One byte-level mutation; <paramref name="fields"/> are offsets of 4-byte header fields worth hitting.</summary>
    public static (string Name, byte[] Bytes) Bytes(byte[] original, Random rng, IReadOnlyList<int> fields, bool bigEndian)
    {
        var b = (byte[])original.Clone();
        switch (rng.Next(8))
        {
            case 0:
                int keep = rng.Next(b.Length);
                return ($"truncate to {keep}", b[..keep]);
            case 1:
                int flips = 1 + rng.Next(4);
                for (int i = 0; i < flips; i++)
                {
                    b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                }

                return ($"flip {flips} bits", b);
            case 2 or 3:
                int at = fields[rng.Next(fields.Count)];
                uint value = FieldValues[rng.Next(FieldValues.Length)];
                if (at + 4 <= b.Length)
                {
                    if (bigEndian)
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), value);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), value);
                    }
                }

                return ($"field at {at} = 0x{value:x}", b);
            case 4:
                int start = rng.Next(b.Length);
                int run = Math.Min(1 + rng.Next(16), b.Length - start);
                byte fill = rng.Next(2) == 0 ? (byte)0 : (byte)0xFF;
                b.AsSpan(start, run).Fill(fill);
                return ($"fill {run} bytes at {start} with 0x{fill:x2}", b);
            case 5:
                var extra = new byte[1 + rng.Next(4000)];
                rng.NextBytes(extra);
                return ($"append {extra.Length} bytes", [.. b, .. extra]);
            case 6:
                int from = rng.Next(b.Length);
                int count = Math.Min(1 + rng.Next(64), b.Length - from);
                return ($"delete {count} bytes at {from}", [.. b[..from], .. b[(from + count)..]]);
            default:
                int header = Math.Min(b.Length, 64);
                int pos = rng.Next(header);
                b[pos] = (byte)rng.Next(256);
                return ($"header byte {pos} = {b[pos]}", b);
        }
    }

    /// <summary>One JSON mutation: a value replaced, a key removed or renamed, or the text itself damaged.</summary>
    public static (string Name, string Json) Json(string json, Random rng)
    {
        if (rng.Next(5) == 0)
        {
            int at = rng.Next(json.Length);
            return rng.Next(3) switch
            {
                0 => ($"json truncated at {at}", json[..at]),
                1 => ($"json char {at} deleted", json.Remove(at, 1)),
                _ => ($"json char inserted at {at}", json.Insert(at, "{}[],:\"0a-"[rng.Next(10)].ToString())),
            };
        }

        var root = JsonNode.Parse(json)!;
        var slots = new List<(JsonNode Parent, string? Key, int Index)>();
        Collect(root, slots);
        var (parent, key, index) = slots[rng.Next(slots.Count)];
        string where = key ?? $"[{index}]";
        switch (rng.Next(4))
        {
            case 0 when parent is JsonObject o:
                o.Remove(key!);
                return ($"removed '{where}'", root.ToJsonString());
            case 1 when parent is JsonObject o:
                var moved = o[key!];
                o.Remove(key!);
                o[key + "_"] = moved;
                return ($"renamed '{where}'", root.ToJsonString());
            default:
                var value = JsonValues[rng.Next(JsonValues.Length)]();
                string text = value?.ToJsonString() ?? "null";
                if (parent is JsonObject obj)
                {
                    obj[key!] = value;
                }
                else
                {
                    ((JsonArray)parent)[index] = value;
                }

                return ($"'{where}' = {text}", root.ToJsonString());
        }
    }

    /// <summary>Safetensors bytes with the header replaced (the length prefix recomputed, the data kept).</summary>
    public static byte[] WithSafeTensorsHeader(byte[] original, Func<string, string> change)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        string header = change(Encoding.UTF8.GetString(original, 8, length));
        return DamagedFiles.SafeTensors(header, original[(8 + length)..]);
    }

    private static void Collect(JsonNode node, List<(JsonNode Parent, string? Key, int Index)> slots)
    {
        if (node is JsonObject o)
        {
            foreach (var (key, child) in o)
            {
                slots.Add((o, key, -1));
                if (child is not null)
                {
                    Collect(child, slots);
                }
            }
        }
        else if (node is JsonArray a)
        {
            for (int i = 0; i < a.Count; i++)
            {
                slots.Add((a, null, i));
                if (a[i] is { } child)
                {
                    Collect(child, slots);
                }
            }
        }
    }
}
