// Batches from a TensorDataset: seeded shuffling each epoch, optional transforms, and a background
// thread that gathers and transforms the next batches while the device computes the current one.
using System.Buffers;
using System.Collections.Concurrent;

namespace Lepton.Data;

/// <summary>One batch: inputs and targets on the loader's device.</summary>
public readonly record struct Batch(Tensor Inputs, Tensor Targets);

/// <summary>Iterates a dataset in batches, preparing them on a background thread.</summary>
/// <example><code>
/// var loader = new DataLoader(train, batchSize: 64, shuffle: true, seed: 1);
/// foreach (var (x, y) in loader.Batches()) { ... }
/// </code></example>
public sealed class DataLoader
{
    private readonly IBatchTransform[] transforms;
    private readonly EpochCounter epochs;

    /// <summary>Creates the loader.</summary>
    /// <param name="dataset">The examples.</param>
    /// <param name="batchSize">Examples per batch (per rank, with a <paramref name="sampler"/>).</param>
    /// <param name="shuffle">Reshuffle the order every epoch.</param>
    /// <param name="seed">Seed of the shuffling and augmentation.</param>
    /// <param name="transforms">Augmentations applied to each batch on the loading thread.</param>
    /// <param name="dropLast">Skip a final short batch.</param>
    /// <param name="prefetch">How many batches are prepared ahead.</param>
    /// <param name="device">Where batches are placed (default: <see cref="Device.Default"/>).</param>
    /// <param name="sampler">Takes only this rank's shard of each epoch (data-parallel training); null takes every example.</param>
    public DataLoader(
        TensorDataset dataset, int batchSize = 32, bool shuffle = false, ulong seed = 0, IEnumerable<IBatchTransform>? transforms = null,
        bool dropLast = false, int prefetch = 2, Device? device = null, DistributedSampler? sampler = null)
        : this(dataset, batchSize, shuffle, seed, transforms?.ToArray() ?? [], dropLast, prefetch, device, sampler, new EpochCounter())
    {
    }

    private DataLoader(
        TensorDataset dataset, int batchSize, bool shuffle, ulong seed, IBatchTransform[] transforms, bool dropLast, int prefetch, Device? device,
        DistributedSampler? sampler, EpochCounter epochs)
    {
        if (batchSize <= 0 || prefetch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: batch size ({batchSize}) and prefetch ({prefetch}) must be positive.");
        }

        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        Prefetch = prefetch;
        Device = device ?? Device.Default;
        Sampler = sampler;
        this.transforms = transforms;
        this.epochs = epochs;
    }

    /// <summary>The examples.</summary>
    public TensorDataset Dataset { get; }

    /// <summary>Examples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether the order is reshuffled every epoch.</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of the shuffling and augmentation.</summary>
    public ulong Seed { get; }

    /// <summary>Whether a final short batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>How many batches are prepared ahead.</summary>
    public int Prefetch { get; }

    /// <summary>Where batches are placed.</summary>
    public Device Device { get; }

    /// <summary>Which shard of each epoch this rank takes, or null for every example.</summary>
    public DistributedSampler? Sampler { get; }

    /// <summary>Batches per epoch (of this rank's shard, with a <see cref="Sampler"/>).</summary>
    public int Count
    {
        get
        {
            int examples = Sampler?.ShardLength(Dataset.Count, BatchSize, DropLast) ?? Dataset.Count;
            return DropLast && Sampler is null ? examples / BatchSize : (examples + BatchSize - 1) / BatchSize;
        }
    }

    /// <summary>The same loader taking only <paramref name="sampler"/>'s shard; it shares this loader's epoch count, so
    /// each epoch of either reshuffles as the next epoch of both.</summary>
    /// <param name="sampler">The rank's sampler.</param>
    public DataLoader WithSampler(DistributedSampler sampler) => WithSampler(sampler, Seed);

