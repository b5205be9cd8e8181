// A block of device memory handed out by a backend's pool. It holds raw bytes; the tensor over it says
// which element type they are. Float32 kernels see it as Length floats.
namespace Lepton.Backends;

/// <summary>A backend-owned block of device memory of <see cref="ByteLength"/> bytes.</summary>
public abstract class DeviceBuffer
{
    /// <summary>Creates a buffer record of the given size in bytes.</summary>
    /// <param name="byteLength">The usable size in bytes.</param>
    protected DeviceBuffer(long byteLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        ByteLength = byteLength;
    }

    /// <summary>The usable size in bytes.</summary>
    public long ByteLength { get; }

    /// <summary>Which rental from its pool this buffer is on (0 while it sits in the pool): a captured step checks that
    /// the buffers it reads and writes but does not own are still rented to the same owners.</summary>
    internal long Lease;

    /// <summary>The number of whole float32 elements (what float32 kernels may touch), at most <see cref="int.MaxValue"/>.</summary>
    public int Length => (int)Math.Min(ByteLength / sizeof(float), int.MaxValue);

    /// <summary>The size the backends allocate for <paramref name="bytes"/> usable bytes: a whole number of 8-byte words,
    /// so that a buffer can be viewed as elements of any type.</summary>
    /// <param name="bytes">The usable size in bytes.</param>
    public static long Rounded(long bytes) => Math.Max(8, (bytes + 7) & ~7L);
}
