// The CPU's int8 kernels (IQuantizedKernels) against the float64/integer reference, bit for bit, on every instruction
// set this machine has: random convolution geometries (padding, stride, dilation, groups), dense layers, the dynamic
// dense layer, pooling, element-wise kernels with ties and saturation, fake quantization and its gradient; arguments
// the kernels refuse; and a captured step that replays the quantized calls.
using FsCheck;
using FsCheck.Fluent;
using Lepton.Backends;
using Lepton.Backends.Cpu;
using Lepton.Capture;
using Lepton.Tests.Support;
using Ref = Lepton.Tests.Support.QuantizedReference;

namespace Lepton.Tests.Quantization;

public sealed class QuantizedKernelTests
{
    private static CpuBackend Cpu => (CpuBackend)Device.Cpu.Backend;

    private static IEnumerable<CpuIsa> Isas => Enum.GetValues<CpuIsa>().Where(i => i <= CpuGemm.DetectedIsa);

    private static readonly Gen<Conv2dGeometry> Convolutions =
        from n in Gen.Choose(1, 2)
        from groups in Gen.Choose(1, 3)
        from cg in Gen.Choose(1, 6)
        from kg in Gen.Choose(1, 6)
        from h in Gen.Choose(1, 10)
        from w in Gen.Choose(1, 10)
        from r in Gen.Choose(1, 3)
        from s in Gen.Choose(1, 3)
        from stride in Gen.Choose(1, 2).Two()
        from dilation in Gen.Choose(1, 2).Two()
        from pads in Gen.ArrayOf(Gen.Choose(0, 2), 4)
        from crop in Gen.Elements(0, 0, 0, -1)
        let g = new Conv2dGeometry(n, cg * groups, h, w, kg * groups, r, s, stride.Item1, stride.Item2, pads[0], pads[1] + crop, pads[2], pads[3], dilation.Item1, dilation.Item2, groups)
        where g.P > 0 && g.Q > 0
        select g;

    [Fact]
    public void ConvolutionMatchesTheReferenceOnRandomGeometries() =>
        Prop.ForAll(Convolutions.Seeded().ToArbitrary(), c => CheckConvolution(c.Case, c.Seed)).QuickCheckThrowOnFailure();

    [Theory]
    [InlineData(2, 16, 20, 20, 32, 1, 1)]
    [InlineData(1, 3, 32, 32, 32, 1, 1)]
    [InlineData(3, 8, 9, 9, 8, 2, 4)]
    [InlineData(2, 1, 28, 28, 32, 0, 1)]
    [InlineData(2, 10, 11, 7, 6, 2, 2)]
    public void ConvolutionMatchesTheReferenceOnLayerShapes(int n, int c, int h, int w, int k, int pad, int groups) =>
        CheckConvolution(new Conv2dGeometry(n, c, h, w, k, 3, 3, 1, 1, pad, pad, pad, pad, 1, 1, groups), 7);

    [Fact]
    public void DenseMatchesTheReference()
    {
        var sizes = from rows in Gen.Choose(1, 70) from depth in Gen.Choose(1, 80) from units in Gen.Choose(1, 13) select (rows, depth, units);
        Prop.ForAll(sizes.Seeded().ToArbitrary(), c => CheckDense(c.Case.rows, c.Case.depth, c.Case.units, c.Seed)).QuickCheckThrowOnFailure();
        CheckDense(64, 1600, 128, 3);
        CheckDense(5, 257, 33, 4);
    }

    [Fact]
    public void DynamicDenseMatchesTheReference()
    {
        var sizes = from rows in Gen.Choose(1, 70) from depth in Gen.Choose(1, 80) from units in Gen.Choose(1, 13) select (rows, depth, units);
        Prop.ForAll(sizes.Seeded().ToArbitrary(), c => CheckDynamicDense(c.Case.rows, c.Case.depth, c.Case.units, c.Seed)).QuickCheckThrowOnFailure();
        CheckDynamicDense(64, 1600, 128, 5);
    }

