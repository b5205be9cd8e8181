// Data-parallel Fit and Evaluate: while a Distributed process group is initialized with more than one rank, each rank
// trains on its shard of every epoch, gradients are averaged through the reducer, weights start from rank 0's, and
// logs are the means over all ranks. Rank 0 alone prints progress and runs the callbacks that write files.
using System.Buffers.Binary;
using System.Text;
using Lepton.Data;
using Lepton.Nn.Callbacks;

namespace Lepton.Nn;

public partial class Model
{
    private GradientReducer? reducer;

    /// <summary>The process group a Fit or Evaluate runs data-parallel over: <see cref="Distributed.Current"/> when it has
    /// more than one rank.</summary>
    private Distributed? DataParallelGroup
    {
        get
        {
            var group = Distributed.Current is { WorldSize: > 1 } current ? current : null;
            if (reducer is not null && !ReferenceEquals(reducer.Group, group))
            {
                // The job this model averaged over has ended (or another began): its reducer goes with it.
                EndDataParallel();
            }

            return group;
        }
    }

    /// <summary>The loaders, verbosity and callbacks of a data-parallel Fit on this rank.</summary>
    private static (DataLoader Train, DataLoader? Validation, int Verbose, List<Callback> Callbacks) ForRank(
        Distributed group, DataLoader train, DataLoader? validation, int verbose, List<Callback> callbacks)
    {
        if (train.Sampler is null)
        {
            // Every rank must shuffle alike: a seed drawn from each process's own default generator would differ.
            long seed = (long)train.Seed;
            BroadcastValue(group, ref seed);
            train = train.WithSampler(new DistributedSampler(group.Rank, group.WorldSize), (ulong)seed);
        }

        validation = validation is { Sampler: null } ? validation.WithSampler(new DistributedSampler(group.Rank, group.WorldSize, padToEqual: false)) : validation;
        if (!group.IsPrimary)
        {
            callbacks.RemoveAll(c => c.PrimaryRankOnly);
        }

        return (train, validation, group.IsPrimary ? verbose : 0, callbacks);
    }

    /// <summary>
    /// Before the first data-parallel step of a Fit (or of TrainOnBatch calls): checks that every rank trains the same
    /// model with the same <paramref name="settings"/> (an error on every rank names the first difference), then gives
    /// every rank rank 0's weights and optimizer state and starts averaging gradients.
    /// </summary>
    /// <param name="group">The ranks.</param>
    /// <param name="method">Fit or TrainOnBatch, for errors.</param>
    /// <param name="settings">What must be equal on every rank besides the model and the optimizer state.</param>
    /// <param name="examples">The training examples (a Fit's data), of which every rank needs one; null for single batches.</param>
    private void StartDataParallel(Distributed group, string method, (string What, long Value)[] settings, int? examples = null)
    {
        CheckSameOnEveryRank(group, method, [
            ("model", ArchitectureHash()),
            .. settings,
            .. examples is int count ? [("training examples", (long)count)] : Array.Empty<(string, long)>(),
            ("optimizer state tensors", Optimizer!.StateTensors().Count()),
        ]);
        if (examples < group.WorldSize)
        {
            throw CollectiveError($"{Name}: data-parallel {method} needs at least one training example per rank ({group.WorldSize} ranks); the data has {examples}.");
        }

        using (Tensor.NoGrad())
        {
            foreach (var w in Weights)
            {
                group.Broadcast(w.Value);
            }

            foreach (var (_, state) in Optimizer!.StateTensors())
            {
                group.Broadcast(state);
            }
        }

        long iterations = Optimizer!.Iterations;
        BroadcastValue(group, ref iterations);
        Optimizer.Iterations = iterations;
        reducer = new GradientReducer(group, GradientBucketBytes);
        DropCaptures();
    }

