// The CPU kernels are marked AggressiveOptimization (see CpuBackend.cs), so each is compiled in full, on
// the thread that first calls it, the first time it runs: a convolutional network's first training step
// spent most of its time in the JIT (some 250 methods). When the backend starts, a background thread
// compiles them ahead of use, which overlaps the JIT with whatever the program does before its first step
// (loading data, building the model). A kernel the program reaches first is
// compiled by that call as before; the runtime compiles each method once either way.
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

/// <summary>Compiles the CPU backend's kernels on a background thread.</summary>
internal static class KernelWarmup
{
    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    private static int started;

    /// <summary>How many kernels the background thread has compiled (tests read it once <see cref="Completion"/> is done).</summary>
    public static int Compiled { get; private set; }

    /// <summary>Finishes when the background compilation has (or was never started, where code is not compiled at run time).</summary>
    public static Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>What stopped the background compilation, if anything did (the kernels left are compiled on first use, as
    /// without it; tests check that nothing did).</summary>
    public static Exception? Failure { get; private set; }

    /// <summary>Starts the background compilation once per process.</summary>
    public static void Start()
    {
        if (!RuntimeFeature.IsDynamicCodeCompiled || Interlocked.Exchange(ref started, 1) != 0)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Completion = done.Task;
        new Thread(() =>
        {
            try
            {
                CompileKernels();
            }
            catch (Exception e)
            {
                // Never let an ahead-of-use compilation take the process down: the rest compile on first use.
                Failure = e;
            }

            done.SetResult();
        })
        {
            IsBackground = true,
            Priority = ThreadPriority.BelowNormal,
            Name = "Lepton kernel compilation",
        }.Start();
    }

    /// <summary>Compiles every method of <see cref="Kernels"/>, counting them in <see cref="Compiled"/>.</summary>
    private static void CompileKernels()
    {
        foreach (var method in Kernels())
        {
            RuntimeHelpers.PrepareMethod(method.MethodHandle);
            Compiled++;
        }
    }

    /// <summary>The methods the background thread compiles: every non-generic, non-abstract method marked
    /// AggressiveOptimization of the kernel classes and of the types nested in them (the closures of the parallel
    /// loops' bodies among them).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only compiles what is there: a method trimmed away is not needed.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Only compiles what is there: a method trimmed away is not needed.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Only compiles what is there: a method trimmed away is not needed.")]
    internal static IEnumerable<MethodInfo> Kernels()
    {
        var pending = new Stack<Type>([typeof(CpuBackend), typeof(CpuGemm), typeof(GemmMicroKernels), typeof(CpuParallel)]);
        while (pending.TryPop(out var type))
        {
            foreach (var nested in type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
            {
                pending.Push(nested);
            }

            if (type.ContainsGenericParameters)
            {
                continue;
            }

            foreach (var method in type.GetMethods(Declared))
            {
                if ((method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0 &&
                    !method.ContainsGenericParameters && !method.IsAbstract)
                {
                    yield return method;
                }
            }
        }
    }
}
