// A CPU buffer: a pinned float array, so kernels can use raw pointers without pinning per call, used
// from its first cache-line boundary (AlignedArrays).

namespace Lepton.Backends.Cpu;

/// <summary>A pinned host array used as device memory by <see cref="CpuBackend"/>.</summary>
internal sealed unsafe class CpuBuffer : DeviceBuffer
{
    public CpuBuffer(int length)
        : base(length)
    {
        data = AlignedArrays.Allocate<float>(Math.Max(length, 1));
        offset = AlignedArrays.Offset(data);
        Pointer = AlignedArrays.Start(data);
    }

    private readonly float[] data;
    private readonly int offset;

    public float* Pointer { get; }

    public Span<float> Span => data.AsSpan(offset, Length);
}
