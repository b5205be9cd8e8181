// Averages gradients over the ranks of a data-parallel step. Gradients are packed into buckets of about 25 MB in the
// order backward makes them final (last layers first); a bucket's all-reduce starts as soon as its last gradient
// arrives, while backward goes on with earlier layers, and the step waits for all of them before the optimizer.
// Host buckets go through MPI; gradients on a device with collectives of its own (NCCL) are reduced in place there.
using Lepton.Backends;
using Lepton.Nn;

namespace Lepton;

/// <summary>Bucketed, overlapped all-reduce of a model's gradients (mean over ranks), fed by the gradient-ready hook.</summary>
internal sealed unsafe class GradientReducer
{
    /// <summary>The default bucket size, as PyTorch's DistributedDataParallel uses.</summary>
    internal const long DefaultBucketBytes = 25L << 20;

    private readonly Distributed group;
    private readonly int bucketFloats;
    private readonly Dictionary<Weight, Entry> entries = new(ReferenceEqualityComparer.Instance);
    private readonly List<Bucket> buckets = [];
    private bool layoutFixed;

    internal GradientReducer(Distributed group, long bucketBytes = DefaultBucketBytes)
    {
        this.group = group;
        bucketFloats = (int)Math.Clamp(bucketBytes / sizeof(float), 1, int.MaxValue / 2);
    }

    /// <summary>The process group the gradients are averaged over.</summary>
    internal Distributed Group => group;

    /// <summary>Seconds spent waiting for all-reduces after backward ended (communication that backward did not hide).</summary>
    internal double ExposedSeconds { get; private set; }

    /// <summary>Values all-reduced so far.</summary>
    internal long ReducedValues { get; private set; }

    /// <summary>Buckets of the current layout.</summary>
    internal int BucketCount => buckets.Count;

    /// <summary>Copies a final gradient into its bucket; starts the bucket's all-reduce once all its gradients are in.</summary>
    internal void OnGradientReady(Weight weight, Tensor gradient)
    {
        if (!entries.TryGetValue(weight, out var entry))
        {
            if (layoutFixed)
            {
                // A gradient the layout has no place for (a layer was unfrozen): every rank lays the buckets out again.
                Reset();
            }

            entry = Place(weight, gradient.Numel, OnDevice(gradient));
        }

        if (gradient.Numel != entry.Length)
        {
            throw new InvalidOperationException($"Data-parallel training: the gradient of '{weight.Name}' has {gradient.Numel} values, but {entry.Length} when the buckets were laid out.");
        }

        entry.Gradient = gradient;
        var bucket = entry.Bucket;
        if (!bucket.OnDevice)
        {
            Download(gradient, bucket.Data.AsSpan(entry.Offset, entry.Length));
        }

        bucket.Arrived++;
        if (layoutFixed && bucket.Arrived == bucket.Entries.Count)
        {
            Start(bucket);
        }

        foreach (var b in buckets)
        {
            group.Poll(ref b.Request);
        }
    }

    /// <summary>After backward: starts what has not started, waits for every bucket and writes the mean back into each gradient.</summary>
    internal void Finish()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        layoutFixed = true;
        foreach (var bucket in buckets)
        {
            if (!bucket.Started)
            {
                // Weights that got no gradient this step (not on the loss's path) contribute zeros.
                foreach (var e in bucket.Entries)
                {
                    if (e.Gradient is null && !bucket.OnDevice)
                    {
                        Array.Clear(bucket.Data, e.Offset, e.Length);
                    }
                }

                Start(bucket);
            }
        }

        float scale = 1f / group.WorldSize;
        foreach (var bucket in buckets)
        {
            // Device sums are queued after backward's kernels and the scaling after them; host sums are waited for,
            // scaled and copied back.
            var data = bucket.OnDevice ? default : bucket.Data.AsSpan(0, bucket.Used);
            if (!bucket.OnDevice)
            {
                group.Wait(ref bucket.Request, "AllReduce (gradients)");
                Scale(data, scale);
            }

            foreach (var e in bucket.Entries)
            {
                if (e.Gradient is not { } g)
                {
                    continue;
                }

                if (bucket.OnDevice)
                {
                    g.Mul_(scale);
                }
                else
                {
                    g.Backend.Upload(data.Slice(e.Offset, e.Length), g.Buffer, g.Offset);
                }

                e.Gradient = null;
            }

            ReducedValues += bucket.Used;
            bucket.Arrived = 0;
            bucket.Started = false;
        }

