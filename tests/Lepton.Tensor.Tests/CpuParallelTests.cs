// The CPU backend's parallel loops: every chunk runs exactly once, whatever the timing, from one or
// several calling threads, nested, after the helpers have gone to sleep, and when a chunk throws.
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class CpuParallelTests
{
    [Fact]
    public void EveryChunkRunsExactlyOnceInEveryLoop() => WithThreads(3, () =>
    {
        var rng = new Random(3);
        for (int loop = 0; loop < 3000; loop++)
        {
            int chunks = 1 + (loop % 11);
            var counts = new int[chunks];
            int delay = rng.Next(0, 200);
            CpuParallel.Run(chunks, c =>
            {
                Thread.SpinWait(c * delay);
                Interlocked.Increment(ref counts[c]);
            });
            Assert.All(counts, n => Assert.Equal(1, n));
        }
    });

    [Fact]
    public void ConcurrentCallersEachGetTheirOwnChunks() => WithThreads(2, () =>
    {
        var callers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int loop = 0; loop < 500; loop++)
            {
                var counts = new int[2 + ((loop + t) % 6)];
                CpuParallel.ForChunks(counts.Length * 10, counts.Length, (c, start, end) =>
                {
                    Assert.Equal(10, end - start);
                    Interlocked.Add(ref counts[c], end - start);
                });
                Assert.All(counts, n => Assert.Equal(10, n));
            }
        })).ToArray();
        Task.WaitAll(callers);
    });

    [Fact]
    public void AHeldUpParticipantsChunksAreTakenOverByTheOthers() => WithThreads(2, () =>
    {
        // Whichever chunk a helper starts first holds it until every other chunk has run: only the caller can run
        // them then, its own block and the rest of the helper's. (A loop run serially on the caller skips the wait.)
        for (int round = 0; round < 20; round++)
        {
            var runs = new int[8];
            var threadOf = new int[8];
            int caller = Environment.CurrentManagedThreadId, held = -1;
            using var othersDone = new CountdownEvent(7);
            CpuParallel.Run(8, c =>
            {
                threadOf[c] = Environment.CurrentManagedThreadId;
                Interlocked.Increment(ref runs[c]);
                if (threadOf[c] != caller && Interlocked.CompareExchange(ref held, c, -1) == -1)
                {
                    Assert.True(othersDone.Wait(TimeSpan.FromSeconds(30)), $"chunks left behind chunk {c} were not taken over");
                }
                else if (!othersDone.IsSet)
                {
                    othersDone.Signal();
                }
            });
            Assert.All(runs, n => Assert.Equal(1, n));
            Assert.All(Enumerable.Range(0, 8).Where(c => c != held), c => Assert.Equal(caller, threadOf[c]));
        }
    });

    [Fact]
    public void NestedLoopsRunEveryInnerChunk() => WithThreads(2, () =>
    {
        var counts = new int[12];
        CpuParallel.Run(3, outer => CpuParallel.Run(4, inner => Interlocked.Increment(ref counts[(outer * 4) + inner])));
        Assert.All(counts, n => Assert.Equal(1, n));
    });

    [Fact]
    public void ASleepingHelperIsWokenForTheNextLoop() => WithThreads(2, () =>
    {
        int woken = 0;
        for (int round = 0; round < 200 && woken < 3; round++)
        {
            Thread.Sleep(20); // far past the helpers' polling time: they are blocked now
            int caller = Environment.CurrentManagedThreadId, otherThread = caller;
            bool shared = false;
            using var secondStarted = new ManualResetEventSlim();
            CpuParallel.Run(2, c =>
            {
                if (c == 1)
                {
                    otherThread = Environment.CurrentManagedThreadId;
                    secondStarted.Set();
                }
                else if (CpuParallel.InSharedLoop)
                {
                    // The caller holds chunk 0 until chunk 1 has started, so only a helper can run chunk 1.
                    // (A loop that another test's loop kept off the helpers runs serially: no wait then.)
                    shared = true;
                    Assert.True(secondStarted.Wait(TimeSpan.FromSeconds(30)), "no helper took the second chunk");
                }
            });
            if (shared)
            {
                Assert.NotEqual(caller, otherThread);
                woken++;
            }
        }

        Assert.Equal(3, woken);
    });

    [Fact]
    public void ExceptionsReachTheCallerAndTheNextLoopStillRuns() => WithThreads(2, () =>
    {
        var error = Assert.Throws<AggregateException>(() => CpuParallel.Run(4, c =>
        {
            if (c == 2)
            {
                throw new InvalidOperationException("chunk 2 failed");
            }
        }));
        Assert.Equal("chunk 2 failed", Assert.IsType<InvalidOperationException>(Assert.Single(error.InnerExceptions)).Message);

        int sum = 0;
        CpuParallel.Run(4, c => Interlocked.Add(ref sum, c + 1));
        Assert.Equal(10, sum);
    });

    /// <summary>Runs body with at least <paramref name="threads"/> CPU threads (other tests only see the speed change).</summary>
    private static void WithThreads(int threads, Action body)
    {
        int previous = CpuParallel.Threads;
        CpuParallel.Threads = Math.Max(previous, threads);
        try
        {
            body();
        }
        finally
        {
            CpuParallel.Threads = previous;
        }
    }
}
