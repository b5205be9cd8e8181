// Deterministic memory: scopes free intermediates, MoveToOuter keeps results, views keep their
// storage alive, and 500 training steps keep the pool's live bytes flat. Each test uses its own
// CPU backend so that its pool counters see only its own tensors.
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public sealed class MemoryTests
{
    private readonly Device device = new("cpu-isolated", new CpuBackend());

    private long Live => device.Backend.Pool.LiveBytes;

    /// <summary>Live bytes once tensors dropped without Dispose (set-up code outside scopes) are collected.</summary>
    private long SettledLive()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Live;
    }

    [Fact]
    public void ScopeDisposesIntermediatesButNotMovedResults()
    {
        var x = Tensor.Ones([256], device: device);
        long before = Live;
        Tensor kept;
        using (var scope = Tensor.NewScope())
        {
            var a = x * 2f;
            var b = (a + 1f).Exp();
            kept = b.Sum().MoveToOuter();
            Assert.True(scope.Count > 3);
            Assert.True(Live > before + (256 * 4));
        }

        Assert.Equal(before + 4, Live);
        Assert.Equal(256 * MathF.Exp(3f), kept.Item(), 0);
        kept.Dispose();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void NestedScopesHandResultsOutward()
    {
        long before = Live;
        Tensor outer;
        using (Tensor.NewScope())
        {
            Tensor inner;
            using (Tensor.NewScope())
            {
                inner = Tensor.Ones([10], device: device).MoveToOuter();
            }

            Assert.False(inner.IsDisposed);
            outer = (inner * 3f).MoveToOuter().MoveToOuter();
        }

        Assert.False(outer.IsDisposed);
        using (var sum = outer.Sum())
        {
            Assert.Equal(30f, sum.Item());
        }

        outer.Dispose();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void AScopeOpenedAfterAnotherWasDisposedDisposesOnlyItsOwnTensors()
    {
        long before = Live;
        var outside = TensorScope.Current;
        Tensor moved;
        var first = Tensor.NewScope();
        var inner = Tensor.NewScope();
        var x = Tensor.Ones([10], device: device);
        first.Dispose();

        // Moving into a disposed scope leaves the tensor to its owner, as outside every scope.
        moved = x.MoveToOuter();
        Assert.Equal(0, first.Count);
        using (var next = Tensor.NewScope())
        {
            Assert.Equal(0, next.Count);
            var y = Tensor.Ones([10], device: device);
            Assert.Equal(1, next.Count);
            next.Dispose();
            Assert.True(y.IsDisposed);
        }

        // Disposing the inner scope makes the scope outside both current again, not the disposed one.
        inner.Dispose();
        Assert.Same(outside, TensorScope.Current);
        Assert.False(moved.IsDisposed);
        moved.Dispose();
        Assert.Equal(before, Live);
    }

    [Fact]
    public void ViewsKeepStorageAliveAfterTheBaseIsDisposed()
    {
        long before = Live;
        var x = Tensor.Arange(6, device: device);
        var matrix = x.Reshape(2, 3);
        var v = matrix.T;
        x.Dispose();
        matrix.Dispose();
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, v.ToArray());
        v.Dispose();
        Assert.Equal(before, Live);
        Assert.Throws<ObjectDisposedException>(() => x.ToArray());
    }

    [Fact]
    public void FiveHundredTrainingStepsKeepLiveMemoryFlat()
    {
        var rng = new Generator(1);
        var x = Tensor.RandN([32, 16], rng, device);
        var y = Tensor.RandInt(0, 4, [32], rng, device);
        var model = new TinyMlp(device, 16, 32, 4, seed: 2);
        long afterWarmup = 0;
        for (int step = 0; step < 500; step++)
        {
            using (Tensor.NewScope())
            {
                var loss = Tensor.CrossEntropy(model.Forward(x), y);
                loss.Backward();
                Sgd.Step(model.Parameters, 0.05f);
            }

            if (step == 9)
            {
                afterWarmup = SettledLive();
            }
        }

        Assert.Equal(afterWarmup, SettledLive());
        long cached = device.Backend.Pool.CachedBytes;
        Assert.True(cached < 1 << 20, $"the pool caches {cached} bytes for a model of a few KB");
    }
}
