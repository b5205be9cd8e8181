// Splitting CPU work across cores: a few chunks per thread when the work is large enough to pay for
// the hand-off, and a plain call on the current thread otherwise. The chunks run on the calling
// thread and on helper threads of our own that spin briefly after each loop before they block: a
// training step issues hundreds of parallel loops a few microseconds apart, and waking a blocked
// thread-pool thread for each costs as much as the loop itself on a small virtual machine.
// A loop body is a static lambda with its state passed by value, so a loop allocates nothing.
using System.Diagnostics;

namespace Lepton.Backends.Cpu;

/// <summary>One chunk [start, end) of a parallel loop, with the loop's state.</summary>
internal delegate void RangeBody<TState>(in TState state, int start, int end);

/// <summary>Chunk number <paramref name="chunk"/>, [start, end), of a parallel loop, with the loop's state.</summary>
internal delegate void ChunkBody<TState>(in TState state, int chunk, int start, int end);

/// <summary>Range-splitting parallel loops with a work threshold.</summary>
internal static class CpuParallel
{
    /// <summary>Below this many element-operations a loop runs on the calling thread.</summary>
    public const long MinParallelWork = 1 << 15;

    /// <summary>A large loop is cut into up to this many chunks per thread, so that the others can take over part of the
    /// share of a thread whose core is slowed down by other work (on a shared virtual machine, often for seconds).</summary>
    /// <remarks>Settable so that one process can time several settings in turn; change it only between loops.</remarks>
    public static int ChunksPerThread { get; set; } = 4;

    /// <summary>The most chunks a loop is cut into: <see cref="ChunksPerThread"/> per thread, 1 on one thread.</summary>
    public static int MaxChunks => threads <= 1 ? 1 : threads * Math.Max(ChunksPerThread, 1);

    /// <summary>The least work of each chunk beyond the first one per thread.</summary>
    private const long MinChunkWork = 1 << 16;

    /// <summary>How long an idle helper keeps polling for the next loop before it blocks.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000;

    private static readonly object Gate = new();
    private static readonly object FailuresGate = new();
    private static int threads = ReadThreadSetting();
    private static Helper[] helpers = [];

    // The loop in progress. `state` holds the loop's generation (high 32 bits), a closed flag (set once
    // every chunk is claimed) and how many helpers are inside the loop (low bits): a helper enters only
    // an open loop of the generation it saw, so one that wakes late never touches a later loop's chunks.
    // Participant p (the caller is 0) first runs its own block of consecutive chunks, the same block in
    // every loop of that size (its part of the data stays in that core's cache), and then takes whatever
    // is left of the other blocks from their ends, so a participant that arrives late or runs on a core
    // slowed by other work hands the rest of its block to the others.
    private const long ClosedBit = 1L << 31;
    private const long ActiveMask = ClosedBit - 1;
    private static Action<int>? loopBody;
    private static CpuIsa? loopIsa;
    private static int loopChunks;
    private static int loopHelpers;
    private static int[] claimed = [];
    private static long state;
    private static List<Exception>? failures;

    [ThreadStatic]
    private static bool insideLoop;

    /// <summary>The number of threads CPU kernels use (LEPTON_NUM_THREADS, else all cores).</summary>
    public static int Threads
    {
        get => threads;
        set => threads = Math.Clamp(value, 1, Environment.ProcessorCount * 4);
    }

    /// <summary>Whether the current thread is running a chunk of a loop shared with the helpers (false when a
    /// loop fell back to running all its chunks on the calling thread).</summary>
    public static bool InSharedLoop => insideLoop;

    /// <summary>Runs body(state, start, end) over [0, count) in <see cref="ChunkCount"/> chunks.</summary>
    /// <example><code>CpuParallel.For(n, 4, (x, y), static (in (nint X, nint Y) s, int start, int end) => { ... });</code></example>
    public static void For<TState>(int count, long workPerItem, in TState state, RangeBody<TState> body)
    {
        int chunks = ChunkCount(count, workPerItem);
        if (chunks <= 1)
        {
            body(in state, 0, count);
            return;
        }

        ForChunks(count, chunks, (state, body), static (in (TState State, RangeBody<TState> Body) s, int _, int start, int end) => s.Body(in s.State, start, end));
    }

