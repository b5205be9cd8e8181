// Splitting CPU work across cores: one chunk per thread when the work is large enough to pay for
// the hand-off, and a plain call on the current thread otherwise.
namespace Lepton.Backends.Cpu;

/// <summary>Range-splitting parallel loops with a work threshold.</summary>
internal static class CpuParallel
{
    /// <summary>Below this many element-operations a loop runs on the calling thread.</summary>
    public const long MinParallelWork = 1 << 15;

    private static int threads = ReadThreadSetting();

    /// <summary>The number of threads CPU kernels use (LEPTON_NUM_THREADS, else all cores).</summary>
    public static int Threads
    {
        get => threads;
        set => threads = Math.Clamp(value, 1, Environment.ProcessorCount * 4);
    }

    /// <summary>Runs body(start, end) over [0, count) in one chunk per thread.</summary>
    public static void For(int count, long workPerItem, Action<int, int> body)
    {
        int chunks = ChunkCount(count, workPerItem);
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }

        ForChunks(count, chunks, (_, start, end) => body(start, end));
    }

    /// <summary>Runs body(chunk, start, end) for <paramref name="chunks"/> equal chunks of [0, count) in parallel.</summary>
    public static void ForChunks(int count, int chunks, Action<int, int, int> body)
    {
        if (chunks <= 1)
        {
            body(0, 0, count);
            return;
        }

        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, chunk =>
            body(chunk, (int)((long)count * chunk / chunks), (int)((long)count * (chunk + 1) / chunks)));
    }

    /// <summary>How many chunks <see cref="For"/> would use.</summary>
    public static int ChunkCount(int count, long workPerItem)
    {
        if (threads <= 1 || count <= 1 || (long)count * workPerItem < MinParallelWork)
        {
            return 1;
        }

        return Math.Min(count, threads);
    }

    private static int ReadThreadSetting()
    {
        string? value = Environment.GetEnvironmentVariable("LEPTON_NUM_THREADS");
        return int.TryParse(value, out int n) && n > 0 ? n : Environment.ProcessorCount;
    }
}
