// CRC-32 (IEEE 802.3, the polynomial zip and gzip use), table-driven, so zip entries can be checked
// against the checksum their headers declare without a package dependency.
namespace Lepton.IO;

/// <summary>The CRC-32 checksum zip archives store for each entry.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = MakeTable();

    /// <summary>The CRC-32 of <paramref name="data"/>, continuing from <paramref name="crc"/> (0 to start).</summary>
    /// <param name="data">The bytes to checksum.</param>
    /// <param name="crc">The checksum of the bytes before these, or 0.</param>
    public static uint Compute(ReadOnlySpan<byte> data, uint crc = 0)
    {
        uint c = ~crc;
        var table = Table;
        foreach (byte b in data)
        {
            c = table[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    private static uint[] MakeTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
