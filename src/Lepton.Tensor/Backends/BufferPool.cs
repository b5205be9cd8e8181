// A per-backend pool of buffers keyed by exact length: a training loop asks for the same sizes every
// step, so after the first step nothing is allocated. Live and cached bytes are counted for tests.
namespace Lepton.Backends;

/// <summary>Reuses device buffers by length and counts the memory in use.</summary>
public sealed class BufferPool
{
    private readonly Func<int, DeviceBuffer> allocate;
    private readonly Action<DeviceBuffer> free;
    private readonly Dictionary<int, Stack<DeviceBuffer>> cached = [];
    private readonly object gate = new();
    private long liveBytes;
    private long cachedBytes;

    /// <summary>Creates a pool over a backend's raw allocate and free.</summary>
    public BufferPool(Func<int, DeviceBuffer> allocate, Action<DeviceBuffer> free, long maxCachedBytes = 2L << 30)
    {
        this.allocate = allocate;
        this.free = free;
        MaxCachedBytes = maxCachedBytes;
    }

    /// <summary>Bytes in buffers handed out and not yet returned.</summary>
    public long LiveBytes => Interlocked.Read(ref liveBytes);

    /// <summary>Bytes held for reuse.</summary>
    public long CachedBytes => Interlocked.Read(ref cachedBytes);

    /// <summary>The most bytes the pool keeps for reuse; beyond it returned buffers are freed.</summary>
    public long MaxCachedBytes { get; set; }

    /// <summary>A buffer of exactly <paramref name="length"/> elements, reused when one is cached.</summary>
    public DeviceBuffer Rent(int length)
    {
        if (length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "A buffer length cannot be negative.");
        }

        long bytes = 4L * length;
        lock (gate)
        {
            liveBytes += bytes;
            if (cached.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                cachedBytes -= bytes;
                return stack.Pop();
            }
        }

        return allocate(length);
    }

    /// <summary>Gives a buffer back for reuse.</summary>
    public void Return(DeviceBuffer buffer)
    {
        long bytes = 4L * buffer.Length;
        lock (gate)
        {
            liveBytes -= bytes;
            if (cachedBytes + bytes <= MaxCachedBytes)
            {
                if (!cached.TryGetValue(buffer.Length, out var stack))
                {
                    stack = new Stack<DeviceBuffer>();
                    cached[buffer.Length] = stack;
                }

                stack.Push(buffer);
                cachedBytes += bytes;
                return;
            }
        }

        free(buffer);
    }

    /// <summary>Frees every cached buffer.</summary>
    public void Trim()
    {
        List<DeviceBuffer> toFree = [];
        lock (gate)
        {
            foreach (var stack in cached.Values)
            {
                toFree.AddRange(stack);
            }

            cached.Clear();
            cachedBytes = 0;
        }

        foreach (var buffer in toFree)
        {
            free(buffer);
        }
    }
}