    /// <summary>The size of the buckets data-parallel training averages gradients in (default 25 MB): a bucket's
    /// all-reduce starts while backward still computes earlier layers, so smaller buckets overlap more but send more
    /// messages.</summary>
    public long GradientBucketBytes
    {
        get;
        set => field = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, $"{Name}: GradientBucketBytes must be positive.");
    } = GradientReducer.DefaultBucketBytes;

    /// <summary>Seconds the last data-parallel Fit waited for gradient all-reduces after backward ended (communication
    /// not hidden behind backward).</summary>
    internal double LastExposedCommunicationSeconds { get; private set; }

    /// <summary>Stops averaging gradients at the end of a Fit (TrainOnBatch keeps averaging until the model leaves the job).</summary>
    private void EndDataParallel()
    {
        if (reducer is not null)
        {
            LastExposedCommunicationSeconds = reducer.ExposedSeconds;
            reducer = null;
            DropCaptures();
        }
    }

    /// <summary>Replaces each metric's and the loss mean's running sums with their sums over all ranks.</summary>
    private static void SumMetricsOverRanks(Distributed group, MeanMetric lossMean, IReadOnlyList<Metric> metrics)
    {
        var state = new double[2 * (metrics.Count + 1)];
        (state[0], state[1]) = lossMean.TakeState();
        for (int i = 0; i < metrics.Count; i++)
        {
            (state[2 * (i + 1)], state[(2 * (i + 1)) + 1]) = metrics[i].TakeState();
        }

        group.AllReduce(state);
        lossMean.SetState(state[0], state[1]);
        for (int i = 0; i < metrics.Count; i++)
        {
            metrics[i].SetState(state[2 * (i + 1)], state[(2 * (i + 1)) + 1]);
        }
    }

    /// <summary>Runs <paramref name="body"/>; an exception on one rank ends the whole job with an error naming the rank, so
    /// the other ranks never wait for it in a collective. Errors every rank found alike are thrown on every rank.</summary>
    private static T OnEveryRank<T>(Distributed? group, string method, Func<T> body)
    {
        if (group is null)
        {
            return body();
        }

        try
        {
            return body();
        }
        catch (Exception e) when (!e.Data.Contains(CollectiveErrorKey))
        {
            group.Abort($"{method} failed on rank {group.Rank} of {group.WorldSize}: {e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    private const string CollectiveErrorKey = "Lepton.Distributed.Collective";

    private static InvalidOperationException CollectiveError(string message)
    {
        var error = new InvalidOperationException(message);
        error.Data[CollectiveErrorKey] = true;
        return error;
    }

    /// <summary>Gathers each rank's values and throws, on every rank, an error naming the first that differs from rank 0's.</summary>
    private void CheckSameOnEveryRank(Distributed group, string method, (string What, long Value)[] values)
    {
        var local = new byte[values.Length * sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(local.AsSpan(i * sizeof(long)), values[i].Value);
        }

        var all = group.AllGather(local);
        for (int rank = 1; rank < group.WorldSize; rank++)
        {
            for (int i = 0; i < values.Length; i++)
            {
                long theirs = BinaryPrimitives.ReadInt64LittleEndian(all.AsSpan((rank * local.Length) + (i * sizeof(long))));
                long first = BinaryPrimitives.ReadInt64LittleEndian(all.AsSpan(i * sizeof(long)));
                if (theirs != first)
                {
                    string shown = values[i].What == "model" ? "a different model (layers, weight names, shapes or types)" : $"{values[i].What} {theirs}";
                    string rank0 = values[i].What == "model" ? "" : $" where rank 0 has {first}";
                    throw CollectiveError($"{Name}: data-parallel {method} needs the same {values[i].What} on every rank; rank {rank} has {shown}{rank0}.");
                }
            }
        }
    }

    /// <summary>A hash of the weights' names, shapes, types and trainability, and of the optimizer and loss.</summary>
    private long ArchitectureHash()
    {
        var text = new StringBuilder();
        foreach (var w in Weights)
        {
            text.Append(w.Name).Append(':').Append(string.Join('x', w.Value.ShapeRef)).Append(':').Append(w.Value.DType).Append(':').Append(w.Trainable).Append(';');
        }

        text.Append(Optimizer?.Name).Append(';').Append(Loss?.GetType().Name);
        return BinaryPrimitives.ReadInt64LittleEndian(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static unsafe void BroadcastValue(Distributed group, ref long value)
    {
        fixed (long* p = &value)
        {
            group.Broadcast((byte*)p, sizeof(long), 0);
        }
    }
}
