// The memory side of a capture: which buffers the step rented, and the buffers it freed, which the
// arena keeps out of the pool so that no one else can be handed memory the replayed calls will use.
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>Watches one pool while a step is captured on this thread.</summary>
internal sealed class CaptureArena
{
    public CaptureArena(BufferPool pool)
    {
        Pool = pool;
    }

    public BufferPool Pool { get; }

    /// <summary>Buffers rented during the capture.</summary>
    public HashSet<DeviceBuffer> RentedDuringCapture { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Buffers freed during the capture, in the order they were freed; the captured step owns them.</summary>
    public List<DeviceBuffer> Held { get; } = [];

    /// <summary>Set when the step rented from another device's pool, which a capture of one device cannot replay.</summary>
    public bool ForeignRent { get; private set; }

    public void Rented(BufferPool pool, DeviceBuffer buffer)
    {
        if (!ReferenceEquals(pool, Pool))
        {
            ForeignRent = true;
            return;
        }

        RentedDuringCapture.Add(buffer);
    }

    /// <summary>Keeps a buffer freed into <see cref="Pool"/>; false for other pools.</summary>
    public bool Hold(BufferPool pool, DeviceBuffer buffer)
    {
        if (!ReferenceEquals(pool, Pool))
        {
            return false;
        }

        Held.Add(buffer);
        return true;
    }
}
