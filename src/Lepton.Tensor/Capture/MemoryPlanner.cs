// Memory planning over a captured step: each intermediate buffer lives from its first call to its
// last, and buffers of one size whose lifetimes do not overlap share one allocation. Eager steps keep
// most intermediates until the step's scope ends (autograd holds them); a replay needs each only for
// its live range, so the planned step holds less memory at its peak.
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>Assigns a captured step's intermediate buffers to shared memory.</summary>
internal static class MemoryPlanner
{
    /// <summary>
    /// Rewrites <paramref name="calls"/> so that plannable buffers with disjoint live ranges share memory; returns the
    /// buffers the step still owns. Owned buffers no call uses go back to <paramref name="pool"/>.
    /// </summary>
    public static List<DeviceBuffer> Plan(List<CapturedCall> calls, List<DeviceBuffer> owned, Func<DeviceBuffer, bool> plannable, BufferPool pool)
    {
        var ranges = new Dictionary<DeviceBuffer, (int First, int Last)>(ReferenceEqualityComparer.Instance);
        var ownedSet = new HashSet<DeviceBuffer>(owned, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < calls.Count; i++)
        {
            foreach (var b in calls[i].Buffers)
            {
                if (b is not null && ownedSet.Contains(b))
                {
                    ranges[b] = ranges.TryGetValue(b, out var r) ? (r.First, i) : (i, i);
                }
            }
        }

        var kept = new List<DeviceBuffer>();
        var candidates = new List<DeviceBuffer>();
        foreach (var b in owned)
        {
            if (!ranges.ContainsKey(b))
            {
                pool.Return(b);
            }
            else if (plannable(b))
            {
                candidates.Add(b);
            }
            else
            {
                kept.Add(b);
            }
        }

        // Per size, in order of first use: take a shared buffer whose last occupant is done, else keep this one.
        candidates.Sort((a, b) => ranges[a].First.CompareTo(ranges[b].First));
        var slots = new Dictionary<long, List<(DeviceBuffer Memory, int Last)>>();
        var assigned = new Dictionary<DeviceBuffer, DeviceBuffer>(ReferenceEqualityComparer.Instance);
        foreach (var b in candidates)
        {
            var (first, last) = ranges[b];
            if (!slots.TryGetValue(b.ByteLength, out var list))
            {
                list = [];
                slots[b.ByteLength] = list;
            }

            int free = -1;
            for (int s = 0; s < list.Count; s++)
            {
                if (list[s].Last < first && (free < 0 || list[s].Last < list[free].Last))
                {
                    free = s;
                }
            }

            if (free < 0)
            {
                list.Add((b, last));
                kept.Add(b);
                continue;
            }

            assigned[b] = list[free].Memory;
            list[free] = (list[free].Memory, last);
            pool.Return(b);
        }

        foreach (var call in calls)
        {
            var buffers = call.Buffers;
            for (int i = 0; i < buffers.Length; i++)
            {
                if (buffers[i] is { } b && assigned.TryGetValue(b, out var memory))
                {
                    buffers[i] = memory;
                }
            }
        }

        return kept;
    }
}
