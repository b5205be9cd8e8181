// A seeded source of random numbers. It is counter-based: every draw of n numbers takes the next n
// counters of a hash of (seed, counter), so results do not depend on how a backend splits the work.
using Lepton.Kernels;

namespace Lepton;

/// <summary>A seeded, counter-based random number generator for tensor creation and dropout.</summary>
/// <example><code>var g = new Generator(42); var x = Tensor.RandN([3, 4], g);</code></example>
public sealed class Generator
{
    private static long defaultSeedCounter = Environment.TickCount64;

    /// <summary>Creates a generator with a fixed seed: the same seed gives the same numbers.</summary>
    /// <example><code>var g = new Generator(seed: 7);</code></example>
    public Generator(ulong seed)
    {
        Seed = seed;
    }

    /// <summary>The generator used when none is passed; seeded from the clock unless <see cref="ManualSeed"/> is called.</summary>
    public static Generator Default { get; private set; } = new((ulong)Interlocked.Increment(ref defaultSeedCounter));

    /// <summary>The seed this generator was made with.</summary>
    public ulong Seed { get; }

    private long counter;

    /// <summary>How many numbers have been drawn so far.</summary>
    public ulong Counter => (ulong)Interlocked.Read(ref counter);

    /// <summary>Replaces the default generator with a seeded one, like <c>torch.manual_seed</c>.</summary>
    /// <example><code>Generator.ManualSeed(0);</code></example>
    public static void ManualSeed(ulong seed) => Default = new Generator(seed);

    [ThreadStatic]
    private static int shardRank;

    [ThreadStatic]
    private static int shardCount;

    /// <summary>Reserves <paramref name="count"/> counters and returns the first (safe from several threads).</summary>
    internal ulong Advance(long count) => (ulong)(Interlocked.Add(ref counter, count) - count);

    /// <summary>
    /// Reserves counters for a draw of <paramref name="count"/> numbers over a batch shard: inside
    /// <see cref="ShardBatches"/>, rank r of W takes the r-th block of a draw of W x count, so data-parallel ranks draw
    /// the dropout masks one process would draw for the whole global batch (and the generators stay in step).
    /// </summary>
    internal ulong AdvanceShard(long count) => shardCount <= 1 ? Advance(count) : Advance(count * shardCount) + ((ulong)shardRank * (ulong)count);

    /// <summary>Makes this thread's sharded draws those of <paramref name="rank"/> of <paramref name="ranks"/> until disposed.</summary>
    internal static ShardScope ShardBatches(int rank, int ranks)
    {
        var previous = new ShardScope(shardRank, shardCount);
        (shardRank, shardCount) = (rank, ranks);
        return previous;
    }

    /// <summary>Restores the previous shard when disposed.</summary>
    internal readonly struct ShardScope(int rank, int ranks) : IDisposable
    {
        public void Dispose() => (shardRank, shardCount) = (rank, ranks);
    }

    /// <summary>A 64-bit hash of (seed, counter): the stream every backend shares.</summary>
    internal static ulong Hash(ulong seed, ulong counter) => CounterRandom.Hash(seed, counter);

    /// <summary>A float uniform in [0, 1) from (seed, counter).</summary>
    internal static float Uniform(ulong seed, ulong counter) => CounterRandom.Uniform(seed, counter);
}
