// Eager code that never disposes its temporaries nor opens a scope keeps bounded memory: the pool collects
// unreachable tensors once live bytes pass its threshold and reuses their buffers. EmptyCache frees the cache.
using Lepton.Backends.Cpu;

namespace Lepton.Tests;

public sealed class NaiveMemoryTests
{
    private const int Elements = 1 << 18;
    private const long MiB = 1 << 20;

    [Fact]
    public void ALoopThatDropsItsTemporariesKeepsLiveMemoryNearTheThreshold()
    {
        var device = new Device("cpu-naive", new CpuBackend());
        var pool = device.Backend.Pool;
        pool.CollectThresholdBytes = 32 * MiB;
        var x = Tensor.Rand([Elements], new Generator(3), device);
        float expected = x.ToArray().Sum(v => (2 * v) + 1);
        long peak = 0;

        // 3 MiB of temporaries per iteration, 1.2 GiB in all: without collection the pool would hand out new buffers
        // until the runtime's own collector happened to run.
        for (int i = 0; i < 400; i++)
        {
            var y = (x * 2 + 1).Relu().Sum();
            Assert.Equal(expected, y.Item(), expected * 1e-5f);
            peak = Math.Max(peak, pool.LiveBytes);
        }

        Assert.True(peak <= 40 * MiB, $"live bytes reached {peak / MiB} MiB with a 32 MiB threshold");
        Assert.InRange(pool.Collections, 1, 80);
        GC.KeepAlive(x);
    }

    [Fact]
    public void TheThresholdFollowsWhatSurvivesSoKeptTensorsCostFewCollections()
    {
        var device = new Device("cpu-kept", new CpuBackend());
        var pool = device.Backend.Pool;
        pool.CollectThresholdBytes = 32 * MiB;
        var kept = new List<Tensor>();

        // 256 MiB kept alive, 1 MiB at a time: each collection doubles the threshold, so there are about log2(256 / 32).
        for (int i = 0; i < 256; i++)
        {
            kept.Add(Tensor.Zeros([Elements], device: device));
        }

        Assert.InRange(pool.Collections, 2, 5);
        Assert.Equal(256 * MiB, pool.LiveBytes);
        Assert.True(pool.CollectThresholdBytes >= pool.LiveBytes, $"threshold {pool.CollectThresholdBytes} below live {pool.LiveBytes}");
        kept.ForEach(t => t.Dispose());
        Assert.Equal(0, pool.LiveBytes);
    }

    [Fact]
    public void EmptyCacheFreesCachedAndUnreachableBuffersButNotLiveOnes()
    {
        var device = new Device("cpu-empty", new CpuBackend());
        var pool = device.Backend.Pool;
        var live = Tensor.Full([Elements], 7f, device: device);
        MakeGarbage(device);
        using (Tensor.NewScope())
        {
            _ = Tensor.Ones([Elements], device: device) * 3f;
        }

        Assert.True(pool.CachedBytes >= 2 * Elements * 4L, $"{pool.CachedBytes} bytes cached");
        device.EmptyCache();
        Assert.Equal(0, pool.CachedBytes);
        Assert.Equal(Elements * 4L, pool.LiveBytes);
        Assert.All(live.ToArray(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void TheCpuPoolIsSizedFromTheMemoryTheProcessMayUse()
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var pool = new CpuBackend().Pool;
        Assert.Equal(Math.Min(2L << 30, available / 4), pool.MaxCachedBytes);
        Assert.Equal(Math.Max(32 * MiB, Math.Min(256 * MiB, available / 8)), pool.CollectThresholdBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.CollectThresholdBytes = MiB);
    }

    /// <summary>A tensor dropped without Dispose, in a frame of its own so nothing on this one keeps it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void MakeGarbage(Device device) => _ = Tensor.Ones([Elements], device: device);
}