    [Fact]
    public void MaxPoolingMatchesTheReference()
    {
        var pools =
            from n in Gen.Choose(1, 2)
            from c in Gen.Choose(1, 3)
            from h in Gen.Choose(1, 9)
            from w in Gen.Choose(1, 9)
            from kh in Gen.Choose(1, 3)
            from kw in Gen.Choose(1, 3)
            from sh in Gen.Choose(1, 3)
            from sw in Gen.Choose(1, 3)
            from pads in Gen.ArrayOf(Gen.Choose(0, 1), 4)
            from dilation in Gen.Choose(1, 2)
            from ceil in Gen.Elements(true, false)
            let g = new Pool2dGeometry(n, c, h, w, kh, kw, sh, sw, pads[0], pads[1], pads[2], pads[3], dilation, dilation, ceil)
            where g.P > 0 && g.Q > 0 && pads[0] <= kh / 2 && pads[2] <= kw / 2
            select g;
        Prop.ForAll(pools.Seeded().ToArbitrary(), c =>
        {
            var g = c.Case;
            byte[] x = Bytes(new Random(c.Seed), g.N * g.C * g.H * g.W);
            foreach (var isa in Isas)
            {
                var y = Run(isa, g.N * g.C * g.P * g.Q, (k, yb) => k.QuantizedMaxPool2d(g, Upload(x), yb));
                Assert.Equal(Ref.MaxPool2d(g, x), y);
            }
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(26, 26, false)]
    [InlineData(33, 67, false)]
    [InlineData(33, 67, true)]
    [InlineData(64, 31, false)]
    [InlineData(5, 3, true)]
    [InlineData(2, 2, false)]
    public void TwoByTwoPoolingOfWidePlanesMatchesTheReference(int h, int w, bool ceil)
    {
        // Wide enough for the 16-outputs-at-a-time path and its scalar tail; ceil mode gives a last, partial window.
        var g = new Pool2dGeometry(2, 3, h, w, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, ceil);
        byte[] x = Bytes(new Random(h * w), g.N * g.C * g.H * g.W);
        foreach (var isa in Isas)
        {
            var y = Run(isa, g.N * g.C * g.P * g.Q, (k, yb) => k.QuantizedMaxPool2d(g, Upload(x), yb));
            Assert.Equal(Ref.MaxPool2d(g, x), y);
        }
    }

    [Theory]
    [InlineData(DType.UInt8, 0.5f, 128)]
    [InlineData(DType.UInt8, 0.0137f, 0)]
    [InlineData(DType.Int8, 0.25f, 0)]
    [InlineData(DType.Int8, 0.031f, -5)]
    public void QuantizeAndDequantizeMatchTheReferenceWithTiesAndSaturation(DType type, float scale, int zeroPoint)
    {
        var rng = new Random(11);
        var x = new List<float> { 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue, 1e-30f };
        for (int i = -300; i <= 300; i++)
        {
            x.Add((i + 0.5f) * scale);
            x.Add(i * scale);
        }

        while (x.Count < 1500)
        {
            x.Add((float)((rng.NextDouble() - 0.5) * 400 * scale));
        }

        float[] xs = [.. x];
        int[] expected = Ref.QuantizeToInts(xs, scale, zeroPoint, type);
        foreach (var isa in Isas)
        {
            byte[] q = Run(isa, xs.Length, (k, y) => k.Quantize(Upload(xs), xs.Length, scale, zeroPoint, type, y));
            Assert.Equal(expected, type == DType.UInt8 ? q.Select(b => (int)b).ToArray() : q.Select(b => (int)(sbyte)b).ToArray());
            float[] back = Floats(Run(isa, 4 * q.Length, (k, y) => k.Dequantize(Upload(q), type, q.Length, scale, zeroPoint, y)));
            Assert.Equal(Ref.Dequantize(expected, scale, zeroPoint), back);
        }
    }

    [Fact]
    public void RequantizeAndAddMatchTheReference()
    {
        var cases = from za in Gen.Choose(0, 255)
                    from zb in Gen.Choose(0, 255)
                    from zy in Gen.Choose(0, 255)
                    from ma in Gen.Elements(0.5f, 0.25f, 1f, 2f, 0.0371f, 3.3f)
                    from mb in Gen.Elements(0.5f, 1.5f, 0.013f)
                    from relu in Gen.Elements(true, false)
                    from length in Gen.Choose(0, 300)
                    select (za, zb, zy, ma, mb, relu, length);
        Prop.ForAll(cases.Seeded().ToArbitrary(), c =>
        {
            var (za, zb, zy, ma, mb, relu, length) = c.Case;
            var rng = new Random(c.Seed);
            byte[] a = Bytes(rng, length), b = Bytes(rng, length);
            foreach (var isa in Isas)
            {
                Assert.Equal(Ref.Requantize(a, za, ma, zy), Run(isa, length, (k, y) => k.Requantize(Upload(a), length, za, ma, zy, y)));
                Assert.Equal(Ref.Add(a, za, ma, b, zb, mb, zy, relu), Run(isa, length, (k, y) => k.QuantizedAdd(Upload(a), za, ma, Upload(b), zb, mb, length, zy, relu, y)));
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void FakeQuantizationAndItsGradientMatchTheReference()
    {
        var cases = from outer in Gen.Choose(1, 3)
                    from channels in Gen.Choose(1, 4)
                    from inner in Gen.Choose(1, 40)
                    from signed in Gen.Elements(true, false)
                    select (outer, channels, inner, signed);
        Prop.ForAll(cases.Seeded().ToArbitrary(), c =>
        {
            var (outer, channels, inner, signed) = c.Case;
            var rng = new Random(c.Seed);
            var (qmin, qmax) = signed ? (-127, 127) : (0, 255);
            float[] scale = [.. Enumerable.Range(0, channels).Select(_ => rng.Next(3) == 0 ? 0.125f : (float)(0.001 + (rng.NextDouble() * 0.05)))];
            float[] zero = [.. Enumerable.Range(0, channels).Select(_ => signed ? 0f : rng.Next(0, 256))];
            int length = outer * channels * inner;
            float[] x = new float[length], dy = new float[length];
            for (int i = 0; i < length; i++)
            {
                int ch = i / inner % channels;
                x[i] = rng.Next(4) == 0 ? (rng.Next(-300, 300) + 0.5f) * scale[ch] : (float)((rng.NextDouble() - 0.5) * 300 * scale[ch]);
                dy[i] = (float)rng.NextDouble();
            }

            foreach (var isa in Isas)
            {
                Assert.Equal(Ref.FakeQuantize(x, outer, channels, inner, scale, zero, qmin, qmax),
                    Floats(Run(isa, 4 * length, (k, y) => k.FakeQuantize(Upload(x), outer, channels, inner, Upload(scale), Upload(zero), qmin, qmax, y))));
                Assert.Equal(Ref.FakeQuantizeBackward(x, dy, outer, channels, inner, scale, zero, qmin, qmax),
                    Floats(Run(isa, 4 * length, (k, y) => k.FakeQuantizeBackward(Upload(x), Upload(dy), outer, channels, inner, Upload(scale), Upload(zero), qmin, qmax, y))));
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void BadArgumentsAreRefusedNamingTheKernel()
    {
        var k = Cpu;
        var small = Upload(new byte[16]);
        var floats = Upload(new float[16]);
        var mult = Upload(new float[4]);
        void Refused(string op, Action call) => Assert.Contains(op, Assert.Throws<ArgumentException>(call).Message);

        Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0.1f, 0, DType.Float32, small));
        Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0.1f, 256, DType.UInt8, small));
        Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0.1f, -128, DType.Int8, small));
        Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0f, 0, DType.UInt8, small));
        Refused(nameof(k.Quantize), () => k.Quantize(floats, 17, 0.1f, 0, DType.UInt8, small));
        Refused(nameof(k.Dequantize), () => k.Dequantize(small, DType.Int32, 16, 0.1f, 0, floats));
        Refused(nameof(k.Requantize), () => k.Requantize(small, 16, -1, 0.5f, 0, small));
        Refused(nameof(k.QuantizedAdd), () => k.QuantizedAdd(small, 0, 1f, small, 0, 1f, 16, 300, false, small));
        Refused(nameof(k.FakeQuantize), () => k.FakeQuantize(floats, 1, 1, 16, floats, floats, 10, 0, floats));

        var epilogue = new QuantizedEpilogue(null, mult, 0, false);
        var grouped = new Conv2dGeometry(1, 3, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2);
        Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(grouped, Upload(new byte[48]), 0, Upload(new byte[12]), epilogue, Upload(new byte[64])));
        var g = new Conv2dGeometry(1, 1, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(g, small, 256, small, epilogue, Upload(new byte[64])));
        Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(g, small, 0, small, epilogue, Upload(new byte[8])));
        Refused(nameof(k.QuantizedDense), () => k.QuantizedDense(small, 0, small, 2, 8, 2, epilogue with { ZeroPoint = -1 }, small));
        int deep = Int8GemmMaxDepth + 1;
        var deepBuffer = Upload(new byte[deep]);
        var one = Upload(new float[1]);
        Refused(nameof(k.QuantizedDense), () => k.QuantizedDense(deepBuffer, 0, deepBuffer, 1, deep, 1, new QuantizedEpilogue(null, one, 0, false), small));
        Refused(nameof(k.DynamicQuantizedDense), () => k.DynamicQuantizedDense(Upload(new float[deep]), deepBuffer, one, null, 1, deep, 1, one));
        k.QuantizedDense(deepBuffer, 0, deepBuffer, 1, deep - 1, 1, new QuantizedEpilogue(null, one, 0, false), small);
    }

