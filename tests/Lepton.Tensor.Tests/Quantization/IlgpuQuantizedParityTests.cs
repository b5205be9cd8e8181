// The int8 kernels run by ILGPU's CPU accelerator against the float64 reference and the CPU backend, bit for bit, on
// FsCheck-drawn small shapes: every primitive, and convolutions over strides, per-side padding (and cropping),
// dilation and groups.
// The accelerator is an emulator, so shapes stay tiny; a GEMM of up to 20 x 20 still spans several of its 16 x 16 tiles.
using FsCheck;
using FsCheck.Fluent;
using Lepton.Backends;
using Lepton.Backends.Ilgpu;
using Lepton.Capture;
using Lepton.Kernels;
using Lepton.Tests.Support;

namespace Lepton.Tests.Quantization;

[Collection(IlgpuCpuCollection.Name)]
public sealed class IlgpuQuantizedParityTests
{
    private static readonly QuantizedParityChecks Checks = new(Device.IlgpuCpu);

    private static Gen<int> Seed => Gen.Choose(0, 1 << 30);

    private static Gen<bool> Flag => Gen.Elements(true, false);

    public static TheoryData<string> CaseNames => [.. QuantizedParityChecks.Cases().Select(c => c.Name)];

    [Fact]
    public void QuantizeAndDequantizeMatch() =>
        Generators.ForAll(
            from length in Gen.Choose(1, 300)
            from type in Gen.Elements(DType.UInt8, DType.Int8)
            from seed in Seed
            select (length, type, seed),
            c =>
            {
                Checks.Quantize(c.length, c.type, c.seed);
                Checks.Dequantize(c.length, c.type, c.seed);
            });

    [Fact]
    public void RequantizeAndAddMatch() =>
        Generators.ForAll(
            from length in Gen.Choose(1, 300)
            from relu in Flag
            from seed in Seed
            select (length, relu, seed),
            c =>
            {
                Checks.Requantize(c.length, c.seed);
                Checks.Add(c.length, c.relu, c.seed);
            });

    [Fact]
    public void FakeQuantizeAndItsGradientMatch() =>
        Generators.ForAll(
            from outer in Gen.Choose(1, 3)
            from channels in Gen.Choose(1, 4)
            from inner in Gen.Choose(1, 6)
            from range in Gen.Elements((0, 255), (-127, 127), (-128, 127))
            from seed in Seed
            select (outer, channels, inner, range, seed),
            c => Checks.FakeQuantize(c.outer, c.channels, c.inner, c.range.Item1, c.range.Item2, c.seed));

    [Fact]
    public void MaxPoolMatches() =>
        Generators.ForAll(
            from planes in Gen.Choose(1, 3)
            from size in Gen.Two(Gen.Choose(1, 7))
            from kernel in Gen.Two(Gen.Choose(1, 3))
            from stride in Gen.Two(Gen.Choose(1, 3))
            from pad in Gen.ArrayOf(Gen.Choose(0, 1), 4)
            from dilation in Gen.Two(Gen.Choose(1, 2))
            from ceil in Flag
            let g = new Pool2dGeometry(1, planes, size.Item1, size.Item2, kernel.Item1, kernel.Item2, stride.Item1, stride.Item2,
                Math.Min(pad[0], kernel.Item1 - 1), pad[1], Math.Min(pad[2], kernel.Item2 - 1), pad[3], dilation.Item1, dilation.Item2, ceil)
            where g.P > 0 && g.Q > 0
            from seed in Seed
            select (g, seed),
            c => Checks.MaxPool(c.g, c.seed));

    [Fact]
    public void Conv2dMatchesOnEveryGeometry() =>
        Generators.ForAll(
            from n in Gen.Choose(1, 2)
            from groups in Gen.Elements(1, 1, 2, 3)
            from channelsPerGroup in Gen.Choose(1, 3)
            from filtersPerGroup in Gen.Choose(1, 3)
            from size in Gen.Two(Gen.Choose(1, 7))
            from filter in Gen.Two(Gen.Choose(1, 3))
            from stride in Gen.Two(Gen.Choose(1, 3))
            from pad in Gen.ArrayOf(Gen.Choose(0, 2), 4)
            from crop in Gen.Two(Gen.Elements(0, 0, 0, -1))
            from dilation in Gen.Two(Gen.Choose(1, 2))
            let g = new Conv2dGeometry(n, groups * channelsPerGroup, size.Item1, size.Item2, groups * filtersPerGroup, filter.Item1, filter.Item2,
                stride.Item1, stride.Item2, pad[0], pad[1] + crop.Item1, pad[2], pad[3] + crop.Item2, dilation.Item1, dilation.Item2, groups)
            where g.P > 0 && g.Q > 0
            from bias in Flag
            from relu in Flag
            from seed in Seed
            select (g, bias, relu, seed),
            c => Checks.Conv2d(c.g, c.bias, c.relu, c.seed),
            maxTest: 60);

