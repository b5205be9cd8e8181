// Optimizers against hand-computed float64 updates, learning-rate schedules at known points,
// gradient clipping, and their argument checks.
using Lepton.Nn;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class OptimizerTests
{
    [Fact]
    public void SgdWithMomentumAndNesterovMatchesTheFormula()
    {
        foreach (bool nesterov in new[] { false, true })
        {
            var (w, optimizer) = (Param([1f, -2f]), new Sgd(0.1f, momentum: 0.9f, nesterov: nesterov, weightDecay: 0.01f));
            double[] p = [1, -2], buf = [0, 0];
            for (int step = 0; step < 3; step++)
            {
                double[] g = [p[0] * 2, p[1] * 2];
                Step(w, optimizer);
                for (int i = 0; i < 2; i++)
                {
                    double gi = g[i] + (0.01 * p[i]);
                    buf[i] = (0.9 * buf[i]) + gi;
                    p[i] -= 0.1 * (nesterov ? gi + (0.9 * buf[i]) : buf[i]);
                }
            }

            AssertClose(p, w.Value.ToArray());
        }
    }

    [Fact]
    public void AdamAndAdamWMatchTheFormula()
    {
        foreach (bool decoupled in new[] { false, true })
        {
            Optimizer optimizer = decoupled ? new AdamW(0.01f, weightDecay: 0.1f) : new Adam(0.01f, weightDecay: 0.1f);
            var w = Param([0.5f, -1.5f]);
            double[] p = [0.5, -1.5], m = [0, 0], v = [0, 0];
            for (int t = 1; t <= 4; t++)
            {
                double[] g = [p[0] * 2, p[1] * 2];
                Step(w, optimizer);
                for (int i = 0; i < 2; i++)
                {
                    double gi = g[i];
                    if (decoupled)
                    {
                        p[i] -= 0.01 * 0.1 * p[i];
                    }
                    else
                    {
                        gi += 0.1 * p[i];
                    }

                    m[i] = (0.9 * m[i]) + (0.1 * gi);
                    v[i] = (0.999 * v[i]) + (0.001 * gi * gi);
                    p[i] -= 0.01 * (m[i] / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v[i] / (1 - Math.Pow(0.999, t))) + 1e-7);
                }
            }

            AssertClose(p, w.Value.ToArray());
            Assert.Equal(4, optimizer.Iterations);
        }
    }

    [Fact]
    public void RmsPropMatchesTheFormula()
    {
        var optimizer = new RmsProp(0.01f, rho: 0.9f, momentum: 0.5f);
        var w = Param([1f, 2f]);
        double[] p = [1, 2], ms = [0, 0], buf = [0, 0];
        for (int t = 0; t < 3; t++)
        {
            double[] g = [p[0] * 2, p[1] * 2];
            Step(w, optimizer);
            for (int i = 0; i < 2; i++)
            {
                ms[i] = (0.9 * ms[i]) + (0.1 * g[i] * g[i]);
                buf[i] = (0.5 * buf[i]) + (g[i] / (Math.Sqrt(ms[i]) + 1e-7));
                p[i] -= 0.01 * buf[i];
            }
        }

        AssertClose(p, w.Value.ToArray());
    }

    [Fact]
    public void ClippingByNormRescalesGradients()
    {
        var w = Param([3f, 4f]);
        var optimizer = new Sgd(1f) { ClipNorm = 1f };
        Step(w, optimizer);
        // gradient 2p = (6, 8), norm 10, clipped to (0.6, 0.8)
        AssertClose([2.4, 3.2], w.Value.ToArray());

        var a = Param([3f]);
        var b = Param([4f]);
        var global = new Sgd(1f) { GlobalClipNorm = 5f };
        using (Tensor.NewScope())
        {
            ((a.Value * a.Value) + (b.Value * b.Value)).Sum().Backward();
        }

        global.Step([a, b]);
        AssertClose([3 - 3], a.Value.ToArray());
        AssertClose([4 - 4], b.Value.ToArray());

        // Both: the global clip scales (6, 8) to (3, 4), norm 5; the per-weight clip then takes it to norm 2.
        var both = Param([3f, 4f]);
        Step(both, new Sgd(1f) { GlobalClipNorm = 5f, ClipNorm = 2f });
        AssertClose([3 - 1.2, 4 - 1.6], both.Value.ToArray());

        // Below the limits nothing changes: plain SGD on gradient (0.2, 0.4).
        var small = Param([0.1f, 0.2f]);
        Step(small, new Sgd(1f) { GlobalClipNorm = 5f, ClipNorm = 2f });
        AssertClose([0.1 - 0.2, 0.2 - 0.4], small.Value.ToArray());
    }

    [Fact]
    public void SchedulesGiveKnownValues()
    {
        Assert.Equal(0.1f, new StepDecay(0.1f, 10, 0.5f).Rate(9), 6);
        Assert.Equal(0.05f, new StepDecay(0.1f, 10, 0.5f).Rate(10), 6);
        Assert.Equal(0.1f * MathF.Pow(0.5f, 1.5f), new ExponentialDecay(0.1f, 10, 0.5f).Rate(15), 6);
        Assert.Equal(0.05f, new ExponentialDecay(0.1f, 10, 0.5f, staircase: true).Rate(15), 6);
        var cosine = new CosineDecay(1f, 100, alpha: 0.1f, warmupSteps: 10);
        Assert.Equal(0.1f, cosine.Rate(0), 6);
        Assert.Equal(1f, cosine.Rate(10), 5);
        Assert.Equal(0.55f, cosine.Rate(55), 5);
        Assert.Equal(0.1f, cosine.Rate(100), 5);
        var oneCycle = new OneCycle(1f, 1000, pctStart: 0.3f, divFactor: 25f, finalDivFactor: 1e4f);
        Assert.Equal(0.04f, oneCycle.Rate(0), 5);
        Assert.Equal(1f, oneCycle.Rate(299), 3);
        Assert.True(oneCycle.Rate(999) < 1e-5f);
        var adam = new Adam(new StepDecay(0.1f, 1, 0.5f));
        Assert.Equal(0.1f, adam.LearningRate, 6);
        adam.LearningRate = 0.3f;
        Assert.Null(adam.Schedule);
        Assert.Equal(0.3f, adam.LearningRate, 6);
    }

    [Fact]
    public void BadHyperParametersAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new Sgd(0.1f, momentum: 0f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(beta1: 1f));
        Assert.Throws<ArgumentException>(() => Optimizer.FromName("adagrad-ish"));
        Assert.IsType<AdamW>(Optimizer.FromName("adamw"));
    }

    [Theory]
    [InlineData("adam", 1e-21f, "v")]
    [InlineData("rmsprop", 1e-21f, "rms")]
    [InlineData("sgd", 1e-39f, "momentum")]
    public void OptimizerStateFlushesSubnormalsToZeroOnEveryBackend(string rule, float tiny, string slot)
    {
        // The gradient 2 * tiny makes the named state subnormal after one step (Adam's and RMSprop's mean
        // square ~ 4e-43, SGD's momentum 2e-39): it is stored as 0 (subnormal arithmetic is slow on many x86
        // cores), on the SIMD path (index 3) and the scalar tail (index 16) alike; normal values are kept.
        foreach (var device in new[] { Device.Cpu, Device.IlgpuCpu })
        {
            var values = Enumerable.Repeat(1f, 17).ToArray();
            values[3] = values[16] = tiny;
            var holder = new Holder(values) { Device = device };
            using Optimizer optimizer = rule switch
            {
                "adam" => new Adam(0.001f),
                "rmsprop" => new RmsProp(0.001f, momentum: 0.5f),
                _ => new Sgd(0.001f, momentum: 0.9f),
            };
            Step(holder.W, optimizer);
            var state = optimizer.StateTensors().Single(s => s.Name.EndsWith("/" + slot)).Value.ToArray();
            Assert.Equal(0f, state[3]);
            Assert.Equal(0f, state[16]);
            Assert.True(state[0] > 1e-4f, $"{rule} {slot}[0] = {state[0]} on {device}");
        }
    }

    private static Weight Param(float[] values)
    {
        var layer = new Holder(values);
        return layer.W;
    }

    /// <summary>Computes the gradient of sum(w^2) (= 2w) and takes one step.</summary>
    private static void Step(Weight w, Optimizer optimizer)
    {
        using (Tensor.NewScope())
        {
            (w.Value * w.Value).Sum().Backward();
        }

        optimizer.Step([w]);
    }

    private static void AssertClose(double[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 4);
        }
    }

    private sealed class Holder : Layer
    {
        public Holder(float[] values)
        {
            W = AddWeight("w", [values.Length], new Fixed(values));
        }

        public Weight W { get; }

        private sealed class Fixed(float[] values) : Initializer
        {
            public override string Name => "fixed";

            public override Tensor Create(int[] shape, Device device, Generator fallback) => Tensor.FromArray(values, shape, device: device);
        }
    }
}
