// Where a replayed training step spends its time: each captured call timed as it replays, grouped
// by kernel and shape, with GFLOP/s and the share of the GEMM micro-kernel's peak it reaches.
// Run with: dotnet run -c Release -- --step-profile [steps]   (LEPTON_NUM_THREADS sets the threads)
using System.Diagnostics;
using Lepton.Backends;
using Lepton.Backends.Cpu;
using Lepton.Capture;

namespace Lepton.Benchmarks;

internal static class StepProfile
{
    public static void Run(int steps)
    {
        double peak = MicroKernelPeak() * CpuParallel.Threads;
        Console.WriteLine($"{CpuParallel.Threads} thread(s); micro-kernel peak {peak:F0} GFLOP/s ({peak / CpuParallel.Threads:F0} per thread, 12x32 AVX-512 tile over packed panels in cache)");
        foreach (var name in new[] { "mnist-seed", "cifar-seed" })
        {
            Profile(name, steps, peak);
        }
    }

    private static void Profile(string name, int steps, double peak)
    {
        var training = TrainingCase.Warm(name, captured: true, memoryPlanning: true);
        var rows = new Dictionary<string, (long Ticks, long Calls, double Flops)>();
        CapturedStep.ReplayObserver = (call, ticks) =>
        {
            string key = Describe(call, out double flops);
            rows[key] = rows.TryGetValue(key, out var r) ? (r.Ticks + ticks, r.Calls + 1, r.Flops + flops) : (ticks, 1, flops);
        };
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < steps; i++)
        {
            training.Step();
        }

        long total = Stopwatch.GetTimestamp() - start;
        CapturedStep.ReplayObserver = null;
        training.Model.Dispose();
        double Us(long ticks) => ticks * 1e6 / Stopwatch.Frequency / steps;
        long inCalls = rows.Values.Sum(r => r.Ticks);
        double flopsAll = rows.Values.Sum(r => r.Flops) / steps;
        Console.WriteLine();
        Console.WriteLine($"{name}, batch 64, Adam: {Us(total):F0} us per step over {steps} replayed steps, {flopsAll / 1e6:F0} MFLOP per step in GEMM and convolution kernels: {flopsAll / (Us(total) * 1e3):F0} GFLOP/s, {flopsAll / (Us(total) * 1e3) / peak:P0} of peak");
        Console.WriteLine();
        Console.WriteLine("| kernel (shape) | calls | us per step | share | GFLOP/s | of peak |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (key, r) in rows.OrderByDescending(kv => kv.Value.Ticks))
        {
            double us = Us(r.Ticks);
            string rate = r.Flops > 0 ? $"{r.Flops / steps / (us * 1e3):F0}" : "";
            string share = r.Flops > 0 ? $"{r.Flops / steps / (us * 1e3) / peak:P0}" : "";
            Console.WriteLine($"| {key} | {r.Calls / steps} | {us:F0} | {(double)r.Ticks / total:P1} | {rate} | {share} |");
        }

        Console.WriteLine($"| outside the replayed calls (step bookkeeping, loss read-back) | | {Us(total - inCalls):F0} | {(double)(total - inCalls) / total:P1} | | |");
    }

    /// <summary>The call's kernel and shape, and the floating-point operations it does (0 where not a product).</summary>
    private static string Describe(CapturedCall call, out double flops)
    {
        flops = 0;
        switch (call.Args)
        {
            case GemmArgs g:
                flops = 2.0 * g.M * g.N * g.K * g.Batch;
                return $"{call.Name} {g.M}x{g.N}x{g.K}{(g.TransA ? " A^T" : "")}{(g.TransB ? " B^T" : "")}{(g.Batch > 1 ? $" x{g.Batch}" : "")}";
            case Conv2dGeometry c:
                double one = 2.0 * c.N * c.K * c.CPerGroup * c.R * c.S * c.P * c.Q;
                // The pooled backward computes the input gradient where it has a buffer for it (slot 4) and the filter gradient.
                int products = call.Name == nameof(IFusedKernels.Conv2dPooledBackward) ? (call.Buffers[4] is null ? 0 : 1) + (call.Buffers[5] is null ? 0 : 1) : 1;
                flops = one * products;
                return $"{call.Name} {c.C}->{c.K} {c.H}x{c.W} {c.R}x{c.S}";
            default:
                return call.Name;
        }
    }

    /// <summary>GFLOP/s of the 12x32 micro-kernel on one thread over packed panels that stay in L1/L2 (kc = 256).</summary>
    private static unsafe double MicroKernelPeak()
    {
        if (!System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            return double.NaN;
        }

        const int kc = 256, reps = 20000;
        float* a = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(12 * kc * 4, 64);
        float* b = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(32 * kc * 4, 64);
        float* c = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(12 * 32 * 4, 64);
        for (int i = 0; i < 12 * kc; i++)
        {
            a[i] = 1e-3f;
        }

        for (int i = 0; i < 32 * kc; i++)
        {
            b[i] = 1e-3f;
        }

        double best = 0;
        for (int trial = 0; trial < 5; trial++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++)
            {
                GemmMicroKernels.Avx512Kernel12x32(kc, a, b, c, 32, accumulate: false);
            }

            double seconds = (double)(Stopwatch.GetTimestamp() - t0) / Stopwatch.Frequency;
            best = Math.Max(best, 2.0 * 12 * 32 * kc * reps / seconds / 1e9);
        }

        System.Runtime.InteropServices.NativeMemory.AlignedFree(a);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(b);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(c);
        return best;
    }
}
