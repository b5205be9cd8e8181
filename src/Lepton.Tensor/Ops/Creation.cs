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

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    /// <example><code>var t = Tensor.Full([2, 2], 0.5f);</code></example>
    public static Tensor Full(int[] shape, float value, DType dtype = DType.Float32, Device? device = null) =>
        Filled("Full", shape, value, dtype, device);

    /// <summary>A tensor filled with one value; errors in the shape name <paramref name="op"/>.</summary>
    private static Tensor Filled(string op, int[] shape, float value, DType dtype, Device? device)
    {
        Shapes.CheckShape(op, shape);
        var result = Empty((int[])shape.Clone(), device ?? Device.Default, dtype);
        result.Backend.Fill(result.Buffer, 0, result.Numel, dtype.IsInteger() ? MathF.Truncate(value) : value);
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
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(start + (i * (double)step));
        }

        return FromArray(values, [count], dtype, device);
    }

    /// <summary>Values 0, 1, ..., end - 1.</summary>
    /// <example><code>var idx = Tensor.Arange(10, DType.Int32);</code></example>
    public static Tensor Arange(int end, DType dtype = DType.Float32, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary>A tensor from a flat array and a shape.</summary>
    /// <example><code>var x = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2]);</code></example>
    public static Tensor FromArray(float[] data, int[] shape, DType dtype = DType.Float32, Device? device = null)
    {
        int n = Shapes.CheckShape("FromArray", shape);
        if (data.Length != n)
        {
            throw new ArgumentException($"FromArray: {data.Length} values cannot fill shape {Shapes.Format(shape)} ({n} elements).");
        }

        var result = Empty((int[])shape.Clone(), device ?? Device.Default, dtype);
        if (dtype.IsInteger())
        {
            var rounded = new float[n];
            for (int i = 0; i < n; i++)
            {
                rounded[i] = MathF.Truncate(data[i]);
            }

            data = rounded;
        }

        result.Backend.Upload(data, result.Buffer, 0);
        return result;
    }

    /// <summary>A tensor from a .NET array of any rank (float, double, int, long or byte elements).</summary>
    /// <example><code>var x = Tensor.FromArray(new float[,] { { 1, 2 }, { 3, 4 } });</code></example>
    public static Tensor FromArray(Array data, Device? device = null)
    {
        var shape = new int[data.Rank];
        for (int i = 0; i < data.Rank; i++)
        {
            shape[i] = data.GetLength(i);
        }

        var elementType = data.GetType().GetElementType();
        DType dtype = elementType == typeof(int) || elementType == typeof(long) ? DType.Int32 : DType.Float32;
        var values = new float[data.Length];
        int k = 0;
        foreach (object? v in data)
        {
            values[k++] = v switch
            {
                float f => f,
                double d => (float)d,
                int n => n,
                long l => l,
                byte b => b,
                _ => throw new ArgumentException($"FromArray: elements of type {elementType} are not supported; use float, double, int, long or byte."),
            };
        }

        return FromArray(values, shape, dtype, device);
    }

    /// <summary>A tensor from a flat int array and a shape (dtype int32).</summary>
    /// <example><code>var labels = Tensor.FromArray(new[] { 3, 1, 4 }, [3]);</code></example>
    public static Tensor FromArray(int[] data, int[] shape, Device? device = null)
    {
        var values = new float[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            values[i] = data[i];
        }

        return FromArray(values, shape, DType.Int32, device);
    }

    /// <summary>Uniform random values in [0, 1) from a seeded generator.</summary>
    /// <example><code>var x = Tensor.Rand([2, 3], new Generator(1));</code></example>
    public static Tensor Rand(int[] shape, Generator? generator = null, Device? device = null) =>
        Uniform("Rand", shape, 0f, 1f, generator, device);

    /// <summary>Uniform random values in [low, high) from a seeded generator.</summary>
    /// <example><code>var w = Tensor.Uniform([3, 3], -0.1f, 0.1f, new Generator(1));</code></example>
    public static Tensor Uniform(int[] shape, float low, float high, Generator? generator = null, Device? device = null) =>
        Uniform("Uniform", shape, low, high, generator, device);

    /// <summary>Uniform random values; errors in the shape name <paramref name="op"/>.</summary>
    private static Tensor Uniform(string op, int[] shape, float low, float high, Generator? generator, Device? device)
    {
        Shapes.CheckShape(op, shape);
        generator ??= Generator.Default;
        var result = Empty((int[])shape.Clone(), device ?? Device.Default);
        int n = result.Numel;
        result.Backend.RandomUniform(result.Buffer, n, generator.Seed, generator.Advance(n), low, high);
        return result;
    }

    /// <summary>Standard normal random values from a seeded generator.</summary>
    /// <example><code>var x = Tensor.RandN([64, 10], new Generator(1));</code></example>
    public static Tensor RandN(int[] shape, Generator? generator = null, Device? device = null, float mean = 0f, float std = 1f)
    {
        Shapes.CheckShape("RandN", shape);
        generator ??= Generator.Default;
        var result = Empty((int[])shape.Clone(), device ?? Device.Default);
        int n = result.Numel;
        result.Backend.RandomNormal(result.Buffer, n, generator.Seed, generator.Advance(n + (long)(n & 1)), mean, std);
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
        generator ??= Generator.Default;
        ulong start = generator.Advance(n);
        var values = new float[n];
        ulong range = (ulong)((long)high - low);
        for (int i = 0; i < n; i++)
        {
            values[i] = (float)(low + (long)(Generator.Hash(generator.Seed, start + (ulong)i) % range));
        }

        return FromArray(values, shape, DType.Int32, device);
    }

    /// <summary>The elements in row-major order.</summary>
    /// <example><code>float[] values = x.ToArray();</code></example>
    public float[] ToArray()
    {
        ThrowIfDisposed();
        var values = new float[Numel];
        if (IsContiguous)
        {
            Backend.Download(Buffer, Offset, values);
            return values;
        }

        using var dense = CopyDense();
        Backend.Download(dense.Buffer, 0, values);
        return values;
    }

    /// <summary>The elements in row-major order as integers (rounded toward zero).</summary>
    /// <example><code>int[] predicted = logits.ArgMax(1).ToInt32Array();</code></example>
    public int[] ToInt32Array()
    {
        var values = ToArray();
        var result = new int[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = (int)values[i];
        }

        return result;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    /// <example><code>float loss = lossTensor.Item();</code></example>
    public float Item()
    {
        if (Numel != 1)
        {
            throw new InvalidOperationException($"Item() needs a tensor with one element; this one has shape {Shapes.Format(shape)}.");
        }

        ThrowIfDisposed();
        if (!IsContiguous)
        {
            return ToArray()[0];
        }

        Span<float> value = stackalloc float[1];
        Backend.Download(Buffer, Offset, value);
        return value[0];
    }

    /// <summary>This tensor's values on another device (the same tensor if already there). Recorded for autograd.</summary>
    /// <example><code>var g = x.To(Device.Cpu);</code></example>
    public Tensor To(Device device)
    {
        ThrowIfDisposed();
        if (device == Device)
        {
            return ViewAs(shape, strides, Offset);
        }

        var result = FromArray(ToArray(), Shape, DType, device);
        var source = Device;
        return Record(result, "ToBackward", [this], g => [g.To(source)]);
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
