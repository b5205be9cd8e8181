// The fused Lstm and Gru (one node per sequence, fused cells) against the composed step-by-step reference:
// outputs, final states and every input's gradient, over masks, reverse order, initial states, biases and dropout.
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class RecurrentFusedTests : BackendTests
{
    [Theory]
    [InlineData(true, 9)]
    [InlineData(true, 20)]
    [InlineData(false, 9)]
    [InlineData(false, 20)]
    public void FusedMatchesTheComposedPath(bool lstm, int hidden)
    {
        // Each bit of flags turns on one feature: biases, initial states, a mask, reverse order, a recurrent dropout mask.
        for (int flags = 0; flags < 32; flags++)
        {
            var fused = Run(lstm, hidden, flags, composed: false);
            var composed = Run(lstm, hidden, flags, composed: true);
            Assert.Equal(composed.Count, fused.Count);
            for (int i = 0; i < composed.Count; i++)
            {
                Check.Close(Array.ConvertAll(composed[i].Values, v => (double)v), fused[i].Values, 2e-5, 1e-4, $"{(lstm ? "Lstm" : "Gru")} flags {flags}: {composed[i].Name}");
            }
        }
    }

    [Fact]
    public void NoGradRunsGiveTheSameValues()
    {
        var p = Parameters(lstm: true, hidden: 5, flags: 31);
        var (expected, _, _) = Tensor.LstmComposed(p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[6], p[7], reverse: true, recurrentDropoutMask: p[8]);
        using (Tensor.NoGrad())
        {
            var (output, _, _) = Tensor.Lstm(p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[6], p[7], reverse: true, recurrentDropoutMask: p[8]);
            Assert.Null(output.GradFn);
            Check.Close(Nd.From(expected), output, 2e-5, 1e-4, "no-grad output");
        }
    }

    [Fact]
    public void OneBackwardNodeCoversTheSequence()
    {
        var p = Parameters(lstm: true, hidden: 4, flags: 1);
        var (output, _, _) = Tensor.Lstm(p[0]!, p[1]!, p[2]!, p[3], p[4]);
        var node = output.GradFn;
        while (node is not null && node.Name != "LstmBackward")
        {
            node = node.Inputs.Select(t => t.GradFn).FirstOrDefault(n => n is not null);
        }

        Assert.NotNull(node);
        Assert.Same(p[0], node!.Inputs[0]);
    }

    /// <summary>Outputs, states and input gradients of one run, named.</summary>
    private List<(string Name, float[] Values)> Run(bool lstm, int hidden, int flags, bool composed)
    {
        var p = Parameters(lstm, hidden, flags);
        bool reverse = (flags & 8) != 0;
        Tensor output, h;
        Tensor? c = null;
        if (lstm)
        {
            (output, h, c) = composed
                ? Tensor.LstmComposed(p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[6], p[7], reverse, recurrentDropoutMask: p[8])
                : Tensor.Lstm(p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[6], p[7], reverse, recurrentDropoutMask: p[8]);
        }
        else
        {
            (output, h) = composed
                ? Tensor.GruComposed(p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[7], reverse, recurrentDropoutMask: p[8])
                : Tensor.Gru(p[0]!, p[1]!, p[2]!, p[3], p[4], p[5], p[7], reverse, recurrentDropoutMask: p[8]);
        }

        // A loss that weighs every output element and both final states differently.
        var loss = (output * Weights(output.Shape, 1)).Sum() + (h * Weights(h.Shape, 2)).Sum();
        if (c is not null)
        {
            loss += (c * Weights(c.Shape, 3)).Sum();
        }

        loss.Backward();
        var results = new List<(string, float[])> { ("output", output.ToArray()), ("h", h.ToArray()) };
        if (c is not null)
        {
            results.Add(("c", c.ToArray()));
        }

        string[] names = ["dx", "dWih", "dWhh", "dbIh", "dbHh", "dh0", "dc0"];
        for (int i = 0; i < names.Length; i++)
        {
            if (p[i] is { RequiresGrad: true } t)
            {
                results.Add((names[i], (t.Grad ?? throw new Xunit.Sdk.XunitException($"{names[i]} got no gradient")).ToArray()));
            }
        }

        return results;
    }

    /// <summary>x, wIh, wHh, bIh, bHh, h0, c0, mask, dropout mask; nulls where flags leave a feature out.</summary>
    private Tensor?[] Parameters(bool lstm, int hidden, int flags)
    {
        const int batch = 3, time = 5, inputs = 4;
        int gates = lstm ? 4 : 3;
        Tensor Leaf(int[] shape, int seed, double bound)
        {
            var t = T(Generators.Values(shape, seed, -bound, bound));
            t.RequiresGrad = true;
            return t;
        }

        bool bias = (flags & 1) != 0, states = (flags & 2) != 0;
        Tensor? mask = null, dropout = null;
        if ((flags & 4) != 0)
        {
            // Row 0 pads its end, row 1 its start, row 2 a middle step.
            mask = T([1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1], batch, time);
        }

        if ((flags & 16) != 0)
        {
            var keep = Generators.Values([batch, hidden], 40, 0, 1);
            dropout = T(Array.ConvertAll(keep.Data, v => v < 0.25 ? 0f : 1f / 0.75f), batch, hidden);
        }

        return [
            Leaf([batch, time, inputs], 31, 1), Leaf([gates * hidden, inputs], 32, 0.6), Leaf([gates * hidden, hidden], 33, 0.6),
            bias ? Leaf([gates * hidden], 34, 0.5) : null, bias ? Leaf([gates * hidden], 35, 0.5) : null,
            states ? Leaf([batch, hidden], 36, 1) : null, states && lstm ? Leaf([batch, hidden], 37, 1) : null, mask, dropout,
        ];
    }

    private Tensor Weights(int[] shape, int seed) => T(Generators.Values(shape, 50 + seed, -1, 1));
}

public sealed class RecurrentFusedTestsCpu : RecurrentFusedTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class RecurrentFusedTestsIlgpuCpu : RecurrentFusedTests
{
    protected override Device Device => Device.IlgpuCpu;
}
