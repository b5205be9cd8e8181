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

        // Every method it should reach: the kernel classes' and their closures' non-generic methods marked for
        // optimization on first use (at least the GEMM micro-kernels and the closures of the parallel loops).
        int expected = 0, closures = 0;
        var pending = new Stack<Type>([typeof(CpuBackend), typeof(CpuGemm), typeof(GemmMicroKernels), typeof(CpuParallel)]);
        while (pending.TryPop(out var type))
        {
            foreach (var nested in type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
            {
                pending.Push(nested);
            }

            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if ((method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0 &&
                    !method.ContainsGenericParameters && !type.ContainsGenericParameters)
                {
                    expected++;
                    closures += type.IsDefined(typeof(CompilerGeneratedAttribute)) ? 1 : 0;
                }
            }
        }

        Assert.True(closures > 0, "no parallel loop body is marked for optimization on first use");
        Assert.True(expected > 50, $"only {expected} kernels are marked for optimization on first use");
        Assert.Equal(expected, KernelWarmup.Compiled);
    }
}
