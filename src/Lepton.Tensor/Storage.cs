// Reference-counted ownership of one pooled buffer: a tensor and all its views share a Storage,
// and the buffer goes back to the device's pool when the last of them is disposed.
using Lepton.Backends;

namespace Lepton;

/// <summary>A pooled buffer shared by a tensor and its views.</summary>
internal sealed class Storage
{
    private int references;

    /// <summary>Set for a storage over memory someone else owns (a captured step's buffer): it is never given back.</summary>
    private readonly bool borrowed;

    public Storage(Device device, long bytes)
    {
        Device = device;
        Buffer = device.Backend.AllocateBytes(bytes);
    }

    /// <summary>A storage over <paramref name="buffer"/>, which stays its owner's: releasing the storage frees nothing.</summary>
    public Storage(Device device, DeviceBuffer buffer)
    {
        Device = device;
        Buffer = buffer;
        borrowed = true;
        GC.SuppressFinalize(this);
    }

    /// <summary>Tensors that were never disposed still give their buffer back once collected.</summary>
    ~Storage()
    {
        if (Volatile.Read(ref references) > 0)
        {
            Device.Backend.Pool.Return(Buffer);
        }
    }

    public Device Device { get; }

    public DeviceBuffer Buffer { get; }

    /// <summary>How many tensors (a tensor and its views) use the buffer.</summary>
    public int References => Volatile.Read(ref references);

    public void AddReference() => Interlocked.Increment(ref references);

    public void Release()
    {
        if (Interlocked.Decrement(ref references) == 0 && !borrowed)
        {
            GC.SuppressFinalize(this);
            Device.Backend.Pool.Return(Buffer);
        }
    }
}
