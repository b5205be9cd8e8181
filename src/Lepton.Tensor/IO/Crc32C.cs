// CRC-32C (Castagnoli), table-driven, and the masked form TFRecord files store after each length
// and each record, so event files are written without a package dependency.
namespace Lepton.IO;

/// <summary>The CRC-32C checksum (polynomial 0x1EDC6F41, reflected 0x82F63B78) and its TFRecord masking.</summary>
internal static class Crc32C
{
    private static readonly uint[] Table = MakeTable();

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    /// <param name="data">The bytes to checksum.</param>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = ~0u;
        var table = Table;
        foreach (byte b in data)
        {
            c = table[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    /// <summary>The checksum rotated right by 15 bits plus a constant, as TFRecord stores it (a CRC of data that holds CRCs stays informative).</summary>
    /// <param name="data">The bytes to checksum.</param>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint crc = Compute(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8u);
    }

    private static uint[] MakeTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
