// Every int8 primitive (IQuantizedKernels) run on a candidate backend (the GPU kernels: ILGPU's CPU accelerator in the
// tests, CUDA in the GPU self-check) and compared byte for byte with the float64 reference (QuantizedReference) and
// with the CPU backend. The contract fixes every rounding, so there is no tolerance. Values are drawn from a seed, with
// power-of-two scales and multipliers half of the time so that products land exactly on .5 and test ties to even, and
// now and then a huge multiplier, so that requantized values saturate far beyond the int32 range.
// No test framework here: the xunit suite and the self-check program both run these checks.
using System.Runtime.InteropServices;
using Lepton.Backends;

namespace Lepton.Tests.Support;

/// <summary>Parity checks of a candidate device's int8 kernels.</summary>
public sealed class QuantizedParityChecks(Device candidate)
{
    private static IBackend Cpu => Device.Cpu.Backend;

    private IBackend Gpu => candidate.Backend;

    /// <summary>Fixed cases for the self-check program (the tests draw their own with FsCheck).</summary>
    public static IEnumerable<(string Name, Action<QuantizedParityChecks> Run)> Cases()
    {
        yield return ("int8 quantize, dequantize", c =>
        {
            c.Quantize(1000, DType.UInt8, 1);
            c.Quantize(777, DType.Int8, 2);
            c.Dequantize(1000, DType.UInt8, 3);
            c.Dequantize(777, DType.Int8, 4);
        });
        yield return ("int8 requantize, add", c =>
        {
            c.Requantize(1000, 5);
            c.Add(1000, relu: false, 6);
            c.Add(999, relu: true, 7);
        });
        yield return ("int8 fake quantize", c =>
        {
            c.FakeQuantize(3, 5, 7, -127, 127, 8);
            c.FakeQuantize(2, 1, 100, 0, 255, 9);
        });
        yield return ("int8 max pool", c => c.MaxPool(new Pool2dGeometry(2, 3, 9, 8, 3, 2, 2, 1, 1, 1, 0, 1, 2, 1), 10));

        // n, c, h, w, k, r, s, stride h, stride w, pad top, bottom, left, right, dilation h, dilation w, groups.
        int[][] convolutions =
        [
            [2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            [3, 4, 9, 8, 6, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2],
            [2, 4, 8, 8, 4, 3, 3, 2, 2, 2, 3, 2, 3, 2, 1, 4],
            [1, 6, 5, 5, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3],
            [2, 3, 6, 7, 4, 3, 2, 1, 3, 2, 0, 0, 3, 1, 2, 1],
        ];
        foreach (var v in convolutions)
        {
            var g = new Conv2dGeometry(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
            yield return ($"int8 conv2d {Describe(g)}", c =>
            {
                c.Conv2d(g, bias: true, relu: false, 11);
                c.Conv2d(g, bias: false, relu: true, 12);
            });
        }

        yield return ("int8 dense", c =>
        {
            c.Dense(7, 37, 13, bias: true, relu: false, 13);
            c.Dense(70, 130, 90, bias: false, relu: true, 14);
            c.Dense(1, 3, 1, bias: true, relu: true, 15);
            c.Dense(33, 64, 17, bias: true, relu: true, 18);
        });
        yield return ("int8 dynamic dense", c =>
        {
            c.DynamicDense(5, 33, 11, bias: true, 16);
            c.DynamicDense(64, 200, 70, bias: false, 17);
        });
    }

    public void Quantize(int length, DType type, int seed)
    {
        var rng = new Random(seed);
        float scale = Scale(rng);
        int zeroPoint = type == DType.Int8 ? 0 : rng.Next(256);
        var x = new float[length];
        float[] edges = [float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f, 0f, -0f];
        for (int i = 0; i < length; i++)
        {
            x[i] = i < edges.Length ? edges[i]
                : rng.Next(2) == 0 ? rng.Next(-600, 600) * scale / 2 // exact ties of x / scale
                : (float)((rng.NextDouble() - 0.5) * 300 * scale);
        }

        Compare($"Quantize {type} scale {scale} zero point {zeroPoint}", [Bytes(x)], length, 1, Array.ConvertAll(QuantizedReference.QuantizeToInts(x, scale, zeroPoint, type), v => (byte)v),
            (k, i, y) => k.Quantize(i[0]!, length, scale, zeroPoint, type, y));
    }

    public void Dequantize(int length, DType type, int seed)
    {
        var rng = new Random(seed);
        var q = RandomBytes(rng, length);
        float scale = Scale(rng);
        int zeroPoint = type == DType.Int8 ? 0 : rng.Next(256);
        Compare($"Dequantize {type}", [q], 4L * length, 4, Bytes(QuantizedReference.Dequantize(Array.ConvertAll(q, v => type == DType.Int8 ? (int)(sbyte)v : v), scale, zeroPoint)),
            (k, i, y) => k.Dequantize(i[0]!, type, length, scale, zeroPoint, y));
    }

    public void Requantize(int length, int seed)
    {
        var rng = new Random(seed);
        var x = RandomBytes(rng, length);
        int zin = rng.Next(256), zout = rng.Next(256);
        float multiplier = Saturating(rng, 4f);
        Compare($"Requantize multiplier {multiplier}", [x], length, 1, QuantizedReference.Requantize(x, zin, multiplier, zout),
            (k, i, y) => k.Requantize(i[0]!, length, zin, multiplier, zout, y));
    }

    public void Add(int length, bool relu, int seed)
    {
        var rng = new Random(seed);
        byte[] a = RandomBytes(rng, length), b = RandomBytes(rng, length);
        int za = rng.Next(256), zb = rng.Next(256), zy = rng.Next(256);
        float ma = Saturating(rng, 2f), mb = Saturating(rng, 2f);
        Compare($"QuantizedAdd ma {ma} mb {mb} relu {relu}", [a, b], length, 1, QuantizedReference.Add(a, za, ma, b, zb, mb, zy, relu),
            (k, i, y) => k.QuantizedAdd(i[0]!, za, ma, i[1]!, zb, mb, length, zy, relu, y));
    }

    public void FakeQuantize(int outer, int channels, int inner, int qmin, int qmax, int seed)
    {
        var rng = new Random(seed);
        var scale = new float[channels];
        var zeroPoint = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = Scale(rng);
            zeroPoint[c] = rng.Next(qmin, qmax + 1);
        }

        int n = outer * channels * inner;
        var x = new float[n];
        var dy = new float[n];
        for (int i = 0; i < n; i++)
        {
            float s = scale[i / inner % channels];
            x[i] = rng.Next(2) == 0 ? rng.Next(-700, 700) * s / 2 : (float)((rng.NextDouble() - 0.5) * 700 * s);
            dy[i] = (float)(rng.NextDouble() - 0.5);
        }

        string what = $"FakeQuantize [{outer},{channels},{inner}] [{qmin},{qmax}]";
        Compare(what, [Bytes(x), Bytes(scale), Bytes(zeroPoint)], 4L * n, 4, Bytes(QuantizedReference.FakeQuantize(x, outer, channels, inner, scale, zeroPoint, qmin, qmax)),
            (k, i, y) => k.FakeQuantize(i[0]!, outer, channels, inner, i[1]!, i[2]!, qmin, qmax, y));
        Compare(what + " backward", [Bytes(x), Bytes(dy), Bytes(scale), Bytes(zeroPoint)], 4L * n, 4,
            Bytes(QuantizedReference.FakeQuantizeBackward(x, dy, outer, channels, inner, scale, zeroPoint, qmin, qmax)),
            (k, i, dx) => k.FakeQuantizeBackward(i[0]!, i[1]!, outer, channels, inner, i[2]!, i[3]!, qmin, qmax, dx));
    }

    public void MaxPool(Pool2dGeometry g, int seed)
    {
        var rng = new Random(seed);
        var x = RandomBytes(rng, g.N * g.C * g.H * g.W);
        Compare($"QuantizedMaxPool2d n{g.N} c{g.C} {g.H}x{g.W} window {g.KernelH}x{g.KernelW} stride {g.StrideH},{g.StrideW} pad {g.PadTop},{g.PadBottom},{g.PadLeft},{g.PadRight} dilation {g.DilationH},{g.DilationW} ceil {g.CeilMode}", [x], (long)g.N * g.C * g.P * g.Q, 1, QuantizedReference.MaxPool2d(g, x),
            (k, i, y) => k.QuantizedMaxPool2d(g, i[0]!, y));
    }

    public void Conv2d(Conv2dGeometry g, bool bias, bool relu, int seed)
    {
        var rng = new Random(seed);
        var x = RandomBytes(rng, g.N * g.C * g.H * g.W);
        var w = Weights(rng, g.K * g.CPerGroup * g.R * g.S);
        var (b, multipliers, zx, zy) = Epilogue(rng, g.K, bias);
        var expected = QuantizedReference.Conv2d(g, x, zx, w, b, multipliers, zy, relu);
        Compare($"QuantizedConv2d {Describe(g)} zx {zx} zy {zy} bias {bias} relu {relu}", [x, Bytes<sbyte>(w), Bytes(multipliers), b is null ? null : Bytes(b)],
            (long)g.N * g.K * g.P * g.Q, 1, expected,
            (k, i, y) => k.QuantizedConv2d(g, i[0]!, zx, i[1]!, new QuantizedEpilogue(i[3], i[2]!, zy, relu), y));
    }

    public void Dense(int rows, int depth, int units, bool bias, bool relu, int seed)
    {
        var rng = new Random(seed);
        var x = RandomBytes(rng, rows * depth);
        var w = Weights(rng, units * depth);
        var (b, multipliers, zx, zy) = Epilogue(rng, units, bias);
        var expected = QuantizedReference.Dense(x, zx, w, rows, depth, units, b, multipliers, zy, relu);
        Compare($"QuantizedDense [{rows},{depth}] x [{units},{depth}] zx {zx} zy {zy} bias {bias} relu {relu}",
            [x, Bytes<sbyte>(w), Bytes(multipliers), b is null ? null : Bytes(b)], (long)rows * units, 1, expected,
            (k, i, y) => k.QuantizedDense(i[0]!, zx, i[1]!, rows, depth, units, new QuantizedEpilogue(i[3], i[2]!, zy, relu), y));
    }

    public void DynamicDense(int rows, int depth, int units, bool bias, int seed)
    {
        var rng = new Random(seed);
        var x = new float[rows * depth];
        int kind = rng.Next(4); // 0: mixed signs, 1: all >= 0, 2: all <= 0, 3: all zero (s = 1)
        for (int i = 0; i < x.Length; i++)
        {
            float v = (float)(rng.NextDouble() * 6) - 2f;
            x[i] = kind switch { 0 => v, 1 => MathF.Abs(v), 2 => -MathF.Abs(v), _ => 0f };
        }

        var w = Weights(rng, units * depth);
        var weightScales = new float[units];
        var b = bias ? new float[units] : null;
        for (int u = 0; u < units; u++)
        {
            weightScales[u] = Multiplier(rng, 0.05f);
            if (b is not null)
            {
                b[u] = (float)(rng.NextDouble() - 0.5);
            }
        }

        var expected = QuantizedReference.DynamicDense(x, w, weightScales, b, rows, depth, units);
        Compare($"DynamicQuantizedDense [{rows},{depth}] x [{units},{depth}] bias {bias} input kind {kind}",
            [Bytes(x), Bytes<sbyte>(w), Bytes(weightScales), b is null ? null : Bytes(b)], 4L * rows * units, 4, Bytes(expected),
            (k, i, y) => k.DynamicQuantizedDense(i[0]!, i[1]!, i[2]!, i[3], rows, depth, units, y));
    }

    /// <summary>A convolution's sizes in one short line.</summary>
    public static string Describe(in Conv2dGeometry g) =>
        $"n{g.N} c{g.C} {g.H}x{g.W} k{g.K} {g.R}x{g.S} stride {g.StrideH},{g.StrideW} pad {g.PadTop},{g.PadBottom},{g.PadLeft},{g.PadRight} dilation {g.DilationH},{g.DilationW} groups {g.Groups}";

    public static byte[] Bytes<T>(T[] values)
        where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A scale: a power of two half of the time (so x / scale hits .5 exactly), else a random one.</summary>
    private static float Scale(Random rng) => rng.Next(2) == 0 ? MathF.Pow(2, rng.Next(-8, 2)) : (float)(0.001 + (rng.NextDouble() * 0.2));

    /// <summary>A multiplier in (0, max): a power of two half of the time, so products of integers land on .5.</summary>
    private static float Multiplier(Random rng, float max) => rng.Next(2) == 0 ? MathF.Pow(2, -rng.Next(1, 13)) * max : (float)(rng.NextDouble() * max) + 1e-6f;

    /// <summary>A requantizing multiplier: one in eight is 1e9, whose products overflow int32 and must saturate.</summary>
    private static float Saturating(Random rng, float max) => rng.Next(8) == 0 ? 1e9f : Multiplier(rng, max);

    private static byte[] RandomBytes(Random rng, int n)
    {
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Symmetric int8 weights in [-127, 127].</summary>
    private static sbyte[] Weights(Random rng, int n)
    {
        var w = new sbyte[n];
        for (int i = 0; i < n; i++)
        {
            w[i] = (sbyte)rng.Next(-127, 128);
        }

        return w;
    }

    /// <summary>Bias (or null), multipliers small enough that outputs spread over [0, 255], and the zero points.</summary>
    private static (int[]? Bias, float[] Multipliers, int Zx, int Zy) Epilogue(Random rng, int channels, bool bias)
    {
        var multipliers = new float[channels];
        var b = bias ? new int[channels] : null;
        for (int k = 0; k < channels; k++)
        {
            multipliers[k] = rng.Next(16) == 0 ? 1e9f : rng.Next(2) == 0 ? MathF.Pow(2, -rng.Next(2, 14)) : (float)(rng.NextDouble() / 512) + 1e-7f;
            if (b is not null)
            {
                b[k] = rng.Next(8) == 0 ? int.MaxValue - rng.Next(1000) : rng.Next(-20000, 20000); // acc + bias may wrap
            }
        }

        return (b, multipliers, rng.Next(256), rng.Next(256));
    }

    /// <summary>Runs <paramref name="call"/> on the candidate and on the CPU backend with the same inputs (null stays null),
    /// and requires the candidate's output bytes to equal <paramref name="expected"/> and the CPU backend's.</summary>
    private void Compare(string what, byte[]?[] inputs, long outputBytes, int elementSize, byte[] expected, Action<IQuantizedKernels, DeviceBuffer?[], DeviceBuffer> call)
    {
        var actual = Run(Gpu, inputs, outputBytes, call);
        Same(what + ": candidate against the reference", expected, actual, elementSize);
        Same(what + ": candidate against the CPU backend", Run(Cpu, inputs, outputBytes, call), actual, elementSize);
    }

    private static byte[] Run(IBackend backend, byte[]?[] inputs, long outputBytes, Action<IQuantizedKernels, DeviceBuffer?[], DeviceBuffer> call)
    {
        var kernels = backend as IQuantizedKernels ?? throw new ParityException($"{backend.GetType().Name} has no int8 kernels.");
        var buffers = new DeviceBuffer?[inputs.Length];
        var y = backend.AllocateBytes(outputBytes);
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                if (inputs[i] is byte[] data)
                {
                    buffers[i] = backend.AllocateBytes(data.Length);
                    backend.UploadBytes(data, buffers[i]!, 0);
                }
            }

            var filler = new byte[outputBytes];
            Array.Fill(filler, (byte)0xA5);
            backend.UploadBytes(filler, y, 0);
            call(kernels, buffers, y);
            var result = new byte[outputBytes];
            backend.DownloadBytes(y, 0, result);
            return result;
        }
        finally
        {
            backend.Pool.Return(y);
            foreach (var b in buffers)
            {
                if (b is not null)
                {
                    backend.Pool.Return(b);
                }
            }
        }
    }

    private static void Same(string what, byte[] expected, byte[] actual, int elementSize)
    {
        int at = expected.AsSpan().CommonPrefixLength(actual);
        if (at == expected.Length && actual.Length == expected.Length)
        {
            return;
        }

        int e = at / elementSize;
        string Value(byte[] b) => e * elementSize >= b.Length ? "missing"
            : elementSize == 4 ? $"{BitConverter.ToSingle(b, e * elementSize):R} (0x{BitConverter.ToUInt32(b, e * elementSize):X8})" : b[e].ToString();
        int wrong = 0;
        for (int i = 0; i < Math.Min(expected.Length, actual.Length) / elementSize; i++)
        {
            wrong += expected.AsSpan(i * elementSize, elementSize).SequenceEqual(actual.AsSpan(i * elementSize, elementSize)) ? 0 : 1;
        }

        throw new ParityException($"{what}: element {e} is {Value(actual)}, expected {Value(expected)} ({wrong} of {expected.Length / elementSize} elements differ).");
    }
}
