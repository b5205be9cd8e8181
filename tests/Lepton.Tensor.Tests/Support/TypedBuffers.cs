// Raw typed data for backend-level tests: random values of every element type with the edge values that
// conversions and integer arithmetic get wrong, and one buffer uploaded to two backends, compared byte for byte.
using System.Runtime.InteropServices;
using Lepton.Backends;

namespace Lepton.Tests.Support;

/// <summary>The same bytes on the CPU backend and on a candidate backend.</summary>
public sealed class BufferPair : IDisposable
{
    private BufferPair(IBackend cpu, IBackend other, DeviceBuffer onCpu, DeviceBuffer onOther)
    {
        Cpu = cpu;
        Other = other;
        OnCpu = onCpu;
        OnOther = onOther;
    }

    public IBackend Cpu { get; }

    public IBackend Other { get; }

    public DeviceBuffer OnCpu { get; }

    public DeviceBuffer OnOther { get; }

    public long Bytes => OnCpu.ByteLength;

    /// <summary>Uploads <paramref name="data"/> to both backends.</summary>
    public static BufferPair Of(IBackend cpu, IBackend other, byte[] data)
    {
        var c = cpu.AllocateBytes(data.Length);
        var o = other.AllocateBytes(data.Length);
        cpu.UploadBytes(data, c, 0);
        other.UploadBytes(data, o, 0);
        return new BufferPair(cpu, other, c, o);
    }

    /// <summary>A pair of <paramref name="bytes"/> bytes holding the same filler, so untouched bytes compare equal.</summary>
    public static BufferPair Blank(IBackend cpu, IBackend other, long bytes)
    {
        var filler = new byte[bytes];
        Array.Fill(filler, (byte)0xA5);
        return Of(cpu, other, filler);
    }

    public byte[] ReadCpu() => Read(Cpu, OnCpu);

    public byte[] ReadOther() => Read(Other, OnOther);

    /// <summary>
    /// Throws, naming the first differing element, unless both backends hold the same bytes. With
    /// <paramref name="arithmetic"/> (a floating type whose values came from arithmetic), two NaNs count as equal whatever
    /// their payloads: which NaN an operation on two NaN inputs returns depends on the operand order a compiler picked.
    /// </summary>
    public void AssertSame(int elementSize, string what, DType? arithmetic = null)
    {
        byte[] c = ReadCpu(), o = ReadOther();
        for (int i = 0; i < c.Length; i++)
        {
            if (c[i] != o[i])
            {
                int e = i / elementSize;
                if (arithmetic is DType t && BothNaN(t, c, o, e * t.Size()))
                {
                    i = ((e + 1) * elementSize) - 1;
                    continue;
                }

                string Hex(byte[] b) => Convert.ToHexString(b, e * elementSize, Math.Min(elementSize, b.Length - (e * elementSize)));
                throw new Xunit.Sdk.XunitException($"{what}: element {e} differs: cpu {Hex(c)}, other {Hex(o)} (little-endian bytes).");
            }
        }
    }

    private static bool BothNaN(DType type, byte[] c, byte[] o, int at) => type switch
    {
        DType.Float32 => float.IsNaN(BitConverter.ToSingle(c, at)) && float.IsNaN(BitConverter.ToSingle(o, at)),
        DType.Float64 => double.IsNaN(BitConverter.ToDouble(c, at)) && double.IsNaN(BitConverter.ToDouble(o, at)),
        _ => false,
    };

    public void Dispose()
    {
        Cpu.Pool.Return(OnCpu);
        Other.Pool.Return(OnOther);
    }

    private static byte[] Read(IBackend backend, DeviceBuffer buffer)
    {
        var bytes = new byte[buffer.ByteLength];
        backend.DownloadBytes(buffer, 0, bytes);
        return bytes;
    }
}

/// <summary>Random values of each element type, edge values first.</summary>
public static class TypedData
{
    public static readonly float[] FloatEdges =
    [
        0f, -0f, 1f, -1f, float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0.5f, 1.5f, 2.5f, -2.5f,
        2.9f, -2.9f, 1e10f, -1e10f, 127.5f, 128f, -128.5f, -129f, 255.5f, 256f, 32767.5f, 65504f, 65519.99f, 65520f,
        2147483520f, 2147483648f, -2147483648f, 9.223372E18f, -9.223372E18f, 1e-8f, 2.9802322E-8f, 6.1e-5f,
        float.Epsilon, float.MaxValue, float.MinValue, 16777217f, BitConverter.Int32BitsToSingle(0x7FA00001),
        BitConverter.Int32BitsToSingle(unchecked((int)0xFF812345)),
    ];