        ExposedSeconds += clock.Elapsed.TotalSeconds;
    }

    private Entry Place(Weight weight, int length, bool onDevice)
    {
        var bucket = buckets.Count > 0 ? buckets[^1] : null;
        // A bucket is closed once it holds the bucket size, or when the next gradient would overflow it: a gradient larger
        // than the bucket size gets a bucket of its own, whose all-reduce starts as soon as that gradient is final.
        if (bucket is null || bucket.OnDevice != onDevice || bucket.Used >= bucketFloats || (bucket.Used > 0 && (long)bucket.Used + length > bucketFloats))
        {
            bucket = new Bucket { OnDevice = onDevice };
            buckets.Add(bucket);
        }

        var entry = new Entry(bucket, bucket.Used, length);
        bucket.Used += length;
        if (!onDevice && bucket.Data.Length < bucket.Used)
        {
            // The bucket grows while the first step lays it out; its array is pinned, so MPI can work on it in the background.
            var grown = GC.AllocateArray<float>(Math.Max(bucket.Used, Math.Min(bucketFloats, bucket.Data.Length * 2)), pinned: true);
            bucket.Data.AsSpan().CopyTo(grown);
            bucket.Data = grown;
        }

        bucket.Entries.Add(entry);
        entries[weight] = entry;
        return entry;
    }

    private void Start(Bucket bucket)
    {
        bucket.Started = true;
        if (bucket.OnDevice)
        {
            // One NCCL launch for the bucket's gradients, each summed in place in device memory. Every rank queues the
            // same gradients (a weight without one this step is left out alike on every rank of the same model).
            if (bucket.Entries.FirstOrDefault(e => e.Gradient is not null)?.Gradient is not { } first)
            {
                return;
            }

            var device = (IDeviceCollectives)first.Device.RealBackend;
            device.BeginGroup();
            try
            {
                foreach (var e in bucket.Entries)
                {
                    if (e.Gradient is { } g)
                    {
                        device.AllReduce(group, g.Buffer, g.Offset * (long)sizeof(float), g.Numel, DType.Float32);
                    }
                }
            }
            finally
            {
                device.EndGroup();
            }

            return;
        }

        fixed (float* data = bucket.Data)
        {
            bucket.Request = group.StartAllReduce(data, bucket.Used);
        }
    }

    private void Reset()
    {
        foreach (var b in buckets)
        {
            group.Wait(ref b.Request, "AllReduce (gradients)");
        }

        buckets.Clear();
        entries.Clear();
        layoutFixed = false;
    }

    private static void Scale(Span<float> values, float factor)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(values);
            for (int v = 0; v < vectors.Length; v++)
            {
                vectors[v] *= factor;
            }

            i = vectors.Length * System.Numerics.Vector<float>.Count;
        }

        for (; i < values.Length; i++)
        {
            values[i] *= factor;
        }
    }

    /// <summary>Whether this gradient is reduced on its device: a contiguous gradient on a backend with device collectives.</summary>
    private bool OnDevice(Tensor gradient) =>
        gradient.IsContiguous && gradient.Device.RealBackend is IDeviceCollectives device && device.Available(group);

    private static void Download(Tensor gradient, Span<float> destination)
    {
        if (gradient.IsContiguous)
        {
            gradient.Backend.Download(gradient.Buffer, gradient.Offset, destination);
            return;
        }

        using var dense = gradient.CopyDense();
        dense.Backend.Download(dense.Buffer, 0, destination);
    }

    private sealed class Bucket
    {
        public bool OnDevice;
        public float[] Data = [];
        public int Used;
        public int Arrived;
        public bool Started;
        public nint Request;
        public readonly List<Entry> Entries = [];
    }

    private sealed class Entry(Bucket bucket, int offset, int length)
    {
        public Bucket Bucket { get; } = bucket;

        public int Offset { get; } = offset;

        public int Length { get; } = length;

        public Tensor? Gradient { get; set; }
    }
}
