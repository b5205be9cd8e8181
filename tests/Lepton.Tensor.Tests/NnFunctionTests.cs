// Softmax, log-softmax and the losses: forward against float64 references, stability on extreme
// logits, finite-difference gradients, label smoothing and soft targets, and bad input.
using FsCheck.Fluent;
using Lepton.Nn;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class NnFunctionTests : BackendTests
{
    [Fact]
    public void SoftmaxAndLogSoftmaxAlongAnyAxis()
    {
        var gen = from shape in Generators.Shape(1, 4, 6) from axisSeed in Gen.Choose(0, 10) select (shape, axis: axisSeed % shape.Length);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var x = Generators.Values(c.Case.shape, c.Seed, -5, 5);
            Check.Close(SoftmaxRef(x, c.Case.axis, log: false), T(x).Softmax(c.Case.axis), 1e-6, 1e-5, "softmax");
            Check.Close(SoftmaxRef(x, c.Case.axis, log: true), T(x).LogSoftmax(c.Case.axis), 1e-5, 1e-5, "log_softmax");
        });
    }

    [Fact]
    public void SoftmaxIsStableForHugeLogits()
    {
        var x = T([1000f, 0f, -1000f, 1e30f, 1e30f, 0f], 2, 3);
        var p = x.Softmax(1).ToArray();
        Assert.Equal(new[] { 1f, 0f, 0f, 0.5f, 0.5f, 0f }, p);
        var lp = x.LogSoftmax(1).ToArray();
        Assert.Equal(-1000f, lp[1], 3);
        Assert.All(lp, v => Assert.False(float.IsNaN(v)));
        var confidentlyWrong = Tensor.CrossEntropy(T([1000f, 0f, -1000f], 1, 3), Tensor.FromArray(new[] { 2 }, [1], Device));
        Assert.Equal(2000f, confidentlyWrong.Item(), 1);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void SoftmaxGradientsMatchFiniteDifferences(int axis)
    {
        var x = Generators.Values([3, 5], 4);
        GradCheck.Run(Device, [x], t => t[0].Softmax(axis), r => SoftmaxRef(r[0], axis, false));
        GradCheck.Run(Device, [x], t => t[0].LogSoftmax(axis), r => SoftmaxRef(r[0], axis, true));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    public void CrossEntropyWithIntegerLabels(float smoothing)
    {
        var logits = Generators.Values([6, 4], 8, -3, 3);
        int[] labels = [0, 3, 1, 1, 2, 3];
        var target = Tensor.FromArray(labels, [6], Device);
        var loss = Tensor.CrossEntropy(T(logits), target, labelSmoothing: smoothing);
        Assert.Equal(Array.Empty<int>(), loss.Shape);
        Assert.Equal(CrossEntropyRef(logits, labels, smoothing).Data[0], loss.Item(), 5);
        GradCheck.Run(Device, [logits], t => Tensor.CrossEntropy(t[0], target, labelSmoothing: smoothing), r => CrossEntropyRef(r[0], labels, smoothing));
        var none = Tensor.CrossEntropy(T(logits), target, Reduction.None);
        Assert.Equal(new[] { 6 }, none.Shape);
        Assert.Equal(loss.Item() * 6, Tensor.CrossEntropy(T(logits), target, Reduction.Sum, smoothing).Item(), 4);
    }

    [Fact]
    public void CrossEntropyWithOneHotTargetsEqualsIntegerLabels()
    {
        var logits = Generators.Values([5, 3], 2);
        int[] labels = [2, 0, 1, 1, 0];
        var oneHot = new float[15];
        for (int i = 0; i < 5; i++)
        {
            oneHot[(i * 3) + labels[i]] = 1f;
        }

        var a = Tensor.CrossEntropy(T(logits), Tensor.FromArray(labels, [5], Device)).Item();
        var b = Tensor.CrossEntropy(T(logits), T(oneHot, 5, 3)).Item();
        Assert.Equal(a, b, 5);
        var soft = Generators.Values([5, 3], 9, 0, 1);
        GradCheck.Run(
            Device, [logits, soft], t => Tensor.CrossEntropy(t[0], t[1]),
            r => new Nd([-Enumerable.Range(0, 5).Sum(i => Enumerable.Range(0, 3).Sum(j => r[1][i, j] * SoftmaxRef(r[0], 1, true)[i, j])) / 5], []));
    }

    [Fact]
    public void NllMseAndBinaryCrossEntropy()
    {
        var x = Generators.Values([4, 3], 1);
        var y = Generators.Values([4, 3], 2, 0, 1);
        GradCheck.Run(Device, [x, y], t => Tensor.MseLoss(t[0], t[1]), r => new Nd([Enumerable.Range(0, 12).Sum(i => Math.Pow(r[0].Data[i] - r[1].Data[i], 2)) / 12], []));
        GradCheck.Run(
            Device, [x, y], t => Tensor.BinaryCrossEntropyWithLogits(t[0], t[1]),
            r => new Nd([Enumerable.Range(0, 12).Sum(i => BceRef(r[0].Data[i], r[1].Data[i])) / 12], []));
        var big = T([100f, -100f], 2);
        var bce = Tensor.BinaryCrossEntropyWithLogits(big, T([0f, 1f], 2)).Item();
        Assert.Equal(100f, bce, 3);
        int[] labels = [1, 0, 2, 2];
        var lp = T(x).LogSoftmax(1);
        Assert.Equal(CrossEntropyRef(x, labels, 0).Data[0], Tensor.NllLoss(lp, Tensor.FromArray(labels, [4], Device)).Item(), 5);
    }

    [Fact]
    public void LossesRejectBadInput()
    {
        var logits = Tensor.Zeros([4, 3], device: Device);
        var e = Assert.Throws<ArgumentException>(() => Tensor.CrossEntropy(logits, Tensor.Zeros([4, 2], device: Device)));
        Assert.Contains("[4, 2]", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.NllLoss(logits, Tensor.FromArray(new[] { 0, 1 }, [2], Device)));
        Assert.Throws<ArgumentException>(() => Tensor.NllLoss(logits, Tensor.Zeros([4], device: Device)));
        var bad = Assert.Throws<IndexOutOfRangeException>(() => Tensor.CrossEntropy(logits, Tensor.FromArray(new[] { 0, 1, 2, 3 }, [4], Device)).Item());
        Assert.Contains("CrossEntropy: index 3", bad.Message);
        Assert.Equal(MathF.Log(3f), Tensor.CrossEntropy(logits, Tensor.FromArray(new[] { 0, 1, 2, 0 }, [4], Device)).Item(), 5);
        Assert.Throws<ArgumentException>(() => Tensor.MseLoss(logits, Tensor.Zeros([3, 4], device: Device)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.CrossEntropy(logits, Tensor.FromArray(new[] { 0, 1, 2, 0 }, [4], Device), labelSmoothing: 2f));
    }

    [Fact]
    public void KLDivergenceSumsTheLastAxisAndAveragesTheRest()
    {
        var loss = new KLDivergence();
        Generators.ForAll(Generators.Shape(1, 4, 5).Seeded(), c =>
        {
            // Values from 0 (clipped to 1e-7, as Keras clips) to 1.
            var target = Generators.Values(c.Case, c.Seed, 0, 1);
            var prediction = Generators.Values(c.Case, c.Seed + 1, 0, 1);
            var value = loss.Compute(T(target), T(prediction));
            Assert.Equal(Array.Empty<int>(), value.Shape);
            Check.Close(KLDivergenceRef(Nd.From(T(target)), Nd.From(T(prediction))), value, 1e-5, 1e-5, "kl_divergence");
        });

        // Away from the clipping edges, the gradient with respect to both distributions.
        var p = Generators.Values([3, 4], 3, 0.05, 1);
        var q = Generators.Values([3, 4], 4, 0.05, 1);
        GradCheck.Run(Device, [p, q], t => loss.Compute(t[0], t[1]), r => KLDivergenceRef(r[0], r[1]));
        Assert.Same(typeof(KLDivergence), Loss.FromName("kl_divergence").GetType());
        var e = Assert.Throws<ArgumentException>(() => loss.Compute(T(p), T(Generators.Values([4, 3], 1, 0, 1))));
        Assert.StartsWith("KLDivergence: targets [3, 4] do not fit predictions [4, 3]", e.Message);
    }

    private static Nd KLDivergenceRef(Nd target, Nd prediction)
    {
        int rows = target.Length / target.Shape[^1];
        double total = 0;
        for (int i = 0; i < target.Length; i++)
        {
            double t = Math.Clamp(target.Data[i], 1e-7, 1), p = Math.Clamp(prediction.Data[i], 1e-7, 1);
            total += t * (Math.Log(t) - Math.Log(p));
        }

        return new Nd([total / rows], []);
    }

    internal static Nd SoftmaxRef(Nd x, int axis, bool log)
    {
        var max = x.Reduce([axis], true, v => v.Max());
        var shifted = Nd.Zip(x, max, (a, m) => a - m);
        var sum = shifted.Map(Math.Exp).Reduce([axis], true, v => v.Sum());
        return log ? Nd.Zip(shifted, sum, (a, s) => a - Math.Log(s)) : Nd.Zip(shifted, sum, (a, s) => Math.Exp(a) / s);
    }

    private static Nd CrossEntropyRef(Nd logits, int[] labels, double smoothing)
    {
        var lp = SoftmaxRef(logits, 1, true);
        int n = logits.Shape[0], c = logits.Shape[1];
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < c; j++)
            {
                double t = ((j == labels[i] ? 1 : 0) * (1 - smoothing)) + (smoothing / c);
                total -= t * lp[i, j];
            }
        }

        return new Nd([total / n], []);
    }

    private static double BceRef(double x, double t)
    {
        double p = 1 / (1 + Math.Exp(-x));
        return -((t * Math.Log(p)) + ((1 - t) * Math.Log(1 - p)));
    }

    [Theory]
    [InlineData("relu", 1)]
    [InlineData("tanh", 1)]
    [InlineData("gelu", -1)]
    [InlineData("sigmoid", -1)]
    [InlineData("leaky_relu", 1)]
    [InlineData("softplus", -1)]
    public void FusedBiasActivationMatchesAddThenActivate(string activation, int axis)
    {
        var fused = Activations.GetFused(activation)!;
        Func<double, double> f = activation switch
        {
            "relu" => v => Math.Max(v, 0),
            "tanh" => Math.Tanh,
            "gelu" => v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))),
            "sigmoid" => v => 1 / (1 + Math.Exp(-v)),
            "leaky_relu" => v => v > 0 ? v : 0.2 * v,
            _ => v => Math.Log(1 + Math.Exp(v)),
        };
        Generators.ForAll(Generators.Shape(minRank: 2).Seeded(), c =>
        {
            int a = axis < 0 ? c.Case.Length - 1 : axis;
            var x = Generators.Values(c.Case, c.Seed);
            var b = Generators.Values([c.Case[a]], c.Seed + 1);
            Check.Close(Reference(x, b, a, f), fused(T(x), T(b), axis), 1e-5, 1e-5, activation);
            Check.Close(x.Map(f), fused(T(x), null, axis), 1e-5, 1e-5, activation + " without bias");
        });

        // Rows of 2 run only the scalar tails; rows of 19 the SIMD loops too (ReLU's has its own, from y alone).
        foreach (int last in new[] { 2, 19 })
        {
            var gx = Generators.Values([3, 4, last], 5);
            var gb = Generators.Values([axis < 0 ? last : 4], 6);
            int ga = axis < 0 ? 2 : 1;
            GradCheck.Run(Device, [gx, gb], t => fused(t[0], t[1], axis), r => Reference(r[0], r[1], ga, f));
        }

        var e = Assert.Throws<ArgumentException>(() => fused(T(Generators.Values([3, 4, 2], 5)), T(Generators.Values([5], 1)), axis));
        Assert.Contains("[3, 4, 2]", e.Message);
        Assert.Contains("[5]", e.Message);
    }

    private static Nd Reference(Nd x, Nd bias, int axis, Func<double, double> f)
    {
        int inner = Nd.Count(x.Shape[(axis + 1)..]), channels = x.Shape[axis];
        return new Nd([.. x.Data.Select((v, i) => f(v + bias.Data[i / inner % channels]))], x.Shape);
    }

    private static double Erf(double v)
    {
        // Abramowitz-Stegun 7.1.26 is too coarse for a 1e-5 check; integrate the series instead.
        double sum = 0, term = v;
        for (int n = 0; n < 60; n++)
        {
            sum += term / ((2 * n) + 1);
            term *= -v * v / (n + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}

public sealed class NnFunctionTestsCpu : NnFunctionTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class NnFunctionTestsIlgpuCpu : NnFunctionTests
{
    protected override Device Device => Device.IlgpuCpu;
}
