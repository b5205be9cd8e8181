// A per-backend pool of buffers keyed by exact size in bytes: a training loop asks for the same sizes every
// step, so after the first step nothing is allocated. Tensors dropped without Dispose give their buffer
// back from their finalizer; when live bytes pass a threshold the pool runs the collector first, so such
// code keeps bounded memory. Live and cached bytes are counted for tests.
namespace Lepton.Backends;

/// <summary>Reuses device buffers by length, counts the memory in use, and reclaims unreachable tensors' buffers.</summary>
public sealed class BufferPool
{
    /// <summary>The smallest collection threshold: below this many live bytes the pool never runs the collector.</summary>
    public const long MinCollectBytes = 32L << 20;

    private readonly Func<long, DeviceBuffer> allocate;
    private readonly Action<DeviceBuffer> free;
    private readonly Dictionary<long, Stack<DeviceBuffer>> cached = [];
    private readonly object gate = new();
    private long liveBytes;
    private long cachedBytes;
    private long collectAbove;
    private int collecting;
    private long collections;
    private long peakLiveBytes;

    /// <summary>The source of <see cref="DeviceBuffer.Lease"/> numbers, shared by every pool.</summary>
    private static long leases;

    /// <summary>The arena of the step being captured on this thread, if any: it sees every rent and keeps what is returned.</summary>
    [ThreadStatic]
    private static Capture.CaptureArena? arena;

    internal static Capture.CaptureArena? Arena
    {
        get => arena;
        set => arena = value;
    }

    /// <summary>Creates a pool over a backend's raw allocate and free.</summary>
    /// <param name="allocate">Makes a new buffer of the given number of bytes.</param>
    /// <param name="free">Releases a buffer the pool does not keep.</param>
    /// <param name="maxCachedBytes">The most bytes kept for reuse (<see cref="MaxCachedBytes"/>).</param>
    /// <param name="collectThresholdBytes">Live bytes above which a rent first reclaims unreachable tensors'
    /// buffers (<see cref="CollectThresholdBytes"/>).</param>
    public BufferPool(Func<long, DeviceBuffer> allocate, Action<DeviceBuffer> free, long maxCachedBytes = 2L << 30, long collectThresholdBytes = 256L << 20)
    {
        this.allocate = allocate;
        this.free = free;
        MaxCachedBytes = maxCachedBytes;
        CollectThresholdBytes = collectThresholdBytes;
    }

    /// <summary>Bytes in buffers handed out and not yet returned.</summary>
    public long LiveBytes => Interlocked.Read(ref liveBytes);

    /// <summary>The most bytes live at once since the pool was made or <see cref="ResetPeak"/> was last called.</summary>
    public long PeakLiveBytes => Interlocked.Read(ref peakLiveBytes);

    /// <summary>Starts <see cref="PeakLiveBytes"/> again from the bytes live now.</summary>
    public void ResetPeak()
    {
        lock (gate)
        {
            peakLiveBytes = liveBytes;
        }
    }

    /// <summary>Bytes held for reuse.</summary>
    public long CachedBytes => Interlocked.Read(ref cachedBytes);

    /// <summary>The most bytes the pool keeps for reuse; beyond it returned buffers are freed.</summary>
    public long MaxCachedBytes { get; set; }

