// The autograd engine: scalar and explicit-gradient backward, accumulation, ZeroGrad, Detach,
// NoGrad, graph release after backward, shared subexpressions, and the errors users hit.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class AutogradTests : BackendTests
{
    [Fact]
    public void ScalarBackwardGivesTheDerivative()
    {
        var x = T([2f, -3f], 2).RequiresGrad_();
        var y = (x * x * x).Sum();
        y.Backward();
        Assert.Equal(new[] { 12f, 27f }, x.Grad!.ToArray());
    }

    [Fact]
    public void NonScalarBackwardNeedsAnExplicitGradient()
    {
        var x = T([1f, 2f, 3f], 3).RequiresGrad_();
        var y = x * 2f;
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("[3]", e.Message);
        y.Backward(T([1f, 0.5f, -1f], 3));
        Assert.Equal(new[] { 2f, 1f, -2f }, x.Grad!.ToArray());
        Assert.Throws<ArgumentException>(() => (x * 2f).Backward(T([1f, 1f], 2)));
    }

    [Fact]
    public void GradientsAccumulateUntilZeroGrad()
    {
        var x = T([1f, 2f], 2).RequiresGrad_();
        (x * 3f).Sum().Backward();
        (x * 3f).Sum().Backward();
        Assert.Equal(new[] { 6f, 6f }, x.Grad!.ToArray());
        x.ZeroGrad();
        Assert.Null(x.Grad);
        (x * x).Sum().Backward();
        Assert.Equal(new[] { 2f, 4f }, x.Grad!.ToArray());
    }

    [Fact]
    public void EachLeafOwnsItsGradientAndKeepsItPastTheScope()
    {
        // A gradient made by a node for one leaf becomes that leaf's Grad without a copy; a gradient passed
        // through (Add), returned for two leaves, or kept by a retained graph must not be shared.
        var a = T([1f, 2f], 2).RequiresGrad_();
        var b = T([3f, 4f], 2).RequiresGrad_();
        var c = T([5f, 7f], 2);
        using (Tensor.NewScope())
        {
            ((a * c) + b).Sum().Backward();
        }

        Assert.Equal(new[] { 5f, 7f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 1f, 1f }, b.Grad!.ToArray());
        using (Tensor.NewScope())
        {
            ((a * 2f) + b).Sum().Backward();
        }

        Assert.Equal(new[] { 7f, 9f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 2f, 2f }, b.Grad!.ToArray());

        a.ZeroGrad();
        b.ZeroGrad();
        (a + b).Sum().Backward();
        Assert.NotSame(a.Grad, b.Grad);
        (a * 3f).Sum().Backward();
        Assert.Equal(new[] { 4f, 4f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 1f, 1f }, b.Grad!.ToArray());

        a.ZeroGrad();
        (a + a).Sum().Backward();
        Assert.Equal(new[] { 2f, 2f }, a.Grad!.ToArray());

        a.ZeroGrad();
        var retained = (a * c).Sum();
        retained.Backward(retainGraph: true);
        retained.Backward();
        Assert.Equal(new[] { 10f, 14f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 5f, 7f }, c.ToArray());
    }

    [Fact]
    public void SharedSubexpressionsSumTheirGradients()
    {
        var x = T([0.5f, -1.5f], 2).RequiresGrad_();
        var h = x.Tanh();
        var y = (h * h) + h + (h * x);
        GradCheck.Run(Device, [Nd.From(x)], t =>
        {
            var th = t[0].Tanh();
            return (th * th) + th + (th * t[0]);
        }, r => r[0].Map(v => (Math.Tanh(v) * Math.Tanh(v)) + Math.Tanh(v) + (Math.Tanh(v) * v)));
        Assert.NotNull(y.GradFn);
    }

    [Fact]
    public void DetachAndNoGradStopRecording()
    {
        var x = T([1f, 2f], 2).RequiresGrad_();
        var d = x.Detach();
        Assert.False(d.RequiresGrad);
        Assert.Same(x.Storage, d.Storage);
        var y = (x * d).Sum();
        y.Backward();
        Assert.Equal(new[] { 1f, 2f }, x.Grad!.ToArray());

        using (Tensor.NoGrad())
        {
            var z = x * 2f;
            Assert.False(z.RequiresGrad);
            Assert.Null(z.GradFn);
            using (Autograd.GradMode.EnableGrad())
            {
                Assert.True((x * 2f).RequiresGrad);
            }

            Assert.False((x * 2f).RequiresGrad);
        }

        Assert.True((x * 2f).RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => (d * 2f).Sum().Backward());
    }

    [Fact]
    public void AGradModeHandleRestoresOnceAndADefaultOneRestoresNothing()
    {
        var x = T([1f, 2f], 2).RequiresGrad_();
        var handle = Tensor.NoGrad();
        using (Autograd.GradMode.EnableGrad())
        {
            handle.Dispose();
            Assert.True((x * 2f).RequiresGrad);
        }

        // The enable block restored "off", the mode NoGrad set; disposing the handle again changes nothing.
        Assert.False((x * 2f).RequiresGrad);
        handle.Dispose();
        Assert.False((x * 2f).RequiresGrad);
        using (Autograd.GradMode.EnableGrad())
        {
        }

        Assert.False(Autograd.GradMode.IsEnabled);
        default(Autograd.GradModeScope).Dispose();
        Assert.False(Autograd.GradMode.IsEnabled);
        using (Autograd.GradMode.EnableGrad())
        {
            default(Autograd.GradModeScope).Dispose();
            Assert.True(Autograd.GradMode.IsEnabled);
        }

        // Back to the mode the test started in (a handle need not be disposed).
        Autograd.GradMode.EnableGrad();
        Assert.True((x * 2f).RequiresGrad);
    }

    [Fact]
    public void GraphIsReleasedAfterBackwardUnlessRetained()
    {
        var x = T([1f, 2f], 2).RequiresGrad_();
        var y = (x.Exp() * 2f).Sum();
        y.Backward();
        Assert.True(y.GradFn!.IsReleased);
        var e = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("second time", e.Message);

        var z = (x.Exp() * 2f).Sum();
        x.ZeroGrad();
        z.Backward(retainGraph: true);
        z.Backward();
        Assert.Equal(4f * MathF.Exp(1f), x.Grad!.ToArray()[0], 4);
    }

    [Fact]
    public void GradientsFlowOnlyToInputsThatRequireThem()
    {
        var a = T([1f, 2f], 2).RequiresGrad_();
        var b = T([3f, 4f], 2);
        (a * b).Sum().Backward();
        Assert.Equal(new[] { 3f, 4f }, a.Grad!.ToArray());
        Assert.Null(b.Grad);
    }

    [Fact]
    public void InPlaceUpdatesOfParametersNeedNoGrad()
    {
        var w = T([1f, 2f], 2).RequiresGrad_();
        var e = Assert.Throws<InvalidOperationException>(() => w.Add_(T([1f, 1f], 2)));
        Assert.Contains("NoGrad", e.Message);
        using (Tensor.NoGrad())
        {
            w.Add_(T([1f, 1f], 2), alpha: -0.5f).Mul_(2f);
        }

        Assert.Equal(new[] { 1f, 3f }, w.ToArray());
        Assert.Throws<InvalidOperationException>(() => Tensor.Arange(3, DType.Int32, Device).RequiresGrad_());
        Assert.Throws<InvalidOperationException>(() => (w * 2f).RequiresGrad = false);
    }

    [Fact]
    public void ToStringShowsTheGradFunction()
    {
        var w = T([1f, 2f], 2).RequiresGrad_();
        Assert.Equal("tensor([1., 2.], requires_grad=True)", w.ToString());
        Assert.Equal("tensor([2., 4.], grad_fn=<MulBackward>)", (w * 2f).ToString());
    }
}

public sealed class AutogradTestsCpu : AutogradTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class AutogradTestsIlgpuCpu : AutogradTests
{
    protected override Device Device => Device.IlgpuCpu;
}
