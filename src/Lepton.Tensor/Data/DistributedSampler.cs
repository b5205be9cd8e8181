// Which examples each rank of a data-parallel job takes: every epoch's order is the same permutation on every rank
// (seeded), and each global batch of batchSize x worldSize examples is cut into one contiguous block per rank.
namespace Lepton.Data;

/// <summary>
/// Gives each rank of a data-parallel job a disjoint shard of every epoch. Rank r's k-th batch is the r-th block of
/// the k-th global batch, so W ranks with batch B see the examples one process with batch W x B would see, in the same
/// steps. For training, a last global batch that does not split evenly is padded with examples from the start of the
/// epoch's order, so that every rank takes the same number of equal steps; for evaluation nothing is padded and each
/// rank takes a contiguous 1/W of the data.
/// </summary>
/// <example><code>var shard = new DataLoader(train, 64, shuffle: true, sampler: new DistributedSampler(dist.Rank, dist.WorldSize));</code></example>
public sealed class DistributedSampler
{
    /// <summary>Creates the sampler for one rank.</summary>
    /// <param name="rank">This process's rank, 0 to <paramref name="worldSize"/> - 1.</param>
    /// <param name="worldSize">How many ranks share the data.</param>
    /// <param name="padToEqual">Pad the last global batch so every rank takes equal steps (training); false splits the data
    /// into contiguous parts without repeating an example (evaluation).</param>
    public DistributedSampler(int rank, int worldSize, bool padToEqual = true)
    {
        if (worldSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "DistributedSampler: worldSize must be at least 1.");
        }

        if (rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"DistributedSampler: rank must be in 0..{worldSize - 1}.");
        }

        Rank = rank;
        WorldSize = worldSize;
        PadToEqual = padToEqual;
    }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>How many ranks share the data.</summary>
    public int WorldSize { get; }

    /// <summary>Whether the last global batch is padded so every rank takes equal steps.</summary>
    public bool PadToEqual { get; }

    /// <summary>How many examples this rank takes per epoch from <paramref name="count"/>.</summary>
    internal int ShardLength(int count, int batchSize, bool dropLast)
    {
        if (!PadToEqual)
        {
            return Part(count, Rank + 1) - Part(count, Rank);
        }

        long global = (long)batchSize * WorldSize;
        int full = (int)(count / global), rest = (int)(count - (full * global));
        return (full * batchSize) + (dropLast || rest == 0 ? 0 : (rest + WorldSize - 1) / WorldSize);
    }

    /// <summary>This rank's examples, in the order it takes them, from the epoch's order of all examples.</summary>
    internal int[] Shard(int[] order, int batchSize, bool dropLast)
    {
        int n = order.Length;
        var shard = new int[ShardLength(n, batchSize, dropLast)];
        if (!PadToEqual)
        {
            Array.Copy(order, Part(n, Rank), shard, 0, shard.Length);
            return shard;
        }

        int global = batchSize * WorldSize, taken = 0;
        for (int start = 0; start < n && taken < shard.Length; start += global)
        {
            int length = Math.Min(global, n - start), per = (length + WorldSize - 1) / WorldSize;
            for (int i = 0; i < per; i++)
            {
                // Positions past the end of the last global batch wrap to the start of the epoch's order.
                int position = start + (Rank * per) + i;
                shard[taken++] = position < start + length ? order[position] : order[(position - start - length) % n];
            }
        }

        return shard;
    }

    private long PartStart(int count, int part) => (long)count * part / WorldSize;

    private int Part(int count, int part) => (int)PartStart(count, part);
}