    public static readonly double[] DoubleEdges =
    [
        0, -0.0, 1, -1, double.NaN, -double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.5, 2.5, -2.5, 2.9,
        -2.9, 1e10, -1e10, 127.999, 128, -128.5, -129, 255.5, 256, 65504, 65519.999999, 65520, 2147483647.5,
        2147483648, -2147483649, 9.2233720368547758E18, -9.2233720368547758E18, 1e300, -1e300, 2.9802322387695312E-8,
        2.980232238769532E-8, 1e-320, 16777217, 1.0000000596046448, 1.00048828125, 1.000732421875,
    ];

    public static readonly long[] IntegerEdges =
    [
        0, 1, -1, 2, -2, 100, 127, -128, 128, 255, 256, 32767, -32768, 65535, 16777217, int.MaxValue, int.MinValue,
        uint.MaxValue, long.MaxValue, long.MinValue, 3, -7, 7,
    ];

    /// <summary>n values of <paramref name="type"/> as bytes: the type's edge values, then random ones.</summary>
    public static byte[] Values(DType type, int n, Random rng)
    {
        var bytes = new byte[n * type.Size()];
        for (int i = 0; i < n; i++)
        {
            Write(type, bytes, i, i, rng);
        }

        return bytes;
    }

    /// <summary>Integers of <paramref name="type"/> with every 0 replaced by 1 (integer division's divisors).</summary>
    public static byte[] NonZero(DType type, byte[] values)
    {
        var copy = (byte[])values.Clone();
        int size = type.Size();
        for (int i = 0; i < copy.Length; i += size)
        {
            if (copy.AsSpan(i, size).IndexOfAnyExcept((byte)0) < 0)
            {
                copy[i] = 1;
            }
        }

        return copy;
    }

    /// <summary>The edge values of <paramref name="type"/> alone.</summary>
    public static byte[] Edges(DType type) => Values(type, EdgeCount(type), new Random(0));

    public static int EdgeCount(DType type) => type switch
    {
        DType.Float32 or DType.Float16 or DType.BFloat16 => FloatEdges.Length,
        DType.Float64 => DoubleEdges.Length,
        DType.Bool => 2,
        _ => IntegerEdges.Length,
    };

    public static byte[] Bytes<T>(ReadOnlySpan<T> values)
        where T : unmanaged => MemoryMarshal.AsBytes(values).ToArray();

    private static void Write(DType type, byte[] bytes, int at, int i, Random rng)
    {
        var span = bytes.AsSpan(at * type.Size());
        bool edge = i < EdgeCount(type);
        switch (type)
        {
            case DType.Float32:
                MemoryMarshal.Write(span, edge ? FloatEdges[i] : RandomFloat(rng));
                break;
            case DType.Float64:
                MemoryMarshal.Write(span, edge ? DoubleEdges[i] : RandomFloat(rng) * (1 + (rng.NextDouble() * 1e-7)));
                break;
            case DType.Float16:
                MemoryMarshal.Write(span, edge ? BitConverter.HalfToUInt16Bits((Half)FloatEdges[i]) : (ushort)rng.Next(65536));
                break;
            case DType.BFloat16:
                MemoryMarshal.Write(span, edge ? ElementConversions.ToBFloat16(FloatEdges[i]) : (ushort)rng.Next(65536));
                break;
            case DType.Bool:
                span[0] = (byte)(edge ? i : rng.Next(2));
                break;
            default:
                long v = edge ? IntegerEdges[i] : rng.NextInt64();
                if (!edge && rng.Next(2) == 0)
                {
                    v = rng.Next(-300, 300);
                }

                MemoryMarshal.AsBytes(new ReadOnlySpan<long>(in v))[..type.Size()].CopyTo(span);
                break;
        }
    }

    private static float RandomFloat(Random rng) => rng.Next(4) switch
    {
        0 => BitConverter.Int32BitsToSingle(rng.Next() | (rng.Next(2) << 31)),
        1 => (float)((rng.NextDouble() - 0.5) * 600),
        2 => (float)rng.Next(-5, 5),
        _ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-10, 21))),
    };
}
