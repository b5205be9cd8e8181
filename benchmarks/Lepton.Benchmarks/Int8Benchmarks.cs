// Int8 kernels against our float32 ones on the CPU, at 1 and 2 threads: square GEMMs (int8 GOP/s next to SGEMM
// GFLOP/s) and the convolution and dense layers of small CNNs at batch 64 (time of each, and the ratio), with the
// peaks of both from the measured issue rate of their widest instruction. Run with: dotnet run -c Release -- --int8
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Lepton.Backends;
using Lepton.Backends.Cpu;

namespace Lepton.Benchmarks;

internal static unsafe class Int8Benchmarks
{
    private const int Batch = 64;

    private static readonly (string Name, Conv2dGeometry G)[] Convolutions =
    [
        ("conv 1->32 3x3 28x28", Conv(1, 28, 32, 0)),
        ("conv 3->32 3x3 32x32 pad 1", Conv(3, 32, 32, 1)),
        ("conv 32->32 3x3 28x28 pad 1", Conv(32, 28, 32, 1)),
        ("conv 32->64 3x3 26x26", Conv(32, 26, 64, 0)),
        ("conv 64->64 3x3 32x32 pad 1", Conv(64, 32, 64, 1)),
    ];

    private static readonly (string Name, int Depth, int Units)[] Denses = [("dense 1600->128", 1600, 128), ("dense 9216->128", 9216, 128)];

