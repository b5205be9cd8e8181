// The one ILGPU context of the process and the accelerators made from it. Probing for CUDA never
// throws: a machine without a GPU or driver simply has zero CUDA devices. ILGPU.Algorithms supplies the
// math functions (tanh, pow, exp, log...) that the kernels call through MathF on every backend.
using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Lepton.Backends.Ilgpu;

/// <summary>Creates ILGPU-backed backends.</summary>
internal static class IlgpuDevices
{
    private static readonly Lazy<Context> SharedContext = new(CreateContext);

    /// <summary>CUDA devices ILGPU found (0 when there is no GPU or driver).</summary>
    public static int CudaCount
    {
        get
        {
            try
            {
                return SharedContext.Value.GetCudaDevices().Count;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A missing or broken driver means no CUDA devices, never a failure of the CPU paths.
                return 0;
            }
        }
    }

    /// <summary>The context with CUDA when the driver can be loaded, else with the CPU accelerator alone.</summary>
    private static Context CreateContext()
    {
        try
        {
            return Context.Create(builder => builder.CPU().Cuda().EnableAlgorithms());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Context.Create(builder => builder.CPU().EnableAlgorithms());
        }
    }

    public static IlgpuBackend CreateCpu(string name)
    {
        var device = SharedContext.Value.GetCPUDevice(0);
        return new IlgpuBackend(name, device.CreateAccelerator(SharedContext.Value));
    }

    public static IlgpuBackend CreateCuda(string name, int ordinal)
    {
        int count = CudaCount;
        if (ordinal < 0 || ordinal >= count)
        {
            throw new InvalidOperationException(count == 0
                ? $"{name}: no CUDA device is available (no NVIDIA GPU or driver was found); use Device.Cpu."
                : $"{name}: there is no CUDA device {ordinal}; this machine has {count} (cuda:0 to cuda:{count - 1}).");
        }

        return new IlgpuBackend(name, SharedContext.Value.CreateCudaAccelerator(ordinal));
    }

    /// <summary>
    /// The PTX ILGPU generates for an explicitly grouped kernel on a CUDA architecture, without a GPU: how tests read
    /// which instructions a kernel compiles to (rounding modifiers, dp4a) on a machine that cannot run it.
    /// </summary>
    /// <param name="kernel">The kernel method, generic arguments bound.</param>
    /// <param name="major">Compute capability, major part.</param>
    /// <param name="minor">Compute capability, minor part.</param>
    public static string Ptx(MethodInfo kernel, int major, int minor)
    {
        var architecture = new CudaArchitecture(major, minor);
        var instructionSet = new CudaInstructionSet(7, 8);
        using var backend = new PTXBackend(SharedContext.Value, new CudaCapabilityContext(architecture), architecture, instructionSet, null);
        var compiled = backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), KernelSpecialization.Empty);
        return ((PTXCompiledKernel)compiled).PTXAssembly;
    }
}
