// Argument checks of the int8 primitives (IQuantizedKernels), the same on every backend: a GPU kernel handed a buffer
// that is too small would read or write past it, so sizes, zero points and scales are refused before any launch,
// with a message that names the primitive. Every backend's int8 primitives call these.
namespace Lepton.Backends;

/// <summary>Validation of the int8 primitives' arguments.</summary>
internal static class QuantizedArguments
{
    /// <summary>The largest reduction depth whose int32 sum of products of (uint8 - zero point) and int8 cannot overflow.</summary>
    public const int MaxDepth = int.MaxValue / (255 * 128);

    /// <summary>Throws an <see cref="ArgumentException"/> naming <paramref name="op"/> unless <paramref name="ok"/>.</summary>
    /// <param name="ok">Whether the arguments are valid.</param>
    /// <param name="op">The primitive.</param>
    /// <param name="message">What is wrong.</param>
    public static void Check(bool ok, string op, string message)
    {
        if (!ok)
        {
            throw new ArgumentException($"{op}: {message}");
        }
    }

    /// <summary>Checks that <paramref name="buffer"/> holds <paramref name="count"/> elements of <paramref name="size"/> bytes.</summary>
    /// <param name="buffer">The buffer.</param>
    /// <param name="count">Elements the primitive touches.</param>
    /// <param name="size">Bytes per element.</param>
    /// <param name="op">The primitive.</param>
    /// <param name="name">The buffer's parameter name.</param>
    public static void Sized(DeviceBuffer buffer, long count, int size, string op, string name)
    {
        Check(count >= 0, op, $"{name} has a negative element count ({count}).");
        Check(buffer.ByteLength >= count * size, op, $"{name} holds {buffer.ByteLength} bytes; {count} elements of {size} bytes need {count * size}.");
    }

    /// <summary>The range of a quantized type: [0, 255] for uint8, [-127, 127] for int8.</summary>
    /// <param name="type">The quantized type.</param>
    /// <param name="op">The primitive.</param>
    public static (int Lo, int Hi) Range(DType type, string op) => type switch
    {
        DType.UInt8 => (0, 255),
        DType.Int8 => (-127, 127),
        _ => throw new ArgumentException($"{op}: the quantized type must be uint8 or int8, not {type.Name()}."),
    };

    /// <summary>Checks that a scale or multiplier is positive and finite.</summary>
    /// <param name="scale">The value.</param>
    /// <param name="op">The primitive.</param>
    /// <param name="name">The parameter's name.</param>
    public static void Scale(float scale, string op, string name = "scale") =>
        Check(scale > 0 && float.IsFinite(scale), op, $"{name} must be positive and finite, not {scale}.");

    /// <summary>Checks that a zero point lies in [lo, hi].</summary>
    /// <param name="zeroPoint">The zero point.</param>
    /// <param name="lo">Smallest value of the type.</param>
    /// <param name="hi">Largest value of the type.</param>
    /// <param name="op">The primitive.</param>
    /// <param name="name">The parameter's name.</param>
    public static void ZeroPoint(int zeroPoint, int lo, int hi, string op, string name) =>
        Check(zeroPoint >= lo && zeroPoint <= hi, op, $"{name} {zeroPoint} is outside [{lo}, {hi}].");

    /// <summary>Checks fake quantization's sizes and range; returns the element count.</summary>
    /// <param name="outer">Size of the leading dimension.</param>
    /// <param name="channels">Number of channels.</param>
    /// <param name="inner">Size of the trailing dimension.</param>
    /// <param name="qmin">Smallest quantized value.</param>
    /// <param name="qmax">Largest quantized value.</param>
    /// <param name="op">The primitive.</param>
    public static long FakeQuantize(int outer, int channels, int inner, int qmin, int qmax, string op)
    {
        Check(outer >= 0 && inner >= 0 && channels > 0, op, $"invalid sizes outer {outer}, channels {channels}, inner {inner}.");
        Check(qmin <= qmax, op, $"qmin {qmin} is above qmax {qmax}.");
        return (long)outer * channels * inner;
    }

    /// <summary>Checks an int8 layer's zero points and that its int32 sums cannot overflow.</summary>
    /// <param name="zx">The input's zero point.</param>
    /// <param name="zy">The output's zero point.</param>
    /// <param name="depth">Products summed per output.</param>
    /// <param name="op">The primitive.</param>
    public static void Layer(int zx, int zy, int depth, string op)
    {
        ZeroPoint(zx, 0, 255, op, nameof(zx));
        ZeroPoint(zy, 0, 255, op, "the output zero point");
        Check(depth <= MaxDepth, op, $"a depth of {depth} could overflow the int32 sums; at most {MaxDepth}.");
    }

    /// <summary>Checks the epilogue's buffers: a bias (when given) and a multiplier per output channel.</summary>
    /// <param name="epilogue">The epilogue.</param>
    /// <param name="channels">Output channels.</param>
    /// <param name="op">The primitive.</param>
    public static void Epilogue(in QuantizedEpilogue epilogue, int channels, string op)
    {
        if (epilogue.Bias is not null)
        {
            Sized(epilogue.Bias, channels, 4, op, "bias");
        }

        Sized(epilogue.Multipliers, channels, 4, op, "multipliers");
    }
}
