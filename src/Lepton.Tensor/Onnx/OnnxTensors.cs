// Converting between ONNX TensorProto messages and our tensors and arrays: float32/int32/int64 written
// as little-endian raw_data; float16/float/double and the integer types read from raw_data or the typed
// fields, with the element count checked against the dimensions.
using System.Runtime.InteropServices;
using Google.Protobuf;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

/// <summary>TensorProto conversions.</summary>
internal static class OnnxTensors
{
    /// <summary>The ONNX element type of one of ours (float32, int32, int64 and bool carry over).</summary>
    public static int ElementType(DType dtype) => dtype switch
    {
        DType.Float32 or DType.Float16 or DType.BFloat16 or DType.Float64 => (int)TensorProto.Types.DataType.Float,
        DType.Int32 => (int)TensorProto.Types.DataType.Int32,
        DType.Int64 => (int)TensorProto.Types.DataType.Int64,
        DType.Bool => (int)TensorProto.Types.DataType.Bool,
        _ => throw new NotSupportedException($"ONNX export: element type {dtype.Name()} is not exported."),
    };

    /// <summary>Our element type for a model input of this ONNX type.</summary>
    public static DType? InputType(int elementType) => (TensorProto.Types.DataType)elementType switch
    {
        TensorProto.Types.DataType.Float => DType.Float32,
        TensorProto.Types.DataType.Int32 => DType.Int32,
        TensorProto.Types.DataType.Int64 => DType.Int64,
        _ => null,
    };

    /// <summary>A float32 initializer holding a weight's values (16-bit weights are widened).</summary>
    public static TensorProto FromTensor(string name, Tensor value)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(value.ShapeRef.Select(d => (long)d));
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(value.ToArray<float>().AsSpan()));
        return proto;
    }

    /// <summary>A float32 initializer.</summary>
    public static TensorProto FromFloats(string name, float[] values, int[] dims)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(dims.Select(d => (long)d));
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return proto;
    }

    /// <summary>An int64 initializer (shapes, pads, axes).</summary>
    public static TensorProto FromInt64s(string name, long[] values, int[] dims)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.AddRange(dims.Select(d => (long)d));
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return proto;
    }

    /// <summary>The dimensions, each checked to fit an int.</summary>
    public static int[] Dims(TensorProto t) =>
        [.. t.Dims.Select(d => d is >= 0 and <= int.MaxValue ? (int)d : throw new InvalidDataException($"tensor '{t.Name}' has dimension {d}."))];

    /// <summary>Whether the tensor holds integers.</summary>
    public static bool IsInteger(TensorProto t) => (TensorProto.Types.DataType)t.DataType is
        TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Int16
        or TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool;

    /// <summary>The values of a floating or integer tensor as float32.</summary>
    public static float[] ReadFloats(TensorProto t)
    {
        long count = Count(t);
        CheckStoredHere(t);
        var type = (TensorProto.Types.DataType)t.DataType;
        if (IsInteger(t))
        {
            return [.. ReadInt64s(t).Select(v => (float)v)];
        }

        if (t.RawData.Length > 0)
        {
            var raw = t.RawData.Span;
            return type switch
            {
                TensorProto.Types.DataType.Float => Raw<float>(t, raw, count, 4),
                TensorProto.Types.DataType.Double => [.. Raw<double>(t, raw, count, 8).Select(v => (float)v)],
                TensorProto.Types.DataType.Float16 => [.. Raw<Half>(t, raw, count, 2).Select(v => (float)v)],
                _ => throw Unsupported(t),
            };
        }

        float[] values = type switch
        {
            TensorProto.Types.DataType.Float => [.. t.FloatData],
            TensorProto.Types.DataType.Double => [.. t.DoubleData.Select(v => (float)v)],
            TensorProto.Types.DataType.Float16 => [.. t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v))],
            _ => throw Unsupported(t),
        };
        return values.Length == count ? values : throw CountMismatch(t, values.Length, count);
    }

    /// <summary>The values of an integer tensor as int64.</summary>
    public static long[] ReadInt64s(TensorProto t)
    {
        long count = Count(t);
        CheckStoredHere(t);
        var type = (TensorProto.Types.DataType)t.DataType;
        if (t.RawData.Length > 0)
        {
            var raw = t.RawData.Span;
            return type switch
            {
                TensorProto.Types.DataType.Int64 => Raw<long>(t, raw, count, 8),
                TensorProto.Types.DataType.Int32 => [.. Raw<int>(t, raw, count, 4).Select(v => (long)v)],
                TensorProto.Types.DataType.Int16 => [.. Raw<short>(t, raw, count, 2).Select(v => (long)v)],
                TensorProto.Types.DataType.Int8 => [.. Raw<sbyte>(t, raw, count, 1).Select(v => (long)v)],
                TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => [.. Raw<byte>(t, raw, count, 1).Select(v => (long)v)],
                _ => throw Unsupported(t),
            };
        }

        long[] values = type switch
        {
            TensorProto.Types.DataType.Int64 => [.. t.Int64Data],
            TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Int8
                or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => [.. t.Int32Data.Select(v => (long)v)],
            _ => throw Unsupported(t),
        };
        return values.Length == count ? values : throw CountMismatch(t, values.Length, count);
    }

    private static long Count(TensorProto t)
    {
        long count = 1;
        foreach (int d in Dims(t))
        {
            count *= d;
            if (count > int.MaxValue)
            {
                throw new InvalidDataException($"tensor '{t.Name}' of shape [{string.Join(", ", t.Dims)}] is too large.");
            }
        }

        return count;
    }

    private static void CheckStoredHere(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            throw new InvalidDataException($"tensor '{t.Name}' is stored in an external file, which is not supported; save the model with its weights inside.");
        }
    }

    private static T[] Raw<T>(TensorProto t, ReadOnlySpan<byte> raw, long count, int size)
        where T : unmanaged
    {
        if (raw.Length != count * size)
        {
            throw new InvalidDataException($"tensor '{t.Name}' of shape [{string.Join(", ", t.Dims)}] holds {raw.Length} bytes of data, not {count * size}; the file is damaged.");
        }

        var values = MemoryMarshal.Cast<byte, T>(raw).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw data is little-endian; big-endian machines are not supported.");
        }

        return values;
    }

    private static InvalidDataException CountMismatch(TensorProto t, long found, long expected) =>
        new($"tensor '{t.Name}' of shape [{string.Join(", ", t.Dims)}] holds {found} values, not {expected}; the file is damaged.");

    private static InvalidDataException Unsupported(TensorProto t) =>
        new($"tensor '{t.Name}' has element type {(TensorProto.Types.DataType)t.DataType}, which is not supported here.");
}