    [Fact]
    public void ACapturedStepReplaysTheQuantizedCalls()
    {
        var g = new Conv2dGeometry(2, 3, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var rng = new Random(5);
        byte[] x1 = Bytes(rng, 2 * 3 * 81), x2 = Bytes(rng, 2 * 3 * 81);
        sbyte[] w = Weights(rng, 8 * 27), wd = Weights(rng, 8 * 81 * 10);
        float[] m = [.. Enumerable.Range(0, 10).Select(_ => 0.003f)];
        var (x, wb, wdb, mb, conv, y) = (Upload(x1), Upload(w), Upload(wd), Upload(m), Cpu.AllocateBytes(2 * 8 * 81), Cpu.AllocateBytes(20));
        var capture = StepCapture.Begin(Device.Cpu);
        CapturedStep? step;
        try
        {
            var k = (IQuantizedKernels)Device.Cpu.Backend;
            Assert.IsNotType<CpuBackend>(k);
            k.QuantizedConv2d(g, x, 100, wb, new QuantizedEpilogue(null, mb, 3, true), conv);
            k.QuantizedDense(conv, 3, wdb, 2, 8 * 81, 10, new QuantizedEpilogue(null, mb, 7, false), y);
            step = capture.End([y], new CaptureSettings(), out string? reason, out _);
            Assert.True(step is not null, reason);
        }
        finally
        {
            capture.Dispose();
        }

        using (step)
        {
            Cpu.UploadBytes(x2, x, 0);
            step!.Replay();
            byte[] c2 = Ref.Conv2d(g, x2, 100, w, null, m, 3, true);
            Assert.Equal(Ref.Dense(c2, 3, wd, 2, 8 * 81, 10, null, m, 7, false), Read(y, 20));
        }
    }

    private const int Int8GemmMaxDepth = int.MaxValue / (255 * 128);

    private static void CheckConvolution(Conv2dGeometry g, int seed)
    {
        var rng = new Random(seed);
        int depth = g.CPerGroup * g.R * g.S;
        byte[] x = Bytes(rng, g.N * g.C * g.H * g.W);
        sbyte[] w = Weights(rng, g.K * depth);
        int zx = rng.Next(4) == 0 ? 0 : rng.Next(256), zy = rng.Next(256);
        bool relu = rng.Next(2) == 0;
        int[]? bias = rng.Next(3) == 0 ? null : [.. Enumerable.Range(0, g.K).Select(_ => rng.Next(5) == 0 ? int.MaxValue - rng.Next(1000) : rng.Next(-20000, 20000))];
        float[] m = Multipliers(rng, g.K, depth);
        byte[] expected = Ref.Conv2d(g, x, zx, w, bias, m, zy, relu);
        foreach (var isa in Isas)
        {
            var e = new QuantizedEpilogue(bias is null ? null : Upload(bias), Upload(m), zy, relu);
            byte[] y = Run(isa, expected.Length, (k, yb) => k.QuantizedConv2d(g, Upload(x), zx, Upload(w), e, yb));
            Assert.True(expected.SequenceEqual(y), $"{isa} {g} zx {zx} zy {zy} relu {relu}: first difference at {FirstDifference(expected, y)}");
        }
    }

    private static void CheckDense(int rows, int depth, int units, int seed)
    {
        var rng = new Random(seed);
        byte[] x = Bytes(rng, rows * depth);
        sbyte[] w = Weights(rng, units * depth);
        int zx = rng.Next(256), zy = rng.Next(256);
        bool relu = rng.Next(2) == 0;
        int[]? bias = rng.Next(3) == 0 ? null : [.. Enumerable.Range(0, units).Select(_ => rng.Next(-20000, 20000))];
        float[] m = Multipliers(rng, units, depth);
        byte[] expected = Ref.Dense(x, zx, w, rows, depth, units, bias, m, zy, relu);
        foreach (var isa in Isas)
        {
            var e = new QuantizedEpilogue(bias is null ? null : Upload(bias), Upload(m), zy, relu);
            byte[] y = Run(isa, expected.Length, (k, yb) => k.QuantizedDense(Upload(x), zx, Upload(w), rows, depth, units, e, yb));
            Assert.True(expected.SequenceEqual(y), $"{isa} dense {rows}x{depth}x{units}: first difference at {FirstDifference(expected, y)}");
        }
    }

    private static void CheckDynamicDense(int rows, int depth, int units, int seed)
    {
        var rng = new Random(seed);
        double shift = rng.Next(3) switch { 0 => 0, 1 => 0.5, _ => -0.5 };
        float[] x = [.. Enumerable.Range(0, rows * depth).Select(_ => (float)((rng.NextDouble() - 0.5 + shift) * 6))];
        sbyte[] w = Weights(rng, units * depth);
        float[] scales = [.. Enumerable.Range(0, units).Select(_ => (float)(0.001 + (rng.NextDouble() * 0.02)))];
        float[]? bias = rng.Next(3) == 0 ? null : [.. Enumerable.Range(0, units).Select(_ => (float)rng.NextDouble() - 0.5f)];
        float[] expected = Ref.DynamicDense(x, w, scales, bias, rows, depth, units);
        foreach (var isa in Isas)
        {
            float[] y = Floats(Run(isa, 4 * expected.Length, (k, yb) =>
                k.DynamicQuantizedDense(Upload(x), Upload(w), Upload(scales), bias is null ? null : Upload(bias), rows, depth, units, yb)));
            Assert.Equal(expected, y);
        }
    }

    /// <summary>Multipliers that spread the sums over the output range, some of them powers of two (exact ties).</summary>
    private static float[] Multipliers(Random rng, int count, int depth) =>
        [.. Enumerable.Range(0, count).Select(_ => rng.Next(3) == 0 ? MathF.Pow(2, -rng.Next(6, 12)) : (float)(rng.NextDouble() * 4 / (depth * 127.0)))];

    private static byte[] Bytes(Random rng, int count)
    {
        var b = new byte[count];
        rng.NextBytes(b);
        return b;
    }

    private static sbyte[] Weights(Random rng, int count) => [.. Enumerable.Range(0, count).Select(_ => (sbyte)rng.Next(-127, 128))];

    /// <summary>Runs <paramref name="call"/> on <paramref name="isa"/> into a fresh buffer of <paramref name="bytes"/> bytes and reads it.</summary>
    private static byte[] Run(CpuIsa isa, int bytes, Action<IQuantizedKernels, DeviceBuffer> call)
    {
        var y = Cpu.AllocateBytes(Math.Max(bytes, 1));
        Cpu.UploadBytes(Enumerable.Repeat((byte)0xA5, bytes).ToArray(), y, 0);
        CpuGemmKernelTests.WithIsa(isa, () => call(Cpu, y));
        return Read(y, bytes);
    }

    private static byte[] Read(DeviceBuffer b, int bytes)
    {
        var data = new byte[bytes];
        Cpu.DownloadBytes(b, 0, data);
        return data;
    }

    private static DeviceBuffer Upload<T>(T[] data)
        where T : unmanaged
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan());
        var b = Cpu.AllocateBytes(Math.Max(bytes.Length, 1));
        Cpu.UploadBytes(bytes, b, 0);
        return b;
    }

    private static float[] Floats(byte[] b) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b).ToArray();

    private static int FirstDifference(byte[] a, byte[] b) => Enumerable.Range(0, a.Length).FirstOrDefault(i => a[i] != b[i], -1);
}
