// Reductions along any axes with keepDim: forward against float64 references on FsCheck shapes,
// gradients by finite differences, argmax/argmin semantics, bad input and the float primitive's kinds.
using FsCheck.Fluent;
using Lepton.Backends;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class ReduceTests : BackendTests
{
    public static TheoryData<string> Names => ["Sum", "Mean", "Max", "Min", "Var", "Std", "LogSumExp"];

    [Theory]
    [MemberData(nameof(Names))]
    public void ReducesAnyAxesWithKeepDim(string name)
    {
        var gen =
            from shape in Generators.Shape(1, 4)
            from mask in Gen.ArrayOf(Gen.Elements(true, false), shape.Length)
            from keep in Gen.Elements(true, false)
            select (shape, axes: Enumerable.Range(0, shape.Length).Where(i => mask[i]).ToArray(), keep);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var (shape, axes, keep) = c.Case;
            var x = Generators.Values(shape, c.Seed);
            var reduceAxes = axes.Length == 0 ? Enumerable.Range(0, shape.Length).ToArray() : axes;
            var expected = x.Reduce(reduceAxes, keep, Reference(name));
            var actual = Op(name)(T(x), axes.Length == 0 ? null : axes, keep);
            Check.Close(expected, actual, 1e-5, 1e-4, name);
        });
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void GradientMatchesFiniteDifferences(string name)
    {
        var x = Generators.Values([3, 4, 2], 11);
        GradCheck.Run(Device, [x], t => Op(name)(t[0], [0, 2], false), r => r[0].Reduce([0, 2], false, Reference(name)));
        GradCheck.Run(Device, [x], t => Op(name)(t[0], null, true), r => r[0].Reduce([0, 1, 2], true, Reference(name)));
    }

    [Fact]
    public void NegativeAxesCountFromTheEnd()
    {
        var x = Generators.Values([2, 3, 4], 5);
        Check.Close(x.Reduce([2], false, v => v.Sum()), T(x).Sum(-1), 1e-5, 1e-5);
    }

    [Fact]
    public void ArgMaxAndArgMinReturnFirstExtremeAsInt64()
    {
        var x = T([3f, 1f, 3f, 0f, 5f, 5f, -1f, 2f], 2, 4);
        var am = x.ArgMax(1);
        Assert.Equal(DType.Int64, am.DType);
        Assert.Equal(new[] { 0, 0 }, am.ToInt32Array());
        Assert.Equal(new[] { 3, 2 }, x.ArgMin(1).ToInt32Array());
        Assert.Equal(new[] { 1, 1, 0, 1 }, x.ArgMax(0).ToInt32Array());
        Assert.Equal(4, (int)x.ArgMax().Item());
        Assert.Equal(new[] { 2, 1 }, x.ArgMax(1, keepDim: true).Shape);
    }

    [Fact]
    public void ArgMaxMatchesReferenceOnRandomShapes()
    {
        Generators.ForAll(Generators.Shape(1, 4).Seeded(), c =>
        {
            var x = Generators.Values(c.Case, c.Seed);
            int axis = c.Seed % c.Case.Length;
            var expected = x.Reduce([axis], false, v => v.Select((e, i) => (e, i)).Aggregate((p, q) => q.e > p.e ? q : p).i);
            Check.Close(expected, T(x).ArgMax(axis), 0, 0, "argmax");
        });
    }

    [Fact]
    public void FloatReducePrimitiveTakesOnlySumMaxAndMin()
    {
        // Arg-extremes have one implementation, the typed reduction behind ArgMax and ArgMin.
        var backend = Device.Backend;
        var buffer = backend.Allocate(8);
        try
        {
            foreach (var kind in new[] { ReduceKind.ArgMax, ReduceKind.ArgMin })
            {
                var e = Assert.Throws<ArgumentException>(() => backend.Reduce(kind, buffer, 2, 4, 1, buffer));
                Assert.Contains("Reduce", e.Message);
                Assert.Contains(kind.ToString(), e.Message);
            }
        }
        finally
        {
            backend.Pool.Return(buffer);
        }
    }

    [Fact]
    public void SumOfEmptyDimensionIsZeroAndMaxOfEmptyThrows()
    {
        var empty = Tensor.Zeros([3, 0], device: Device);
        Assert.Equal(new[] { 0f, 0f, 0f }, empty.Sum(1).ToArray());
        var e = Assert.Throws<ArgumentException>(() => empty.Max(1));
        Assert.Contains("Max", e.Message);
        Assert.Throws<ArgumentException>(() => empty.Mean(1));
    }

    [Fact]
    public void BadAxesAreRejected()
    {
        var x = Tensor.Zeros([2, 3], device: Device);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => x.Sum(2));
        Assert.Contains("Sum", e.Message);
        Assert.Throws<ArgumentException>(() => x.Sum([1, -1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.ArgMax(-3));
    }

    [Fact]
    public void LogSumExpIsStableForLargeValues()
    {
        var x = T([1000f, 1000f, -1000f], 3);
        Assert.Equal(1000f + MathF.Log(2f), x.LogSumExp().Item(), 3);
        var inf = T([float.NegativeInfinity, 0f], 2);
        Assert.Equal(0f, inf.LogSumExp().Item(), 6);
    }

    private static Func<Tensor, int[]?, bool, Tensor> Op(string name) => name switch
    {
        "Sum" => (x, a, k) => x.Sum(a, k),
        "Mean" => (x, a, k) => x.Mean(a, k),
        "Max" => (x, a, k) => x.Max(a, k),
        "Min" => (x, a, k) => x.Min(a, k),
        "Var" => (x, a, k) => x.Var(a, k),
        "Std" => (x, a, k) => x.Std(a, k, correction: 0),
        "LogSumExp" => (x, a, k) => x.LogSumExp(a, k),
        _ => throw new ArgumentException(name),
    };

    private static Func<IReadOnlyList<double>, double> Reference(string name) => name switch
    {
        "Sum" => v => v.Sum(),
        "Mean" => v => v.Average(),
        "Max" => v => v.Max(),
        "Min" => v => v.Min(),
        "Var" => v => v.Count < 2 ? double.PositiveInfinity * 0 : v.Sum(e => (e - v.Average()) * (e - v.Average())) / (v.Count - 1),
        "Std" => v => Math.Sqrt(v.Sum(e => (e - v.Average()) * (e - v.Average())) / v.Count),
        "LogSumExp" => v => Math.Log(v.Sum(Math.Exp)),
        _ => throw new ArgumentException(name),
    };
}

public sealed class ReduceTestsCpu : ReduceTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class ReduceTestsIlgpuCpu : ReduceTests
{
    protected override Device Device => Device.IlgpuCpu;
}
