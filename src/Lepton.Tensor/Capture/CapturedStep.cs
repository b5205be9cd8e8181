// A captured step: the calls to replay, the intermediate buffers it owns, and the buffers it uses
// but does not own (weights, optimizer state, metric sums, its input buffers) with the lease each
// had at capture, so that a step whose memory changed hands is captured again instead of replayed.
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>One step's recorded calls, ready to replay.</summary>
internal sealed class CapturedStep : IDisposable
{
    private readonly IBackend backend;
    private readonly BufferPool pool;
    private readonly CapturedCall[] calls;
    private readonly DeviceBuffer[] external;
    private readonly long[] leases;
    private List<DeviceBuffer> owned;

    public CapturedStep(
        Device device, IBackend backend, List<CapturedCall> recorded, List<DeviceBuffer> held, HashSet<DeviceBuffer> rentedDuringCapture,
        HashSet<DeviceBuffer> pinned, CaptureSettings settings)
    {
        Device = device;
        this.backend = backend;
        pool = backend.Pool;
        owned = [.. held];
        var calls = recorded;
        int fused = 0;
        if (settings.Fusion && backend is IFusedKernels kernels)
        {
            fused = ConvPoolFusion.Apply(calls, kernels, pool, owned);
        }

        var ownedSet = new HashSet<DeviceBuffer>(owned, ReferenceEqualityComparer.Instance);
        long before = 0;
        foreach (var b in owned)
        {
            before += b.ByteLength;
        }

        if (settings.MemoryPlanning)
        {
            // Only buffers the step itself rented are planned: one it freed but rented before may carry data it reads.
            owned = MemoryPlanner.Plan(calls, owned, b => rentedDuringCapture.Contains(b) && !pinned.Contains(b), pool);
        }

        long after = 0;
        foreach (var b in owned)
        {
            after += b.ByteLength;
        }

        var externalList = new List<DeviceBuffer>();
        var seen = new HashSet<DeviceBuffer>(ReferenceEqualityComparer.Instance);
        foreach (var call in calls)
        {
            foreach (var b in call.Buffers)
            {
                if (b is not null && !ownedSet.Contains(b) && seen.Add(b))
                {
                    externalList.Add(b);
                }
            }
        }

        external = [.. externalList];
        leases = Array.ConvertAll(external, b => b.Lease);
        this.calls = [.. calls];
        Statistics = new CaptureStatistics(this.calls.Length, fused, before, after);
    }

    public Device Device { get; }

    public CaptureStatistics Statistics { get; }

    /// <summary>Whether every buffer the step uses but does not own is still rented as it was at capture.</summary>
    public bool IsValid()
    {
        if (owned.Count == 0 && calls.Length == 0)
        {
            return false;
        }

        for (int i = 0; i < external.Length; i++)
        {
            if (external[i].Lease != leases[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>When set, every replayed call is timed and reported to it with its elapsed Stopwatch ticks (the step
    /// profile of the benchmarks); null in normal use.</summary>
    internal static Action<CapturedCall, long>? ReplayObserver { get; set; }

    /// <summary>Runs the recorded calls again.</summary>
    public void Replay()
    {
        var b = backend;
        if (ReplayObserver is { } observe)
        {
            foreach (var call in calls)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                call.Run(b, call.Buffers);
                observe(call, System.Diagnostics.Stopwatch.GetTimestamp() - start);
            }

            return;
        }

        foreach (var call in calls)
        {
            call.Run(b, call.Buffers);
        }
    }

    /// <summary>Gives the step's own buffers back to the pool.</summary>
    public void Dispose()
    {
        foreach (var b in owned)
        {
            pool.Return(b);
        }

        owned = [];
    }
}