    /// <summary>
    /// Live bytes above which renting a buffer first runs a full garbage collection and the finalizers, so that the
    /// buffers of tensors nobody references any more (dropped without <c>Dispose</c> or a scope) come back for reuse.
    /// After each such collection the next one waits until live bytes reach twice what survived it (at least this
    /// value), so a program that keeps more and more tensors alive pays for a logarithmic number of collections.
    /// </summary>
    public long CollectThresholdBytes
    {
        get => Interlocked.Read(ref collectAbove);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, MinCollectBytes, nameof(CollectThresholdBytes));
            Interlocked.Exchange(ref collectAbove, value);
            BaseCollectThresholdBytes = value;
        }
    }

    /// <summary>How many collections the pool has run to reclaim unreachable tensors.</summary>
    public long Collections => Interlocked.Read(ref collections);

    private long BaseCollectThresholdBytes { get; set; }

    /// <summary>
    /// A share of the memory this process may use (a container's limit, or the machine's memory), at most
    /// <paramref name="ceiling"/>: how the CPU backend sizes its cache and collection threshold.
    /// </summary>
    /// <param name="ceiling">The most the result may be, in bytes.</param>
    /// <param name="divisor">The share: the available memory divided by this.</param>
    public static long HostBudget(long ceiling, int divisor)
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return available > 0 ? Math.Min(ceiling, available / divisor) : ceiling;
    }

    /// <summary>A buffer of exactly <paramref name="length"/> float32 elements, reused when one is cached.</summary>
    /// <param name="length">The number of float32 elements.</param>
    public DeviceBuffer Rent(int length)
    {
        if (length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "A buffer length cannot be negative.");
        }

        return RentBytes(4L * length);
    }

    /// <summary>A buffer of exactly <paramref name="bytes"/> bytes, reused when one is cached.</summary>
    /// <param name="bytes">The size in bytes.</param>
    public DeviceBuffer RentBytes(long bytes)
    {
        if (bytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "A buffer size cannot be negative.");
        }

        if (LiveBytes + bytes > Interlocked.Read(ref collectAbove))
        {
            ReclaimUnreachable();
        }

        lock (gate)
        {
            liveBytes += bytes;
            peakLiveBytes = Math.Max(peakLiveBytes, liveBytes);
            if (cached.TryGetValue(bytes, out var stack) && stack.Count > 0)
            {
                cachedBytes -= bytes;
                return Leased(stack.Pop());
            }
        }

        try
        {
            return Leased(allocate(bytes));
        }
        catch
        {
            lock (gate)
            {
                liveBytes -= bytes;
            }

            throw;
        }
    }

    /// <summary>Gives a buffer back for reuse.</summary>
    /// <param name="buffer">A buffer this pool handed out.</param>
    public void Return(DeviceBuffer buffer)
    {
        // A freed buffer is no longer its last renter's, even when a capture keeps it: steps captured before that use it
        // see the lease change.
        buffer.Lease = 0;
        if (arena is { } a && a.Hold(this, buffer))
        {
            // A step being captured keeps what it frees: its calls will run on these buffers again.
            return;
        }

        long bytes = buffer.ByteLength;
        lock (gate)
        {
            liveBytes -= bytes;
            if (cachedBytes + bytes <= MaxCachedBytes)
            {
                if (!cached.TryGetValue(bytes, out var stack))
                {
                    stack = new Stack<DeviceBuffer>();
                    cached[bytes] = stack;
                }

                stack.Push(buffer);
                cachedBytes += bytes;
                return;
            }
        }

        free(buffer);
    }

    /// <summary>Numbers a rental, and shows it to the arena of a step being captured on this thread.</summary>
    private DeviceBuffer Leased(DeviceBuffer buffer)
    {
        buffer.Lease = Interlocked.Increment(ref leases);
        arena?.Rented(this, buffer);
        return buffer;
    }

    /// <summary>
    /// Runs a full collection and waits for the finalizers, so that every tensor no longer referenced gives its
    /// buffer back, then sets the next threshold from what survived. One thread collects at a time; a thread that
    /// finds a collection running goes on without waiting.
    /// </summary>
    public void ReclaimUnreachable()
    {
        if (Interlocked.CompareExchange(ref collecting, 1, 0) != 0)
        {
            return;
        }

        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Interlocked.Increment(ref collections);
            Interlocked.Exchange(ref collectAbove, Math.Max(BaseCollectThresholdBytes, 2 * LiveBytes));
        }
        finally
        {
            Volatile.Write(ref collecting, 0);
        }
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
