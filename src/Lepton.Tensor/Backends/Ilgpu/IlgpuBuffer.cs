// Device memory of an ILGPU accelerator (GPU memory on CUDA, host memory on ILGPU's CPU accelerator).
using ILGPU;
using ILGPU.Runtime;

namespace Lepton.Backends.Ilgpu;

/// <summary>An accelerator allocation used as a <see cref="DeviceBuffer"/> by <see cref="IlgpuBackend"/>.</summary>
internal sealed class IlgpuBuffer : DeviceBuffer
{
    public IlgpuBuffer(MemoryBuffer1D<float, Stride1D.Dense> memory, int length)
        : base(length)
    {
        Memory = memory;
        View = memory.View.AsContiguous();
    }

    public MemoryBuffer1D<float, Stride1D.Dense> Memory { get; }

    /// <summary>The whole allocation (at least one element, even for an empty buffer).</summary>
    public ArrayView<float> View { get; }
}
