// A CPU buffer: a pinned array of 8-byte words, so kernels can use raw pointers of any element type without
// pinning per call, used from its first cache-line boundary (AlignedArrays). Sizes are 64-bit.

namespace Lepton.Backends.Cpu;

/// <summary>A pinned host array used as device memory by <see cref="CpuBackend"/>.</summary>
internal sealed unsafe class CpuBuffer : DeviceBuffer
{
    public CpuBuffer(long byteLength)
        : base(byteLength)
    {
        long words = DeviceBuffer.Rounded(byteLength) / sizeof(long);
        if (words + (AlignedArrays.Alignment / sizeof(long)) > Array.MaxLength)
        {
            throw new OutOfMemoryException($"cpu: a buffer of {byteLength} bytes is larger than the largest host array.");
        }

        data = AlignedArrays.Allocate<long>((int)words);
        Base = (byte*)AlignedArrays.Start(data);
    }

    private readonly long[] data;

    /// <summary>The first byte.</summary>
    public byte* Base { get; }

    /// <summary>The buffer as float32 elements.</summary>
    public float* Pointer => (float*)Base;

    /// <summary>The buffer's whole float32 elements.</summary>
    public Span<float> Span => new(Base, Length);

    /// <summary>The buffer's bytes (at most 2^31 - 1 of them).</summary>
    public Span<byte> Bytes => new(Base, (int)Math.Min(ByteLength, int.MaxValue));

    /// <summary>The buffer as elements of <typeparamref name="T"/>.</summary>
    public T* As<T>()
        where T : unmanaged => (T*)Base;
}