    [Fact]
    public void DenseMatches() =>
        Generators.ForAll(
            from rows in Gen.Choose(1, 20)
            from depth in Gen.OneOf(Gen.Choose(1, 40), Gen.Choose(1, 10).Select(d => 4 * d))
            from units in Gen.Choose(1, 20)
            from bias in Flag
            from relu in Flag
            from seed in Seed
            select (rows, depth, units, bias, relu, seed),
            c => Checks.Dense(c.rows, c.depth, c.units, c.bias, c.relu, c.seed));

    [Fact]
    public void DynamicDenseMatches() =>
        Generators.ForAll(
            from rows in Gen.Choose(1, 12)
            from depth in Gen.OneOf(Gen.Choose(1, 40), Gen.Choose(1, 10).Select(d => 4 * d))
            from units in Gen.Choose(1, 20)
            from bias in Flag
            from seed in Seed
            select (rows, depth, units, bias, seed),
            c => Checks.DynamicDense(c.rows, c.depth, c.units, c.bias, c.seed));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void SelfCheckCasesMatch(string name) => QuantizedParityChecks.Cases().Single(c => c.Name == name).Run(Checks);

    [Fact]
    public void SoftwareDp4aIsTheByteDotProduct()
    {
        var rng = new Random(5);
        int[] edges = [0, -1, int.MinValue, int.MaxValue, 0x7F7F7F7F, unchecked((int)0x80808080), 0x01010101, unchecked((int)0xFF00FF00)];
        for (int i = 0; i < 2000; i++)
        {
            int a = i < edges.Length * edges.Length ? edges[i % edges.Length] : rng.Next() ^ (rng.Next() << 1);
            int b = i < edges.Length * edges.Length ? edges[i / edges.Length] : rng.Next() ^ (rng.Next() << 1);
            int c = rng.Next(int.MinValue, int.MaxValue);
            int expected = c;
            for (int j = 0; j < 4; j++)
            {
                expected = unchecked(expected + ((sbyte)(a >> (8 * j)) * (byte)(b >> (8 * j))));
            }

            Assert.Equal(expected, SoftwareDot4.Software(a, b, c));
            Assert.Equal(expected, default(Dp4a).Dot(a, b, c));
        }
    }

    /// <summary>
    /// The CUDA code, read as PTX on this machine (ILGPU compiles without a GPU): every float32 product followed by a sum
    /// is mul.rn / add.rn, which ptxas never contracts into an fma; rounding is cvt.rni (ties to even); the int8 GEMM's
    /// dot product is dp4a. The plain C# forms stay in the PTX only behind ILGPU's constant CudaAsm.IsSupported
    /// predicate, a branch that never runs and that ptxas drops.
    /// </summary>
    [Fact]
    public void PtxKeepsEveryFloatStepApartAndUsesDp4a()
    {
        string Ptx(string name, params Type[] typeArguments)
        {
            var method = (typeof(QuantizedKernels).GetMethod(name) ?? typeof(QuantizedGemmKernels).GetMethod(name))!;
            return IlgpuDevices.Ptx(typeArguments.Length == 0 ? method : method.MakeGenericMethod(typeArguments), 9, 0);
        }

        string add = Ptx(nameof(QuantizedKernels.Add));
        Assert.Contains("add.rn.f32", add);
        Assert.Contains("mul.rn.f32", add);
        Assert.Contains("cvt.rni.f32.f32", add);
        Assert.DoesNotContain("fma", add);

        string dense = Ptx(nameof(QuantizedGemmKernels.DenseForward), typeof(RequantizingEpilogue), typeof(Dp4a));
        Assert.Contains("dp4a.s32.u32", dense);
        Assert.DoesNotContain("dp4a", Ptx(nameof(QuantizedGemmKernels.DenseForward), typeof(RequantizingEpilogue), typeof(SoftwareDot4)));

        string dynamicDense = Ptx(nameof(QuantizedGemmKernels.DenseForward), typeof(DequantizingEpilogue), typeof(Dp4a));
        Assert.Contains("add.rn.f32", dynamicDense);
        Assert.DoesNotContain("fma", dynamicDense);
        Ptx(nameof(QuantizedKernels.ConvForward), typeof(RequantizingEpilogue));
        Ptx(nameof(QuantizedKernels.Quantize));
        Ptx(nameof(QuantizedKernels.FakeQuantize));
        Ptx(nameof(QuantizedKernels.DynamicRange));
    }

