// Tensor.Lstm, Tensor.Gru and Tensor.Rnn against the float64 reference on random small shapes (with
// masks, reverse order and initial states), finite-difference gradients, and bad input.
using FsCheck.Fluent;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class RecurrentTests : BackendTests
{
    public static TheoryData<Cell> Cells => [Cell.Rnn, Cell.Lstm, Cell.Gru, Cell.GruResetBefore];

    [Theory]
    [MemberData(nameof(Cells))]
    public void ForwardMatchesTheReferenceOnRandomShapes(Cell cell)
    {
        var shapes =
            from batch in Gen.Choose(1, 3)
            from time in Gen.Choose(1, 4)
            from inputs in Gen.Choose(1, 3)
            from hidden in Gen.Choose(1, 3)
            from flags in Gen.Choose(0, 15)
            select (batch, time, inputs, hidden, flags);
        Generators.ForAll(shapes.Seeded(), c =>
        {
            var ((batch, time, inputs, hidden, flags), seed) = c;
            var p = Parameters(cell, batch, time, inputs, hidden, seed, withBias: (flags & 1) != 0, withStates: (flags & 2) != 0, withMask: (flags & 4) != 0);
            bool reverse = (flags & 8) != 0;
            var expected = RecurrentReference.Run(cell, p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[6], p[7], reverse);
            var (output, h, cState) = Apply(cell, [.. p.Select(n => n is null ? null : T(n))], reverse);
            Check.Close(expected.Output, output, 1e-5, 1e-4, $"{cell} output");
            Check.Close(expected.H, h, 1e-5, 1e-4, $"{cell} h");
            if (cell == Cell.Lstm)
            {
                Check.Close(expected.C, cState!, 1e-5, 1e-4, $"{cell} c");
            }
        }, maxTest: 12);
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void GradientsMatchFiniteDifferences(Cell cell)
    {
        // Inputs, both weights, both biases and the initial states, through a masked, reversed run.
        var p = Parameters(cell, batch: 2, time: 3, inputs: 2, hidden: 3, seed: 11, withBias: true, withStates: true, withMask: true);
        var differentiable = p.Take(7).OfType<Nd>().ToArray();
        var mask = T(p[7]!);
        GradCheck.Run(Device, differentiable, t =>
        {
            var (output, h, c) = Apply(cell, [.. t, .. cell == Cell.Lstm ? Array.Empty<Tensor>() : [null!], mask], reverse: true);
            return Tensor.Concat([output.Reshape(-1), h.Reshape(-1), .. cell == Cell.Lstm ? [c!.Reshape(-1)] : Array.Empty<Tensor>()]);
        }, r => RecurrentReference.Flat(cell, RecurrentReference.Run(cell, r[0], r[1], r[2], r[3], r[4], r[5], cell == Cell.Lstm ? r[6] : null, p[7], reverse: true)));
    }

    [Fact]
    public void MaskedStepsKeepTheStateAndOutputZero()
    {
        var p = Parameters(Cell.Lstm, batch: 2, time: 4, inputs: 2, hidden: 3, seed: 5, withBias: true, withStates: false, withMask: false);
        var mask = T([1, 1, 0, 0, 0, 1, 1, 1], 2, 4);
        var (output, h, c) = Tensor.Lstm(T(p[0]!), T(p[1]!), T(p[2]!), T(p[3]!), T(p[4]!), mask: mask);

        // Row 0 holds the state of step 1; row 1 starts from zeros at step 1 as if step 0 were absent.
        var (first, h0, c0) = Tensor.Lstm(T(p[0]!)[0..1, 0..2], T(p[1]!), T(p[2]!), T(p[3]!), T(p[4]!));
        var (second, h1, _) = Tensor.Lstm(T(p[0]!)[1..2, 1..4], T(p[1]!), T(p[2]!), T(p[3]!), T(p[4]!));
        Check.Close(Nd.From(h0), h[0..1], 1e-6, 1e-5, "h of row 0");
        Check.Close(Nd.From(c0), c[0..1], 1e-6, 1e-5, "c of row 0");
        Check.Close(Nd.From(h1), h[1..2], 1e-6, 1e-5, "h of row 1");
        Check.Close(Nd.From(first), output[0..1, 0..2], 1e-6, 1e-5, "outputs of row 0");
        Check.Close(Nd.From(second), output[1..2, 1..4], 1e-6, 1e-5, "outputs of row 1");
        Assert.All(output[0..1, 2..4].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(output[1..2, 0..1].ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BadInputNamesTheOpAndTheShapes()
    {
        var x = Tensor.Zeros([2, 3, 4], device: Device);
        var wIh = Tensor.Zeros([20, 4], device: Device);
        var wHh = Tensor.Zeros([20, 5], device: Device);
        var e = Assert.Throws<ArgumentException>(() => Tensor.Lstm(Tensor.Zeros([3, 4], device: Device), wIh, wHh));
        Assert.Contains("Lstm", e.Message);
        Assert.Contains("[3, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Gru(x, wIh, wHh));
        Assert.Contains("Gru", e.Message);
        Assert.Contains("[20, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Lstm(x, wIh, wHh, h0: Tensor.Zeros([2, 4], device: Device)));
        Assert.Contains("h0", e.Message);
        Assert.Contains("[2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Lstm(x, wIh, wHh, c0: Tensor.Zeros([3, 5], device: Device)));
        Assert.Contains("c0", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Lstm(x, wIh, wHh, mask: Tensor.Ones([2, 4], device: Device)));
        Assert.Contains("mask", e.Message);
        Assert.Contains("[2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.Rnn(x, Tensor.Zeros([5, 4], device: Device), Tensor.Zeros([5, 5], device: Device), biasIh: Tensor.Zeros([4], device: Device)));
        Assert.Contains("biasIh", e.Message);
    }

    /// <summary>x, wIh, wHh, bIh, bHh, h0, c0 (LSTM only), mask: nulls where not used.</summary>
    private static Nd?[] Parameters(Cell cell, int batch, int time, int inputs, int hidden, int seed, bool withBias, bool withStates, bool withMask)
    {
        int gates = RecurrentReference.Gates(cell);
        var mask = Generators.Values([batch, time], seed + 7, 0, 1);
        for (int i = 0; i < mask.Length; i++)
        {
            mask.Data[i] = mask.Data[i] < 0.3 ? 0 : 1;
        }

        return [
            Generators.Values([batch, time, inputs], seed, -1, 1),
            Generators.Values([gates * hidden, inputs], seed + 1, -0.8, 0.8),
            Generators.Values([gates * hidden, hidden], seed + 2, -0.8, 0.8),
            withBias ? Generators.Values([gates * hidden], seed + 3, -0.5, 0.5) : null,
            withBias ? Generators.Values([gates * hidden], seed + 4, -0.5, 0.5) : null,
            withStates ? Generators.Values([batch, hidden], seed + 5, -1, 1) : null,
            withStates && cell == Cell.Lstm ? Generators.Values([batch, hidden], seed + 6, -1, 1) : null,
            withMask ? mask : null,
        ];
    }

    /// <summary>Runs the library's function on t = [x, wIh, wHh, bIh, bHh, h0, c0, mask].</summary>
    private static (Tensor Output, Tensor H, Tensor? C) Apply(Cell cell, Tensor?[] t, bool reverse)
    {
        switch (cell)
        {
            case Cell.Lstm:
                var (y, h, c) = Tensor.Lstm(t[0]!, t[1]!, t[2]!, t[3], t[4], t[5], t[6], t[7], reverse);
                return (y, h, c);
            case Cell.Rnn:
                var (ry, rh) = Tensor.Rnn(t[0]!, t[1]!, t[2]!, t[3], t[4], t[5], t[7], reverse);
                return (ry, rh, null);
            default:
                var (gy, gh) = Tensor.Gru(t[0]!, t[1]!, t[2]!, t[3], t[4], t[5], t[7], reverse, resetAfter: cell == Cell.Gru);
                return (gy, gh, null);
        }
    }
}

public sealed class RecurrentTestsCpu : RecurrentTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class RecurrentTestsIlgpuCpu : RecurrentTests
{
    protected override Device Device => Device.IlgpuCpu;
}
