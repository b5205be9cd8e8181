// A block of device memory holding float32 elements, handed out by a backend's pool.
// Integer tensors are stored here too, as exact float values (exact up to 2^24).
namespace Lepton.Backends;

/// <summary>A backend-owned block of memory of <see cref="Length"/> float32 elements.</summary>
public abstract class DeviceBuffer
{
    /// <summary>Creates a buffer record of the given length.</summary>
    protected DeviceBuffer(int length)
    {
        Length = length;
    }

    /// <summary>Number of float32 elements.</summary>
    public int Length { get; }
}
