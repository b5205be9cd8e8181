// Device memory of an ILGPU accelerator (GPU memory on CUDA, host memory on ILGPU's CPU accelerator), allocated
// as 8-byte words so that it can be viewed as elements of any type. Sizes are 64-bit.
using ILGPU;
using ILGPU.Runtime;

namespace Lepton.Backends.Ilgpu;

/// <summary>An accelerator allocation used as a <see cref="DeviceBuffer"/> by <see cref="IlgpuBackend"/>.</summary>
internal sealed class IlgpuBuffer : DeviceBuffer
{
    public IlgpuBuffer(MemoryBuffer1D<long, Stride1D.Dense> memory, long byteLength)
        : base(byteLength)
    {
        Memory = memory;
        Words = memory.View.AsContiguous();
        View = Words.Cast<float>();
    }

    public MemoryBuffer1D<long, Stride1D.Dense> Memory { get; }

    /// <summary>The whole allocation as 8-byte words (at least one).</summary>
    public ArrayView<long> Words { get; }

    /// <summary>The whole allocation as float32 elements.</summary>
    public ArrayView<float> View { get; }

    /// <summary>The whole allocation as elements of <typeparamref name="T"/>.</summary>
    public ArrayView<T> ViewAs<T>()
        where T : unmanaged => Words.Cast<T>();
}
