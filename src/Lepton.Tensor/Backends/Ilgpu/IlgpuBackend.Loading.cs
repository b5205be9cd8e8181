// Kernel loading: each kernel is compiled on its first launch, once per accelerator, timed, and cached
// by name; later launches reuse the typed launcher (no boxing of arguments).
using System.Diagnostics;
using ILGPU.Runtime;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <summary>The cached launcher named <paramref name="name"/>, compiled by <paramref name="load"/> on first use.</summary>
    /// <remarks>Callers pass non-capturing lambdas, which the compiler caches, so a launch allocates no delegate.</remarks>
    private TLauncher Kernel<TLauncher>(string name, Func<Accelerator, TLauncher> load)
        where TLauncher : Delegate
    {
        BindToThisThread();
        if (kernels.TryGetValue(name, out var cached))
        {
            return (TLauncher)cached;
        }

        lock (launchGate)
        {
            if (!kernels.TryGetValue(name, out cached))
            {
                var clock = Stopwatch.StartNew();
                cached = load(accelerator);
                compileMilliseconds[name] = clock.Elapsed.TotalMilliseconds;
                kernels[name] = cached;
            }
        }

        return (TLauncher)cached;
    }

    /// <summary>
    /// Makes the accelerator's context current on the calling thread. CUDA contexts are per thread, and the
    /// library is called from several (a data loader's worker, finalizers returning buffers, user threads).
    /// </summary>
    private void BindToThisThread() => accelerator.Bind();

    /// <summary>Cache keys of the kernels instantiated for one op struct.</summary>
    private static class Names<TOp>
    {
        public static readonly string Unary = "Unary:" + typeof(TOp).Name;
        public static readonly string UnaryBackward = "UnaryBackward:" + typeof(TOp).Name;
        public static readonly string Binary = "Binary:" + typeof(TOp).Name;
        public static readonly string BiasActivation = "BiasActivation:" + typeof(TOp).Name;
        public static readonly string BiasActivationBackward = "BiasActivationBackward:" + typeof(TOp).Name;
    }
}
