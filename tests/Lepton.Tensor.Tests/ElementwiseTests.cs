// Element-wise unary and binary ops: forward against float64 references on FsCheck shapes
// (including size-1 and broadcast dims), finite-difference gradients, and bad input.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class ElementwiseTests : BackendTests
{
    public static TheoryData<string> UnaryNames => ["Neg", "Abs", "Exp", "Log", "Sqrt", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Softplus", "Pow3", "Clamp"];

    public static TheoryData<string> BinaryNames => ["Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "Pow"];

    [Theory]
    [MemberData(nameof(UnaryNames))]
    public void UnaryMatchesReference(string name)
    {
        var (op, reference, low, high) = Unary(name);
        Generators.ForAll(Generators.Shape().Seeded(), c =>
        {
            var x = Generators.Values(c.Case, c.Seed, low, high);
            Check.Close(x.Map(reference), op(T(x)), 1e-5, 1e-5, name);
        });
    }

    [Theory]
    [MemberData(nameof(UnaryNames))]
    public void UnaryGradientMatchesFiniteDifferences(string name)
    {
        var (op, reference, low, high) = Unary(name);
        var x = Generators.Values([3, 4], 7, low, high);
        GradCheck.Run(Device, [x], t => op(t[0]), r => r[0].Map(reference));
    }

    [Fact]
    public void UnaryRunsOnLongVectorsAndTails()
    {
        // Lengths around the SIMD width and past the parallel threshold.
        foreach (int n in new[] { 1, 7, 8, 15, 16, 17, 33, 100_003 })
        {
            var x = Generators.Values([n], n, -3, 3);
            Check.Close(x.Map(v => Math.Tanh(v)), T(x).Tanh(), 2e-6, 1e-5, $"tanh n={n}");
            Check.Close(x.Map(Math.Exp), T(x).Exp(), 1e-6, 2e-6, $"exp n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(BinaryNames))]
    public void BinaryBroadcastsLikeNumPy(string name)
    {
        var (op, reference, positive) = Binary(name);
        Generators.ForAll(Generators.BroadcastPair().Seeded(), c =>
        {
            var a = Generators.Values(c.Case.A, c.Seed, positive ? 0.5 : -2, 2);
            var b = Generators.Values(c.Case.B, c.Seed + 1, positive ? 0.5 : -2, 2);
            Check.Close(Nd.Zip(a, b, reference), op(T(a), T(b)), 1e-5, 1e-5, name);
        });
    }

    [Theory]
    [MemberData(nameof(BinaryNames))]
    public void BinaryGradientReducesOverBroadcastDims(string name)
    {
        var (op, reference, positive) = Binary(name);
        var a = Generators.Values([2, 3, 4], 1, positive ? 0.5 : -2, 2);
        var b = Generators.Values([3, 1], 2, positive ? 0.5 : -2, 2);
        GradCheck.Run(Device, [a, b], t => op(t[0], t[1]), r => Nd.Zip(r[0], r[1], reference));
    }

    [Fact]
    public void ScalarOperatorsMatchTensorOperators()
    {
        var x = T([1f, -2f, 3f], 3);
        Assert.Equal(new[] { 3f, 0f, 5f }, (x + 2f).ToArray());
        Assert.Equal(new[] { 1f, 4f, -1f }, (2f - x).ToArray());
        Assert.Equal(new[] { 0.5f, -1f, 1.5f }, (x / 2f).ToArray());
        Assert.Equal(new[] { 2f, -1f, 2f / 3f }, (2f / x).ToArray());
        Assert.Equal(new[] { -3f, 6f, -9f }, (-3f * x).ToArray());
        Assert.Equal(new[] { -1f, 2f, -3f }, (-x).ToArray());
    }

    [Fact]
    public void ComparisonsAndWhere()
    {
        var a = T([1f, 2f, 3f, 4f], 4);
        var b = T([4f, 2f, 1f, 5f], 4);
        Assert.Equal(new[] { 1f, 0f, 0f, 1f }, (a < b).ToArray());
        Assert.Equal(new[] { 1f, 1f, 0f, 1f }, (a <= b).ToArray());
        Assert.Equal(new[] { 0f, 0f, 1f, 0f }, (a > b).ToArray());
        Assert.Equal(new[] { 0f, 1f, 1f, 0f }, (a >= b).ToArray());
        Assert.Equal(new[] { 0f, 1f, 0f, 0f }, a.Eq(b).ToArray());
        Assert.Equal(new[] { 1f, 0f, 1f, 1f }, a.Ne(b).ToArray());
        Assert.Equal(new[] { 0f, 0f, 1f, 1f }, (a > 2f).ToArray());
        Assert.Equal(new[] { 1f, 2f, 1f, 4f }, Tensor.Where(a <= b, a, b).ToArray());
    }

    [Fact]
    public void WhereBroadcastsAndRoutesGradients()
    {
        Generators.ForAll(Generators.BroadcastPair(3).Seeded(), c =>
        {
            var cond = Generators.Values(c.Case.A, c.Seed).Map(v => v > 0 ? 1 : 0);
            var a = Generators.Values(c.Case.B, c.Seed + 1);
            var b = Generators.Values(c.Case.A, c.Seed + 2);
            Check.Close(Nd.Zip3(cond, a, b, (k, x, y) => k != 0 ? x : y), Tensor.Where(T(cond), T(a), T(b)), 0, 0, "where");
        }, 20);

        var condition = Generators.Values([3, 4], 3).Map(v => v > 0 ? 1 : 0);
        GradCheck.Run(
            Device,
            [Generators.Values([3, 1], 4), Generators.Values([4], 5)],
            t => Tensor.Where(T(condition), t[0], t[1]),
            r => Nd.Zip3(condition, r[0], r[1], (k, x, y) => k != 0 ? x : y));
    }

    [Fact]
    public void MaximumSplitsTieGradientEvenly()
    {
        var a = T([1f, 2f], 2).RequiresGrad_();
        var b = T([1f, 3f], 2).RequiresGrad_();
        Tensor.Maximum(a, b).Sum().Backward();
        Assert.Equal(new[] { 0.5f, 0f }, a.Grad!.ToArray());
        Assert.Equal(new[] { 0.5f, 1f }, b.Grad!.ToArray());
    }

    [Fact]
    public void BinaryOnTransposedViewsNeedsNoCopyAndIsCorrect()
    {
        var a = Generators.Values([3, 5], 9);
        var t = T(a).T;
        Assert.False(t.IsContiguous);
        Check.Close(a.Permute([1, 0]).Map(v => v * 2), t * 2f, 0, 0, "transposed * 2");
    }

    [Fact]
    public void BadInputNamesTheOpAndBothShapes()
    {
        var a = Tensor.Zeros([2, 3], device: Device);
        var b = Tensor.Zeros([4, 3], device: Device);
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("Add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        var m = Assert.Throws<ArgumentException>(() => Tensor.Maximum(a, Tensor.Zeros([2, 2], device: Device)));
        Assert.Contains("Maximum", m.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Arange(3, DType.Int32, Device).Exp());
        Assert.Throws<ArgumentException>(() => a.Clamp(1f, 0f));
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.Relu());
    }

    private static (Func<Tensor, Tensor> Op, Func<double, double> Reference, double Low, double High) Unary(string name) => name switch
    {
        "Neg" => (x => -x, v => -v, -2, 2),
        "Abs" => (x => x.Abs(), Math.Abs, -2, 2),
        "Exp" => (x => x.Exp(), Math.Exp, -3, 3),
        "Log" => (x => x.Log(), Math.Log, 0.1, 4),
        "Sqrt" => (x => x.Sqrt(), Math.Sqrt, 0.1, 4),
        "Relu" => (x => x.Relu(), v => Math.Max(v, 0), -2, 2),
        "LeakyRelu" => (x => x.LeakyRelu(0.1f), v => v > 0 ? v : 0.1 * v, -2, 2),
        "Sigmoid" => (x => x.Sigmoid(), v => 1 / (1 + Math.Exp(-v)), -6, 6),
        "Tanh" => (x => x.Tanh(), Math.Tanh, -4, 4),
        "Gelu" => (x => x.Gelu(), v => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))), -4, 4),
        "Softplus" => (x => x.Softplus(), v => Math.Log(1 + Math.Exp(v)), -8, 8),
        "Pow3" => (x => x.Pow(3f), v => v * v * v, -2, 2),
        "Clamp" => (x => x.Clamp(-0.5f, 0.7f), v => Math.Clamp(v, -0.5, 0.7), -2, 2),
        _ => throw new ArgumentException(name),
    };

    private static (Func<Tensor, Tensor, Tensor> Op, Func<double, double, double> Reference, bool Positive) Binary(string name) => name switch
    {
        "Add" => ((a, b) => a + b, (a, b) => a + b, false),
        "Sub" => ((a, b) => a - b, (a, b) => a - b, false),
        "Mul" => ((a, b) => a * b, (a, b) => a * b, false),
        "Div" => ((a, b) => a / b, (a, b) => a / b, true),
        "Maximum" => (Tensor.Maximum, Math.Max, false),
        "Minimum" => (Tensor.Minimum, Math.Min, false),
        "Pow" => ((a, b) => a.Pow(b), Math.Pow, true),
        _ => throw new ArgumentException(name),
    };

    /// <summary>erf by its Taylor series (|x| &lt;= 3) or continued fraction: float64-accurate for the test range.</summary>
    private static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double result;
        if (ax < 3)
        {
            double sum = 0, term = ax;
            for (int n = 0; n < 200; n++)
            {
                sum += term / ((2 * n) + 1);
                term *= -ax * ax / (n + 1);
            }

            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 60; n >= 1; n--)
            {
                f = n / 2.0 / (ax + f);
            }

            result = 1 - (Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f));
        }

        return x < 0 ? -result : result;
    }
}

public sealed class ElementwiseTestsCpu : ElementwiseTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class ElementwiseTestsIlgpuCpu : ElementwiseTests
{
    protected override Device Device => Device.IlgpuCpu;
}