    /// <summary>Runs body(chunk, start, end) for <paramref name="chunks"/> equal chunks of [0, count) in parallel.</summary>
    public static void ForChunks(int count, int chunks, Action<int, int, int> body) =>
        ForChunks(count, chunks, body, static (in Action<int, int, int> b, int chunk, int start, int end) => b(chunk, start, end));

    /// <summary>Runs body(chunk) for every chunk in [0, chunks).</summary>
    public static void Run(int chunks, Action<int> body)
    {
        if (chunks > 0)
        {
            ForChunks(chunks, chunks, body, static (in Action<int> b, int chunk, int start, int end) => b(chunk));
        }
    }

    /// <summary>Runs body(state, chunk, start, end) for <paramref name="chunks"/> equal chunks of [0, count) on up to
    /// <see cref="Threads"/> threads and returns when all have finished; exceptions are rethrown together in an
    /// <see cref="AggregateException"/>.</summary>
    /// <remarks>A loop started inside another, or while another thread's loop holds the helpers, runs its
    /// chunks on the calling thread.</remarks>
    public static void ForChunks<TState>(int count, int chunks, in TState state, ChunkBody<TState> body)
    {
        if (chunks <= 1)
        {
            body(in state, 0, 0, count);
            return;
        }

        int wanted = Math.Min(threads, chunks) - 1;
        if (wanted <= 0 || insideLoop || !Monitor.TryEnter(Gate))
        {
            for (int chunk = 0; chunk < chunks; chunk++)
            {
                body(in state, chunk, ChunkStart(count, chunks, chunk), ChunkStart(count, chunks, chunk + 1));
            }

            return;
        }

        // Under the gate no other shared loop runs, so the state can wait in a static field for the helpers.
        SharedLoop<TState>.State = state;
        SharedLoop<TState>.Body = body;
        SharedLoop<TState>.Count = count;
        try
        {
            RunShared(chunks, wanted, SharedLoop<TState>.RunChunk);
        }
        finally
        {
            SharedLoop<TState>.State = default!;
            SharedLoop<TState>.Body = null;
            Monitor.Exit(Gate);
        }
    }

    /// <summary>Where chunk <paramref name="chunk"/> of <paramref name="chunks"/> equal chunks of [0, count) starts.</summary>
    private static int ChunkStart(int count, int chunks, int chunk) => (int)((long)count * chunk / chunks);

