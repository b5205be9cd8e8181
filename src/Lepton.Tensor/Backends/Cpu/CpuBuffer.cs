// A CPU buffer: a pinned float array, so kernels can use raw pointers without pinning per call.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Lepton.Backends.Cpu;

/// <summary>A pinned host array used as device memory by <see cref="CpuBackend"/>.</summary>
internal sealed unsafe class CpuBuffer : DeviceBuffer
{
    public CpuBuffer(int length)
        : base(length)
    {
        Data = GC.AllocateUninitializedArray<float>(Math.Max(length, 1), pinned: true);
        Pointer = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(Data));
    }

    public float[] Data { get; }

    public float* Pointer { get; }

    public Span<float> Span => Data.AsSpan(0, Length);
}
