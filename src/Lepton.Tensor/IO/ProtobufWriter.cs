// The few protocol-buffer encodings event files need, written by hand: varints, 64- and 32-bit
// fixed values, length-delimited strings, nested messages and packed doubles.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Lepton.IO;

/// <summary>Appends protobuf fields to a growing buffer; a nested message is written by a writer of its own.</summary>
internal sealed class ProtobufWriter
{
    private const int Varint = 0;
    private const int Fixed64 = 1;
    private const int LengthDelimited = 2;
    private const int Fixed32 = 5;

    private readonly ArrayBufferWriter<byte> buffer = new(256);

    /// <summary>The encoded message so far.</summary>
    public ReadOnlySpan<byte> Written => buffer.WrittenSpan;

    /// <summary>A <c>double</c> field (fixed64).</summary>
    public void Double(int field, double value)
    {
        Tag(field, Fixed64);
        BinaryPrimitives.WriteDoubleLittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    /// <summary>A <c>float</c> field (fixed32).</summary>
    public void Float(int field, float value)
    {
        Tag(field, Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    /// <summary>An <c>int64</c> field (varint; negative values take ten bytes, as protobuf encodes them).</summary>
    public void Int64(int field, long value)
    {
        Tag(field, Varint);
        WriteVarint(unchecked((ulong)value));
    }

    /// <summary>A <c>string</c> field, UTF-8.</summary>
    public void String(int field, string value)
    {
        Tag(field, LengthDelimited);
        int length = Encoding.UTF8.GetByteCount(value);
        WriteVarint((ulong)length);
        Encoding.UTF8.GetBytes(value, buffer.GetSpan(length));
        buffer.Advance(length);
    }

    /// <summary>A nested message field holding what <paramref name="message"/> has written.</summary>
    public void Message(int field, ProtobufWriter message) => Bytes(field, message.Written);

    /// <summary>A <c>repeated double</c> field in packed form (one length, then the values).</summary>
    public void PackedDoubles(int field, ReadOnlySpan<double> values)
    {
        Tag(field, LengthDelimited);
        WriteVarint((ulong)values.Length * 8);
        var span = buffer.GetSpan(values.Length * 8);
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], values[i]);
        }

        buffer.Advance(values.Length * 8);
    }

    private void Bytes(int field, ReadOnlySpan<byte> bytes)
    {
        Tag(field, LengthDelimited);
        WriteVarint((ulong)bytes.Length);
        bytes.CopyTo(buffer.GetSpan(bytes.Length));
        buffer.Advance(bytes.Length);
    }

    private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong value)
    {
        var span = buffer.GetSpan(10);
        int n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        buffer.Advance(n);
    }
}
