// Creating tensors (constants, ranges, arrays, seeded random) and reading their values back.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>A tensor filled with zeros.</summary>
    /// <example><code>var z = Tensor.Zeros([2, 3]);</code></example>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32, Device? device = null) => Filled("Zeros", shape, 0f, dtype, device);

    /// <summary>A tensor filled with ones.</summary>
    /// <example><code>var o = Tensor.Ones([4]);</code></example>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32, Device? device = null) => Filled("Ones", shape, 1f, dtype, device);

    /// <summary>A tensor filled with <paramref name="value"/>, converted to <paramref name="dtype"/> as a cast converts.</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="value">The value of every element.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var t = Tensor.Full([2, 2], 0.5f);</code></example>
    public static Tensor Full(int[] shape, float value, DType dtype = DType.Float32, Device? device = null) =>
        Filled("Full", shape, value, dtype, device);

    /// <summary>A tensor filled with the integer <paramref name="value"/>, exact for every integer type (wrapping when
    /// <paramref name="dtype"/> is narrower, as a cast does).</summary>
    /// <param name="shape">The shape.</param>
    /// <param name="value">The value of every element.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var big = Tensor.Full([3], 1L &lt;&lt; 40, DType.Int64);</code></example>
    public static Tensor Full(int[] shape, long value, DType dtype, Device? device = null)
    {
        Shapes.CheckShape("Full", shape);
        var result = Empty((int[])shape.Clone(), device ?? Device.Default, dtype);
        result.Backend.FillBits(result.Buffer, dtype.Size(), 0, result.Numel, ElementBits.Of(dtype, value));
        return result;
    }

    /// <summary>A tensor filled with one value; errors in the shape name <paramref name="op"/>.</summary>
    private static Tensor Filled(string op, int[] shape, double value, DType dtype, Device? device)
    {
        Shapes.CheckShape(op, shape);
        var result = Empty((int[])shape.Clone(), device ?? Device.Default, dtype);
        result.Backend.FillBits(result.Buffer, dtype.Size(), 0, result.Numel, ElementBits.Of(dtype, value));
        return result;
    }

    /// <summary>A zero tensor with the shape, dtype and device of <paramref name="other"/>.</summary>
    /// <example><code>var g = Tensor.ZerosLike(w);</code></example>
    public static Tensor ZerosLike(Tensor other) => Zeros(other.Shape, other.DType, other.Device);

    /// <summary>A one tensor with the shape, dtype and device of <paramref name="other"/>.</summary>
    /// <example><code>var g = Tensor.OnesLike(w);</code></example>
    public static Tensor OnesLike(Tensor other) => Ones(other.Shape, other.DType, other.Device);

    /// <summary>A rank-0 tensor holding one value.</summary>
    /// <example><code>var two = Tensor.Scalar(2f);</code></example>
    public static Tensor Scalar(float value, Device? device = null) => Full([], value, DType.Float32, device);

    /// <summary>A rank-0 tensor holding one value of <paramref name="dtype"/>.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var half = Tensor.Scalar(0.5, DType.Float16);</code></example>
    public static Tensor Scalar(double value, DType dtype, Device? device = null) => Filled("Scalar", [], value, dtype, device);

    /// <summary>Values start, start + step, ... below end (like <c>torch.arange</c>).</summary>
    /// <example><code>Tensor.Arange(0, 5) // [0, 1, 2, 3, 4]</code></example>
    public static Tensor Arange(float start, float end, float step = 1f, DType dtype = DType.Float32, Device? device = null)
    {
        if (step == 0 || !float.IsFinite(step))
        {
            throw new ArgumentException($"Arange: step must be non-zero and finite, got {step}.", nameof(step));
        }

        if (!float.IsFinite(start) || !float.IsFinite(end))
        {
            throw new ArgumentException($"Arange: start ({start}) and end ({end}) must be finite.");
        }

        long steps = (long)Math.Max(0, Math.Min(Math.Ceiling((end - start) / (double)step), long.MaxValue));
        if (!Shapes.IsExtent(steps))
        {
            throw Shapes.ExtentError("Arange", "the number of values", steps, $"for start {start}, end {end} and step {step}");
        }

        int count = (int)steps;
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = start + (i * (double)step);
        }

        // Computed in float64, so integer ranges stay exact past 2^24; then converted as a cast converts.
        using var exact = FromArray(values, [count], device);
        return exact.CastTo(dtype);
    }

    /// <summary>Values 0, 1, ..., end - 1, exact in every type that holds them.</summary>
    /// <param name="end">The first value not included (0 or more).</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var idx = Tensor.Arange(10, DType.Int32);</code></example>
    public static Tensor Arange(int end, DType dtype = DType.Float32, Device? device = null)
    {
        var values = new long[Math.Max(end, 0)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = i;
        }

        using var exact = FromArray(values, [values.Length], device);
        return exact.CastTo(dtype);
    }

    /// <summary>A tensor from a flat float array and a shape, converted to <paramref name="dtype"/> as a cast converts
    /// (toward zero and saturating for integer types; bfloat16 and float16 round to nearest even).</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var x = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);</code></example>
    public static Tensor FromArray(float[] data, int[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        var values = FromSpan<float>(data, shape, DType.Float32, device);
        if (dtype == DType.Float32)
        {
            return values;
        }

        using (values)
        {
            return values.CastTo(dtype);
        }
    }

    /// <summary>A float64 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var x = Tensor.FromArray(new[] { 0.1, 0.2 }, [2]);</code></example>
    public static Tensor FromArray(double[] data, int[] shape, Device? device = null) => FromSpan<double>(data, shape, DType.Float64, device);

    /// <summary>A float16 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var x = Tensor.FromArray(new[] { (Half)1, (Half)2 }, [2]);</code></example>
    public static Tensor FromArray(Half[] data, int[] shape, Device? device = null) => FromSpan<Half>(data, shape, DType.Float16, device);

    /// <summary>An int64 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var ids = Tensor.FromArray(new[] { 1L &lt;&lt; 40, 7L }, [2]);</code></example>
    public static Tensor FromArray(long[] data, int[] shape, Device? device = null) => FromSpan<long>(data, shape, DType.Int64, device);

    /// <summary>An int32 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var labels = Tensor.FromArray(new[] { 3, 1, 4 }, [3]);</code></example>
    public static Tensor FromArray(int[] data, int[] shape, Device? device = null) => FromSpan<int>(data, shape, DType.Int32, device);

    /// <summary>An int16 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var x = Tensor.FromArray(new short[] { -3, 9 }, [2]);</code></example>
    public static Tensor FromArray(short[] data, int[] shape, Device? device = null) => FromSpan<short>(data, shape, DType.Int16, device);

    /// <summary>An int8 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var q = Tensor.FromArray(new sbyte[] { -128, 127 }, [2]);</code></example>
    public static Tensor FromArray(sbyte[] data, int[] shape, Device? device = null) => FromSpan<sbyte>(data, shape, DType.Int8, device);

    /// <summary>A uint8 tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var pixels = Tensor.FromArray(new byte[] { 0, 255 }, [2]);</code></example>
    public static Tensor FromArray(byte[] data, int[] shape, Device? device = null) => FromSpan<byte>(data, shape, DType.UInt8, device);

    /// <summary>A bool tensor from a flat array and a shape.</summary>
    /// <param name="data">The values in row-major order.</param>
    /// <param name="shape">The shape; its element count must equal the array's length.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var mask = Tensor.FromArray(new[] { true, false }, [2]);</code></example>
    public static Tensor FromArray(bool[] data, int[] shape, Device? device = null) => FromSpan<bool>(data, shape, DType.Bool, device);

    /// <summary>A tensor from a .NET array of any rank; the element type gives the dtype (float, double, Half, long, int,
    /// short, sbyte, byte or bool).</summary>
    /// <param name="data">The array; its dimensions give the shape.</param>
    /// <param name="device">The device (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var x = Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } });</code></example>
    public static Tensor FromArray(Array data, Device? device = null)
    {
        var shape = new int[data.Rank];
        for (int i = 0; i < data.Rank; i++)
        {
            shape[i] = data.GetLength(i);
        }

        return data switch
        {
            float[] a => FromArray(a, shape, DType.Float32, device),
            double[] a => FromArray(a, shape, device),
            Half[] a => FromArray(a, shape, device),
            long[] a => FromArray(a, shape, device),
            int[] a => FromArray(a, shape, device),
            short[] a => FromArray(a, shape, device),
            sbyte[] a => FromArray(a, shape, device),
            byte[] a => FromArray(a, shape, device),
            bool[] a => FromArray(a, shape, device),
            _ => data.GetType().GetElementType() switch
            {
                var t when t == typeof(float) => FromArray(Flatten<float>(data), shape, DType.Float32, device),
                var t when t == typeof(double) => FromArray(Flatten<double>(data), shape, device),
                var t when t == typeof(Half) => FromArray(Flatten<Half>(data), shape, device),
                var t when t == typeof(long) => FromArray(Flatten<long>(data), shape, device),
                var t when t == typeof(int) => FromArray(Flatten<int>(data), shape, device),
                var t when t == typeof(short) => FromArray(Flatten<short>(data), shape, device),
                var t when t == typeof(sbyte) => FromArray(Flatten<sbyte>(data), shape, device),
                var t when t == typeof(byte) => FromArray(Flatten<byte>(data), shape, device),
                var t when t == typeof(bool) => FromArray(Flatten<bool>(data), shape, device),
                var t => throw new ArgumentException(
                    $"FromArray: elements of type {t} are not supported; use float, double, Half, long, int, short, sbyte, byte or bool.", nameof(data)),
            },
        };
    }

    /// <summary>A tensor of <paramref name="dtype"/> holding <paramref name="data"/>'s bytes.</summary>
    private static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] shape, DType dtype, Device? device)
        where T : unmanaged
    {
        int n = Shapes.CheckShape("FromArray", shape);
        if (data.Length != n)
        {
            throw new ArgumentException($"FromArray: {data.Length} values cannot fill shape {Shapes.Format(shape)} ({n} elements).");
        }

        var result = Empty((int[])shape.Clone(), device ?? Device.Default, dtype);
        result.Backend.UploadBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), result.Buffer, 0);
        return result;
    }

    private static T[] Flatten<T>(Array data)
    {
        var flat = new T[data.Length];
        int k = 0;
        foreach (T v in data)
        {
            flat[k++] = v;
        }

        return flat;
    }

    /// <summary>Uniform random values in [0, 1) from a seeded generator.</summary>
    /// <example><code>var x = Tensor.Rand([2, 3], new Generator(1));</code></example>
    public static Tensor Rand(int[] shape, Generator? generator = null, Device? device = null) =>
        Uniform("Rand", shape, 0f, 1f, generator, device);

    /// <summary>Uniform random values in [low, high) from a seeded generator.</summary>
    /// <example><code>var w = Tensor.Uniform([3, 3], -0.1f, 0.1f, new Generator(1));</code></example>
    public static Tensor Uniform(int[] shape, float low, float high, Generator? generator = null, Device? device = null) =>
        Uniform("Uniform", shape, low, high, generator, device);

    /// <summary>Uniform random values; errors in the shape name <paramref name="op"/>. A <paramref name="batchShard"/> draw
    /// takes this rank's block of the draw for the global batch (see <see cref="Generator.AdvanceShard"/>).</summary>
    internal static Tensor Uniform(string op, int[] shape, float low, float high, Generator? generator, Device? device, bool batchShard = false)
    {
        Shapes.CheckShape(op, shape);
        var result = Empty((int[])shape.Clone(), device ?? Device.Default);
        int n = result.Numel;

        // The counter is taken when the call runs, so a replayed step draws new numbers (from the default generator of then).
        Capture.StepCapture.Dynamic(nameof(Backends.IBackend.RandomUniform), result.Backend, [result.Buffer], 1, (b, s) =>
        {
            var g = generator ?? Generator.Default;
            b.RandomUniform(s[0]!, n, g.Seed, batchShard ? g.AdvanceShard(n) : g.Advance(n), low, high);
        });
        return result;
    }

    /// <summary>Standard normal random values from a seeded generator.</summary>
    /// <example><code>var x = Tensor.RandN([64, 10], new Generator(1));</code></example>
    public static Tensor RandN(int[] shape, Generator? generator = null, Device? device = null, float mean = 0f, float std = 1f)
    {
        Shapes.CheckShape("RandN", shape);
        var result = Empty((int[])shape.Clone(), device ?? Device.Default);
        int n = result.Numel;
        Capture.StepCapture.Dynamic(nameof(Backends.IBackend.RandomNormal), result.Backend, [result.Buffer], 1, (b, s) =>
        {
            var g = generator ?? Generator.Default;
            b.RandomNormal(s[0]!, n, g.Seed, g.Advance(n + (long)(n & 1)), mean, std);
        });
        return result;
    }

    /// <summary>Random integers in [low, high) (dtype int32).</summary>
    /// <example><code>var labels = Tensor.RandInt(0, 10, [64], new Generator(1));</code></example>
    public static Tensor RandInt(int low, int high, int[] shape, Generator? generator = null, Device? device = null)
    {
        if (high <= low)
        {
            throw new ArgumentException($"RandInt: high ({high}) must be greater than low ({low}).");
        }

        int n = Shapes.CheckShape("RandInt", shape);
        Capture.StepCapture.Break("draws random integers on the host (RandInt)");
        generator ??= Generator.Default;
        ulong start = generator.Advance(n);
        var values = new int[n];
        ulong range = (ulong)((long)high - low);
        for (int i = 0; i < n; i++)
        {
            values[i] = (int)(low + (long)(Generator.Hash(generator.Seed, start + (ulong)i) % range));
        }

        return FromArray(values, shape, device);
    }

    /// <summary>The elements in row-major order, converted to float32 as a cast converts.</summary>
    /// <example><code>float[] values = x.ToArray();</code></example>
    public float[] ToArray() => ToArray<float>();

    /// <summary>
    /// The elements in row-major order as <typeparamref name="T"/> (float, double, Half, long, int, short, sbyte, byte or
    /// bool), converted as a cast converts when the tensor's type differs: exact when it is the same.
    /// </summary>
    /// <typeparam name="T">The element type of the array.</typeparam>
    /// <example><code>long[] ids = x.ToArray&lt;long&gt;();</code></example>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        ThrowIfDisposed();
        var target = DTypeOf<T>();
        var values = new T[Numel];
        if (target == DType && IsContiguous)
        {
            Backend.DownloadBytes(Buffer, (long)Offset * DType.Size(), System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            return values;
        }

        using var dense = target == DType ? CopyDense() : CastTo(target);
        Backend.DownloadBytes(dense.Buffer, 0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>The elements in row-major order as int32 (toward zero and saturating from floating types).</summary>
    /// <example><code>int[] predicted = logits.ArgMax(1).ToInt32Array();</code></example>
    public int[] ToInt32Array() => ToArray<int>();

    /// <summary>The single value of a one-element tensor, as float32.</summary>
    /// <example><code>float loss = lossTensor.Item();</code></example>
    public float Item()
    {
        CheckOneElement();
        if (DType != DType.Float32 || !IsContiguous)
        {
            return ToArray<float>()[0];
        }

        Span<float> value = stackalloc float[1];
        Backend.Download(Buffer, Offset, value);
        return value[0];
    }

    /// <summary>The single value of a one-element tensor as <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The element type wanted.</typeparam>
    /// <example><code>long count = mask.Sum().Item&lt;long&gt;();</code></example>
    public T Item<T>()
        where T : unmanaged
    {
        CheckOneElement();
        return ToArray<T>()[0];
    }

    /// <summary>This tensor's values on another device (the same tensor if already there). Recorded for autograd.</summary>
    /// <param name="device">The device to copy to.</param>
    /// <example><code>var g = x.To(Device.Cpu);</code></example>
    public Tensor To(Device device)
    {
        ThrowIfDisposed();
        if (device == Device)
        {
            return ViewAs(shape, strides, Offset);
        }

        var bytes = DenseBytes();
        var result = Empty(Shape, device, DType);
        device.Backend.UploadBytes(bytes, result.Buffer, 0);
        var source = Device;
        return Record(result, "ToBackward", [this], g => [g.To(source)]);
    }

    /// <summary>
    /// This tensor's values as <paramref name="dtype"/> (the same tensor, as a view, if it already is): integers wrap
    /// when narrowed, floating values convert to integers toward zero and saturate at the type's range (NaN gives 0),
    /// 16-bit floats round to nearest even, and anything non-zero is true. Between floating types the cast is recorded
    /// for autograd.
    /// </summary>
    /// <param name="dtype">The element type wanted.</param>
    /// <example><code>var weights16 = w.To(DType.BFloat16);</code></example>
    public Tensor To(DType dtype)
    {
        ThrowIfDisposed();
        if (dtype == DType)
        {
            return Record(ViewAs(shape, strides, Offset), "CastBackward", [this], g => [g]);
        }

        var result = CastTo(dtype);
        if (!dtype.IsFloatingPoint() || !DType.IsFloatingPoint())
        {
            return result;
        }

        var source = DType;
        return Record(result, "CastBackward", [this], g => [g.To(source)]);
    }

    /// <summary>Same as <see cref="To(DType)"/>.</summary>
    /// <param name="dtype">The element type wanted.</param>
    /// <example><code>var ids = x.Cast(DType.Int64);</code></example>
    public Tensor Cast(DType dtype) => To(dtype);

    /// <summary>The elements' bytes in row-major order, little-endian as the device holds them.</summary>
    internal byte[] DenseBytes()
    {
        ThrowIfDisposed();
        var bytes = new byte[(long)Numel * DType.Size()];
        using var dense = DenseData();
        Backend.DownloadBytes(dense.Buffer, 0, bytes);
        return bytes;
    }

    /// <summary>The element type that a .NET element type maps to.</summary>
    internal static DType DTypeOf<T>() => default(T) switch
    {
        float => DType.Float32,
        double => DType.Float64,
        Half => DType.Float16,
        long => DType.Int64,
        int => DType.Int32,
        short => DType.Int16,
        sbyte => DType.Int8,
        byte => DType.UInt8,
        bool => DType.Bool,
        _ => throw new NotSupportedException(
            $"Tensor elements cannot be read as {typeof(T).Name}; use float, double, Half, long, int, short, sbyte, byte or bool."),
    };

    /// <summary>A dense copy converted to <paramref name="dtype"/>, not recorded for autograd.</summary>
    internal Tensor CastTo(DType dtype)
    {
        ThrowIfDisposed();
        var result = Empty((int[])shape.Clone(), Device, dtype);
        if (result.Numel > 0)
        {
            Backend.Cast(View, DType, result.Buffer, dtype);
        }

        return result;
    }

    private void CheckOneElement()
    {
        if (Numel != 1)
        {
            throw new InvalidOperationException($"Item() needs a tensor with one element; this one has shape {Shapes.Format(shape)}.");
        }

        ThrowIfDisposed();
    }

    /// <summary>A copy with its own storage, recorded for autograd.</summary>
    /// <example><code>var c = x.Clone();</code></example>
    public Tensor Clone()
    {
        var result = CopyDense();
        return Record(result, "CloneBackward", [this], g => [g]);
    }

    /// <summary>A view of the same data that is cut out of the graph (no gradient flows through it).</summary>
    /// <example><code>var target = prediction.Detach();</code></example>
    public Tensor Detach()
    {
        ThrowIfDisposed();
        return ViewAs(shape, strides, Offset);
    }
}