    /// <summary>Runs a loop's chunks on this thread and <paramref name="wanted"/> helpers; the caller holds the gate.</summary>
    private static void RunShared(int chunks, int wanted, Action<int> body)
    {
        StartHelpers(wanted);
        if (claimed.Length < chunks)
        {
            claimed = new int[chunks];
        }
        else
        {
            Array.Clear(claimed, 0, chunks);
        }

        loopBody = body;
        loopIsa = CpuGemm.IsaOverride;
        loopChunks = chunks;
        loopHelpers = wanted;
        failures = null;
        long generation = (Volatile.Read(ref state) >> 32) + 1;
        Interlocked.Exchange(ref state, generation << 32);
        for (int i = 0; i < wanted; i++)
        {
            if (Interlocked.Exchange(ref helpers[i].Sleeping, 0) == 1)
            {
                helpers[i].Wake.Release();
            }
        }

        insideLoop = true;
        try
        {
            Work(0);
        }
        finally
        {
            insideLoop = false;
        }

        // Every chunk is claimed now; close the loop to late helpers and wait for those inside.
        Interlocked.Or(ref state, ClosedBit);
        var spinner = default(SpinWait);
        while ((Volatile.Read(ref state) & ActiveMask) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        loopBody = null;
        if (failures is { } errors)
        {
            throw new AggregateException(errors);
        }
    }

    /// <summary>How many chunks <see cref="For"/> would use: 1 on one thread or below <see cref="MinParallelWork"/>, else one
    /// per thread and more for a large loop, up to <see cref="ChunksPerThread"/> per thread (never more than
    /// <paramref name="count"/>). The count depends only on the arguments and the thread setting.</summary>
    public static int ChunkCount(int count, long workPerItem)
    {
        long work = (long)count * workPerItem;
        if (threads <= 1 || count <= 1 || work < MinParallelWork)
        {
            return 1;
        }

        long chunks = Math.Clamp(work / MinChunkWork, threads, MaxChunks);
        return (int)Math.Min(count, chunks);
    }

    /// <summary>How many chunks a loop whose chunks carry a fixed cost gets: one per thread (or 1, as <see cref="ChunkCount"/>
    /// below <see cref="MinParallelWork"/>), never more than <paramref name="count"/>.</summary>
    public static int OneChunkPerThread(int count, long workPerItem) => Math.Min(ChunkCount(count, workPerItem), threads);

    /// <summary>Runs participant's own block of chunks in order, then claims what is left of every block, last chunk first.</summary>
    private static void Work(int participant)
    {
        int chunks = loopChunks, participants = loopHelpers + 1;
        int first = (int)((long)chunks * participant / participants), end = (int)((long)chunks * (participant + 1) / participants);
        for (int chunk = first; chunk < end; chunk++)
        {
            TryRun(chunk);
        }

        for (int chunk = chunks - 1; chunk >= 0; chunk--)
        {
            TryRun(chunk);
        }
    }

    private static void TryRun(int chunk)
    {
        if (Volatile.Read(ref claimed[chunk]) != 0 || Interlocked.Exchange(ref claimed[chunk], 1) != 0)
        {
            return;
        }

        try
        {
            loopBody!(chunk);
        }
        catch (Exception e)
        {
            lock (FailuresGate)
            {
                (failures ??= []).Add(e);
            }
        }
    }

    private static void StartHelpers(int count)
    {
        if (helpers.Length >= count)
        {
            return;
        }

        var grown = new Helper[count];
        helpers.CopyTo(grown, 0);
        for (int i = helpers.Length; i < count; i++)
        {
            grown[i] = new Helper(i);
        }

        helpers = grown;
    }

    private static int ReadThreadSetting()
    {
        string? value = Environment.GetEnvironmentVariable("LEPTON_NUM_THREADS");
        return int.TryParse(value, out int n) && n > 0 ? n : Environment.ProcessorCount;
    }

    /// <summary>The state and body of the shared loop in progress whose state has type <typeparamref name="TState"/>.</summary>
    private static class SharedLoop<TState>
    {
        public static readonly Action<int> RunChunk = chunk =>
            Body!(in State!, chunk, ChunkStart(Count, loopChunks, chunk), ChunkStart(Count, loopChunks, chunk + 1));

        public static TState State = default!;
        public static ChunkBody<TState>? Body;
        public static int Count;
    }

    /// <summary>A helper thread: joins each loop whose helper count includes it, polls for the next one for
    /// <see cref="SpinTicks"/>, then blocks until a loop wakes it.</summary>
    private sealed class Helper
    {
        public readonly SemaphoreSlim Wake = new(0);

        /// <summary>1 while the helper is blocked (or about to block) on <see cref="Wake"/>.</summary>
        public int Sleeping;

        private readonly int index;

        public Helper(int index)
        {
            this.index = index;
            new Thread(Loop) { IsBackground = true, Name = $"Lepton CPU worker {index + 1}" }.Start();
        }

        private void Loop()
        {
            insideLoop = true;
            long seen = Volatile.Read(ref state) >> 32;
            long idleSince = Stopwatch.GetTimestamp();
            while (true)
            {
                if (TryJoin(ref seen))
                {
                    idleSince = Stopwatch.GetTimestamp();
                    continue;
                }

                if (Stopwatch.GetTimestamp() - idleSince < SpinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }

                Interlocked.Exchange(ref Sleeping, 1);
                if (Volatile.Read(ref state) >> 32 != seen && Interlocked.Exchange(ref Sleeping, 0) == 1)
                {
                    // A loop started between the last poll and the flag: no wake-up is coming for it.
                    continue;
                }

                Wake.Wait();
                idleSince = Stopwatch.GetTimestamp();
            }
        }

        private bool TryJoin(ref long seen)
        {
            long s = Volatile.Read(ref state);
            long generation = s >> 32;
            if (generation == seen)
            {
                return false;
            }

            seen = generation;
            while (true)
            {
                if (s >> 32 != generation || (s & ClosedBit) != 0)
                {
                    return true;
                }

                if (Interlocked.CompareExchange(ref state, s + 1, s) == s)
                {
                    break;
                }

                s = Volatile.Read(ref state);
            }

            if (index < loopHelpers)
            {
                // The caller's instruction-set choice holds on every thread of its loop (the same kernels, the same bits).
                CpuGemm.IsaOverride = loopIsa;
                Work(index + 1);
                CpuGemm.IsaOverride = null;
            }

            Interlocked.Decrement(ref state);
            return true;
        }
    }
}