    /// <summary>The sharded loader with another shuffling seed (data-parallel Fit gives every rank rank 0's).</summary>
    internal DataLoader WithSampler(DistributedSampler sampler, ulong seed) =>
        new(Dataset, BatchSize, Shuffle, seed, transforms, DropLast, Prefetch, Device, sampler ?? throw new ArgumentNullException(nameof(sampler)), epochs);

    /// <summary>The batches of the next epoch; tensors belong to the caller's current scope.</summary>
    public IEnumerable<Batch> Batches(CancellationToken cancellationToken = default)
    {
        int seedForEpoch = (int)(Generator.Hash(Seed, (ulong)(Interlocked.Increment(ref epochs.Value) - 1)) & 0x7fffffff);
        var order = Enumerable.Range(0, Dataset.Count).ToArray();
        var random = new Random(seedForEpoch);
        if (Shuffle)
        {
            random.Shuffle(order);
        }

        if (Sampler is { } sampler)
        {
            // Every rank shuffles alike; each then augments its own examples with its own draws.
            order = sampler.Shard(order, BatchSize, DropLast);
            random = sampler.Rank == 0 ? random : new Random((int)(Generator.Hash((ulong)seedForEpoch, (ulong)sampler.Rank) & 0x7fffffff));
        }

        using var queue = new BlockingCollection<(float[] X, float[] Y, int Count)>(Prefetch);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(() => Produce(order, random, queue, stop.Token), stop.Token);
        try
        {
            foreach (var (x, y, count) in queue.GetConsumingEnumerable(cancellationToken))
            {
                var inputs = Upload(x, [count, .. Dataset.InputShape], Dataset.InputType);
                var targets = Upload(y, [count, .. Dataset.TargetShape], Dataset.TargetType);
                yield return new Batch(inputs, targets);
            }
        }
        finally
        {
            stop.Cancel();
            try
            {
                producer.Wait(CancellationToken.None);
            }
            catch (AggregateException e) when (e.InnerExceptions.All(i => i is OperationCanceledException))
            {
            }
            catch (AggregateException e)
            {
                // A failure in the background thread (a transform, a bad example) surfaces here as itself.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions.First(i => i is not OperationCanceledException)).Throw();
            }
        }
    }

    /// <summary>Copies a rented host array into a new tensor of <paramref name="dtype"/> and gives the array back.</summary>
    private Tensor Upload(float[] rented, int[] shape, DType dtype)
    {
        var tensor = Tensor.Empty(shape, Device, DType.Float32);
        Device.Backend.Upload(rented.AsSpan(0, tensor.Numel), tensor.Buffer, 0);
        ArrayPool<float>.Shared.Return(rented);
        if (dtype == DType.Float32)
        {
            return tensor;
        }

        using (tensor)
        {
            return tensor.CastTo(dtype);
        }
    }

    private void Produce(int[] order, Random random, BlockingCollection<(float[], float[], int)> queue, CancellationToken token)
    {
        try
        {
            int xs = Shapes.Numel(Dataset.InputShape), ys = Shapes.Numel(Dataset.TargetShape);
            for (int batch = 0; batch < Count; batch++)
            {
                token.ThrowIfCancellationRequested();
                int start = batch * BatchSize, count = Math.Min(BatchSize, order.Length - start);
                // Batches of images are large-object-heap sized: rent them instead of allocating every step.
                var x = ArrayPool<float>.Shared.Rent(count * xs);
                var y = ArrayPool<float>.Shared.Rent(count * ys);
                for (int i = 0; i < count; i++)
                {
                    int e = order[start + i];
                    Dataset.CopyInput(e, x.AsSpan(i * xs, xs));
                    Array.Copy(Dataset.Targets, (long)e * ys, y, (long)i * ys, ys);
                }

                foreach (var t in transforms)
                {
                    t.Apply(x.AsSpan(0, count * xs), count, Dataset.InputShape, random);
                }

                queue.Add((x, y, count), token);
            }
        }
        finally
        {
            queue.CompleteAdding();
        }
    }

    /// <summary>The epoch count a loader shares with its sharded copies.</summary>
    private sealed class EpochCounter
    {
        public int Value;
    }
}