    public static void Run()
    {
        var cpu = (CpuBackend)Device.Cpu.Backend;
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores; float32 ISA {CpuGemm.DetectedIsa}, int8 kernel {Int8Gemm.Kernel}");
        var (ghz, int8Peak, fp32Peak) = Peaks();
        Console.WriteLine($"clock ~{ghz:F2} GHz (chain of dependent 1-cycle integer ops); per-core peaks from the measured issue rate of 12 independent");
        Console.WriteLine($"instructions: int8 {int8Peak:F0} GOP/s (vpdpbusd ymm/s x 32 MAC x 2), float32 {fp32Peak:F0} GFLOP/s (vfmadd zmm/s x 16 x 2)");
        int saved = CpuBackend.Threads;
        foreach (int threads in new[] { 1, 2 })
        {
            CpuBackend.Threads = threads;
            Console.WriteLine();
            Console.WriteLine($"## {threads} thread(s): int8 QuantizedDense n x n x n vs float32 Gemm");
            Console.WriteLine("| n | int8 GOP/s | float32 GFLOP/s | int8 / float32 |");
            Console.WriteLine("|---:|---:|---:|---:|");
            foreach (int n in new[] { 256, 512, 768, 1024 })
            {
                double ops = 2.0 * n * n * n;
                double t8 = DenseInt8(cpu, n, n, n), t32 = DenseFloat(cpu, n, n, n);
                Console.WriteLine($"| {n} | {ops / t8 / 1e9:F0} | {ops / t32 / 1e9:F0} | {t32 / t8:F2} |");
            }

            Console.WriteLine();
            Console.WriteLine($"## {threads} thread(s): layers at batch {Batch} (int8 with its requantizing epilogue; float32 convolution fused with bias + ReLU, float32 dense the GEMM alone)");
            Console.WriteLine("| layer | int8 ms | int8 GOP/s | float32 ms | float32 GFLOP/s | float32 / int8 time |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var (name, g) in Convolutions)
            {
                double ops = 2.0 * g.N * g.K * g.P * g.Q * g.CPerGroup * g.R * g.S;
                Row(name, ops, ConvInt8(cpu, g), ConvFloat(cpu, g));
            }

            foreach (var (name, depth, units) in Denses)
            {
                double ops = 2.0 * Batch * depth * units;
                Row(name, ops, DenseInt8(cpu, Batch, depth, units), DenseFloat(cpu, Batch, depth, units));
                Row(name + " dynamic", ops, DynamicDense(cpu, Batch, depth, units), DenseFloat(cpu, Batch, depth, units));
            }
        }

        CpuBackend.Threads = saved;
    }

    private static Conv2dGeometry Conv(int c, int size, int k, int pad) => new(Batch, c, size, size, k, 3, 3, 1, 1, pad, pad, pad, pad, 1, 1, 1);

    private static void Row(string name, double ops, double t8, double t32) =>
        Console.WriteLine($"| {name} | {t8 * 1e3:F3} | {ops / t8 / 1e9:F0} | {t32 * 1e3:F3} | {ops / t32 / 1e9:F0} | {t32 / t8:F2} |");

    private static double ConvInt8(CpuBackend cpu, Conv2dGeometry g)
    {
        var rng = new Random(1);
        var x = Bytes(cpu, rng, (long)g.N * g.C * g.H * g.W);
        var w = Bytes(cpu, rng, (long)g.K * g.CPerGroup * g.R * g.S);
        var e = Epilogue(cpu, rng, g.K, g.CPerGroup * g.R * g.S);
        var y = cpu.AllocateBytes((long)g.N * g.K * g.P * g.Q);
        return Time(() => cpu.QuantizedConv2d(g, x, 128, w, e, y));
    }

    private static double ConvFloat(CpuBackend cpu, Conv2dGeometry g)
    {
        var gen = new Generator(1);
        using var x = Tensor.RandN([g.N, g.C, g.H, g.W], gen);
        using var w = Tensor.RandN([g.K, g.CPerGroup, g.R, g.S], gen);
        using var b = Tensor.RandN([g.K], gen);
        using var y = Tensor.Zeros([g.N, g.K, g.P, g.Q]);
        if (cpu.SupportsConv2dBiasRelu(g))
        {
            return Time(() => cpu.Conv2dBiasReluForward(g, x.Buffer, w.Buffer, b.Buffer, y.Buffer));
        }

        return Time(() => cpu.Conv2dForward(g, x.Buffer, w.Buffer, y.Buffer));
    }

    private static double DenseInt8(CpuBackend cpu, int rows, int depth, int units)
    {
        var rng = new Random(2);
        var x = Bytes(cpu, rng, (long)rows * depth);
        var w = Bytes(cpu, rng, (long)units * depth);
        var e = Epilogue(cpu, rng, units, depth);
        var y = cpu.AllocateBytes((long)rows * units);
        return Time(() => cpu.QuantizedDense(x, 128, w, rows, depth, units, e, y));
    }

    private static double DynamicDense(CpuBackend cpu, int rows, int depth, int units)
    {
        var rng = new Random(3);
        var gen = new Generator(3);
        using var x = Tensor.RandN([rows, depth], gen);
        var w = Bytes(cpu, rng, (long)units * depth);
        using var scales = Tensor.Full([units], 0.01f);
        using var bias = Tensor.RandN([units], gen);
        using var y = Tensor.Zeros([rows, units]);
        return Time(() => cpu.DynamicQuantizedDense(x.Buffer, w, scales.Buffer, bias.Buffer, rows, depth, units, y.Buffer));
    }

    private static double DenseFloat(CpuBackend cpu, int rows, int depth, int units)
    {
        var gen = new Generator(4);
        using var x = Tensor.RandN([rows, depth], gen);
        using var w = Tensor.RandN([units, depth], gen);
        using var y = Tensor.Zeros([rows, units]);
        var args = new GemmArgs(false, true, rows, units, depth, 1f, x.Buffer, 0, depth, 0, w.Buffer, 0, depth, 0, 0f, y.Buffer, 0, units, 0);
        return Time(() => cpu.Gemm(args));
    }

    private static DeviceBuffer Bytes(CpuBackend cpu, Random rng, long count)
    {
        var data = new byte[count];
        rng.NextBytes(data);
        for (int i = 0; i < data.Length; i++)
        {
            // Int8 weights stay in [-127, 127]; uint8 inputs use the whole range either way.
            data[i] = data[i] == 0x80 ? (byte)0 : data[i];
        }

        var b = cpu.AllocateBytes(count);
        cpu.UploadBytes(data, b, 0);
        return b;
    }

    private static QuantizedEpilogue Epilogue(CpuBackend cpu, Random rng, int channels, int depth)
    {
        var bias = cpu.AllocateBytes(4L * channels);
        var m = cpu.AllocateBytes(4L * channels);
        var biasValues = new int[channels];
        var multipliers = new float[channels];
        for (int i = 0; i < channels; i++)
        {
            biasValues[i] = rng.Next(-1000, 1000);
            multipliers[i] = (float)(2.0 / (depth * 64.0));
        }

        cpu.UploadBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(biasValues.AsSpan()), bias, 0);
        cpu.UploadBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(multipliers.AsSpan()), m, 0);
        return new QuantizedEpilogue(bias, m, 3, true);
    }

    /// <summary>Median seconds of one call, after warm-up, over at least 5 calls and about 0.4 s.</summary>
    private static double Time(Action call)
    {
        for (int i = 0; i < 3; i++)
        {
            call();
        }

        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || (total.ElapsedMilliseconds < 400 && times.Count < 2000))
        {
            long start = Stopwatch.GetTimestamp();
            call();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }

    /// <summary>The clock (GHz) and the int8 and float32 peaks of one core (GOP/s, GFLOP/s), best of 3 tries each.</summary>
    private static (double Ghz, double Int8, double Fp32) Peaks()
    {
        double ghz = 0, int8 = 0, fp32 = 0;
        const long n = 20_000_000;
        for (int i = 0; i < 3; i++)
        {
            long start = Stopwatch.GetTimestamp();
            long chain = Chain(n, i);
            ghz = Math.Max(ghz, 8.0 * n / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
            if (AvxVnni.IsSupported)
            {
                start = Stopwatch.GetTimestamp();
                var v = Vnni(n, Vector256.Create(i), Vector256<sbyte>.One);
                int8 = Math.Max(int8, 12.0 * n * 64 / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
                chain ^= v.ToScalar();
            }

            if (Avx512F.IsSupported)
            {
                start = Stopwatch.GetTimestamp();
                var v = Fma(n, Vector512.Create((float)i), Vector512.Create(0.5f));
                fp32 = Math.Max(fp32, 12.0 * n * 32 / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
                chain ^= (long)v.ToScalar();
            }

            GC.KeepAlive(chain);
        }

        return (ghz, int8, fp32);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Chain(long n, long x)
    {
        for (long i = 0; i < n; i++)
        {
            x += i;
            x ^= 0x5555;
            x += i;
            x ^= 0x3333;
            x += i;
            x ^= 0x0F0F;
            x += i;
            x ^= 0x00FF;
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector256<int> Vnni(long n, Vector256<int> start, Vector256<sbyte> w)
    {
        var b = start.AsByte();
        Vector256<int> c0 = start, c1 = start + Vector256<int>.One, c2 = c1 + c1, c3 = c2 + c1, c4 = c3 + c1, c5 = c4 + c1;
        Vector256<int> c6 = c5 + c1, c7 = c6 + c1, c8 = c7 + c1, c9 = c8 + c1, c10 = c9 + c1, c11 = c10 + c1;
        for (long i = 0; i < n; i++)
        {
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, b, w);
            c1 = AvxVnni.MultiplyWideningAndAdd(c1, b, w);
            c2 = AvxVnni.MultiplyWideningAndAdd(c2, b, w);
            c3 = AvxVnni.MultiplyWideningAndAdd(c3, b, w);
            c4 = AvxVnni.MultiplyWideningAndAdd(c4, b, w);
            c5 = AvxVnni.MultiplyWideningAndAdd(c5, b, w);
            c6 = AvxVnni.MultiplyWideningAndAdd(c6, b, w);
            c7 = AvxVnni.MultiplyWideningAndAdd(c7, b, w);
            c8 = AvxVnni.MultiplyWideningAndAdd(c8, b, w);
            c9 = AvxVnni.MultiplyWideningAndAdd(c9, b, w);
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, b, w);
            c11 = AvxVnni.MultiplyWideningAndAdd(c11, b, w);
        }

        return c0 ^ c1 ^ c2 ^ c3 ^ c4 ^ c5 ^ c6 ^ c7 ^ c8 ^ c9 ^ c10 ^ c11;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> Fma(long n, Vector512<float> start, Vector512<float> w)
    {
        Vector512<float> c0 = start, c1 = start + w, c2 = c1 + w, c3 = c2 + w, c4 = c3 + w, c5 = c4 + w;
        Vector512<float> c6 = c5 + w, c7 = c6 + w, c8 = c7 + w, c9 = c8 + w, c10 = c9 + w, c11 = c10 + w;
        for (long i = 0; i < n; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, w, w);
            c1 = Avx512F.FusedMultiplyAdd(c1, w, w);
            c2 = Avx512F.FusedMultiplyAdd(c2, w, w);
            c3 = Avx512F.FusedMultiplyAdd(c3, w, w);
            c4 = Avx512F.FusedMultiplyAdd(c4, w, w);
            c5 = Avx512F.FusedMultiplyAdd(c5, w, w);
            c6 = Avx512F.FusedMultiplyAdd(c6, w, w);
            c7 = Avx512F.FusedMultiplyAdd(c7, w, w);
            c8 = Avx512F.FusedMultiplyAdd(c8, w, w);
            c9 = Avx512F.FusedMultiplyAdd(c9, w, w);
            c10 = Avx512F.FusedMultiplyAdd(c10, w, w);
            c11 = Avx512F.FusedMultiplyAdd(c11, w, w);
        }

        return c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
    }
}