    [Fact]
    public void BadArgumentsAreRefusedBeforeAnyLaunch()
    {
        var backend = Device.IlgpuCpu.Backend;
        var k = (IQuantizedKernels)backend;
        var buffers = new List<DeviceBuffer>();
        DeviceBuffer Bytes(int n)
        {
            var b = backend.AllocateBytes(n);
            backend.UploadBytes(new byte[n], b, 0);
            buffers.Add(b);
            return b;
        }

        void Refused(string op, Action call) => Assert.Contains(op, Assert.Throws<ArgumentException>(call).Message);
        try
        {
            DeviceBuffer small = Bytes(16), floats = Bytes(64), mult = Bytes(16);
            Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0.1f, 0, DType.Float32, small));
            Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0.1f, 256, DType.UInt8, small));
            Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0.1f, -128, DType.Int8, small));
            Refused(nameof(k.Quantize), () => k.Quantize(floats, 16, 0f, 0, DType.UInt8, small));
            Refused(nameof(k.Quantize), () => k.Quantize(floats, 17, 0.1f, 0, DType.UInt8, small));
            Refused(nameof(k.Dequantize), () => k.Dequantize(small, DType.Int32, 16, 0.1f, 0, floats));
            Refused(nameof(k.Requantize), () => k.Requantize(small, 16, -1, 0.5f, 0, small));
            Refused(nameof(k.Requantize), () => k.Requantize(small, 16, 0, float.PositiveInfinity, 0, small));
            Refused(nameof(k.QuantizedAdd), () => k.QuantizedAdd(small, 0, 1f, small, 0, 1f, 16, 300, false, small));
            Refused(nameof(k.QuantizedAdd), () => k.QuantizedAdd(small, 0, 1f, small, 0, 1f, 17, 0, false, small));
            Refused(nameof(k.FakeQuantize), () => k.FakeQuantize(floats, 1, 1, 16, floats, floats, 10, 0, floats));
            Refused(nameof(k.FakeQuantizeBackward), () => k.FakeQuantizeBackward(floats, floats, 1, 2, 16, floats, floats, 0, 255, floats));
            Refused(nameof(k.QuantizedMaxPool2d), () => k.QuantizedMaxPool2d(new Pool2dGeometry(1, 2, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0), Bytes(31), small));

            var epilogue = new QuantizedEpilogue(null, mult, 0, false);
            var grouped = new Conv2dGeometry(1, 3, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2);
            Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(grouped, Bytes(48), 0, Bytes(12), epilogue, Bytes(64)));
            var g = new Conv2dGeometry(1, 1, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
            Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(g, small, 256, small, epilogue, Bytes(64)));
            Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(g, small, 0, small, epilogue, Bytes(8)));
            Refused(nameof(k.QuantizedConv2d), () => k.QuantizedConv2d(g, small, 0, small, epilogue with { Bias = Bytes(12) }, Bytes(64)));
            Refused(nameof(k.QuantizedDense), () => k.QuantizedDense(small, 0, small, 2, 8, 2, epilogue with { ZeroPoint = -1 }, small));
            Refused(nameof(k.QuantizedDense), () => k.QuantizedDense(small, 0, small, 2, 8, 5, epilogue, small));
            int deep = QuantizedArguments.MaxDepth + 1;
            var deepBuffer = Bytes(deep);
            var one = Bytes(4);
            Refused(nameof(k.QuantizedDense), () => k.QuantizedDense(deepBuffer, 0, deepBuffer, 1, deep, 1, new QuantizedEpilogue(null, one, 0, false), small));
            Refused(nameof(k.DynamicQuantizedDense), () => k.DynamicQuantizedDense(Bytes(4 * deep), deepBuffer, one, null, 1, deep, 1, one));
            Refused(nameof(k.DynamicQuantizedDense), () => k.DynamicQuantizedDense(floats, small, one, null, 2, 8, 2, floats));
        }
        finally
        {
            foreach (var b in buffers)
            {
                backend.Pool.Return(b);
            }
        }
    }

    [Fact]
    public void ACapturedStepReplaysTheInt8KernelsOnTheDevice()
    {
        var backend = Device.IlgpuCpu.Backend;
        var g = new Conv2dGeometry(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1);
        int convBytes = g.N * g.K * g.P * g.Q, depth = convBytes / g.N;
        var rng = new Random(7);
        byte[] x1 = new byte[g.N * g.C * g.H * g.W], x2 = new byte[x1.Length];
        rng.NextBytes(x1);
        rng.NextBytes(x2);
        sbyte[] w = [.. Enumerable.Range(0, g.K * g.C * 9).Select(_ => (sbyte)rng.Next(-127, 128))];
        sbyte[] wd = [.. Enumerable.Range(0, 5 * depth).Select(_ => (sbyte)rng.Next(-127, 128))];
        float[] m = [.. Enumerable.Range(0, 5).Select(_ => 0.002f)];
        float[] f1 = [.. Enumerable.Range(0, 2 * 7).Select(_ => (float)rng.NextDouble() - 0.3f)], f2 = [.. f1.Select(v => (2 * v) + 0.1f)];
        float[] scales = [0.01f, 0.02f, 0.03f];
        var buffers = new List<DeviceBuffer>();
        DeviceBuffer Upload(byte[] data)
        {
            var b = backend.AllocateBytes(data.Length);
            backend.UploadBytes(data, b, 0);
            buffers.Add(b);
            return b;
        }

        var (x, wb, wdb, mb, f, scaleBuffer) = (Upload(x1), Upload(QuantizedParityChecks.Bytes(w)), Upload(QuantizedParityChecks.Bytes(wd)),
            Upload(QuantizedParityChecks.Bytes(m)), Upload(QuantizedParityChecks.Bytes(f1)), Upload(QuantizedParityChecks.Bytes(scales)));
        var (conv, y, dynamicY) = (Upload(new byte[convBytes]), Upload(new byte[10]), Upload(new byte[4 * 2 * 3]));
        CapturedStep? step;
        var capture = StepCapture.Begin(Device.IlgpuCpu);
        try
        {
            var k = (IQuantizedKernels)Device.IlgpuCpu.Backend;
            Assert.IsNotType<IlgpuBackend>(k);
            k.QuantizedConv2d(g, x, 100, wb, new QuantizedEpilogue(null, mb, 3, true), conv);
            k.QuantizedDense(conv, 3, wdb, 2, depth, 5, new QuantizedEpilogue(null, mb, 7, false), y);
            k.DynamicQuantizedDense(f, wb, scaleBuffer, null, 2, 7, 3, dynamicY); // the first 21 filter bytes as [3, 7] weights
            step = capture.End([y, dynamicY], new CaptureSettings(), out string? reason, out _);
            Assert.True(step is not null, reason);
        }
        finally
        {
            capture.Dispose();
        }

        try
        {
            using (step)
            {
                backend.UploadBytes(x2, x, 0);
                backend.UploadBytes(QuantizedParityChecks.Bytes(f2), f, 0);
                step!.Replay();
                byte[] c2 = QuantizedReference.Conv2d(g, x2, 100, w, null, m, 3, true);
                var dense = new byte[10];
                backend.DownloadBytes(y, 0, dense);
                Assert.Equal(QuantizedReference.Dense(c2, 3, wd, 2, depth, 5, null, m, 7, false), dense);
                var dynamicBytes = new byte[4 * 2 * 3];
                backend.DownloadBytes(dynamicY, 0, dynamicBytes);
                float[] expected = QuantizedReference.DynamicDense(f2, w[..21], scales, null, 2, 7, 3);
                Assert.Equal(QuantizedParityChecks.Bytes(expected), dynamicBytes);
            }
        }
        finally
        {
            foreach (var b in buffers)
            {
                backend.Pool.Return(b);
            }
        }
    }
}
