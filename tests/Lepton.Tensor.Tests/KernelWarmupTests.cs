// The CPU backend compiles its kernels on a background thread when it starts: the thread finishes, reaches the
// kernels of every family (GEMM micro-kernels, convolutions, the parallel loops' bodies), and nothing stops it.
using System.Reflection;
using System.Runtime.CompilerServices;
using Lepton.Backends.Cpu;

namespace Lepton.Tests;

public sealed class KernelWarmupTests
{
    [Fact]
    public async Task TheKernelsAreCompiledInTheBackgroundWithoutFailure()
    {
        using var started = Tensor.Zeros([4]);
        await KernelWarmup.Completion.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Null(KernelWarmup.Failure);

        // It reaches the GEMM micro-kernels, the convolutions and the closures of the parallel loops, and compiles all.
        var kernels = KernelWarmup.Kernels().ToList();
        int expected = kernels.Count;
        int closures = kernels.Count(m => m.DeclaringType!.IsDefined(typeof(CompilerGeneratedAttribute)));
        Assert.Contains(kernels, m => m.DeclaringType == typeof(GemmMicroKernels) && m.Name == nameof(GemmMicroKernels.Avx512Kernel12x32));
        Assert.Contains(kernels, m => m.DeclaringType == typeof(CpuBackend) && m.Name == "DirectPooledRow");
        Assert.True(closures > 0, "no parallel loop body is marked for optimization on first use");
        Assert.True(expected > 50, $"only {expected} kernels are marked for optimization on first use");
        Assert.Equal(expected, KernelWarmup.Compiled);
    }
}
