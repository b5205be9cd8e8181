// Recurrent layers: built on the Tensor-level functions with PyTorch-layout weights, Keras's options
// (returnSequences, returnState, goBackwards, initial states, seeded dropout), Bidirectional merges,
// TimeDistributed, the orthogonal initializer and errors that name the layer and the shapes.
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Tests.Nn;

public sealed class RecurrentLayerTests
{
    private static readonly Tensor X = Tensor.RandN([2, 4, 3], new Generator(1));

    [Fact]
    public void LstmLayerIsTensorLstmWithItsWeights()
    {
        var lstm = new LSTM(5, returnSequences: true, seed: 2);
        var y = lstm.Call(X);
        Assert.Equal(new[] { 20, 3 }, lstm.Kernel.Shape);
        Assert.Equal(new[] { 20, 5 }, lstm.RecurrentKernel.Shape);
        Assert.Equal(new[] { 0f, 0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f, 1f }, lstm.Bias!.Value.ToArray()[..10]);
        var (expected, _, _) = Tensor.Lstm(X, lstm.Kernel.Value, lstm.RecurrentKernel.Value, lstm.Bias.Value);
        Assert.Equal(expected.ToArray(), y.ToArray());
        Assert.Equal(4 * ((5 * 3) + (5 * 5) + 5), lstm.CountParams());

        var gru = new GRU(5, seed: 3);
        gru.Call(X);
        Assert.Equal(new[] { 2, 15 }, gru.Bias!.Shape);
        Assert.Equal(new[] { 15 }, new GRU(5, resetAfter: false).Apply(Keras.Input([4, 3])).Layer!.Weights[2].Shape);
        Assert.Equal(new[] { 5, 3 }, new SimpleRNN(5, inputShape: [4, 3]).Kernel.Shape);
    }

    [Fact]
    public void RecurrentKernelsStartOrthogonal()
    {
        var lstm = new LSTM(6, seed: 4, inputShape: [2, 3]);
        var w = lstm.RecurrentKernel.Value;
        Assert.Equal(Identity(6), w.T.MatMul(w).ToArray(), new ToleranceComparer(1e-5f));
        var wide = Initializer.Orthogonal(seed: 1).Create([3, 7], Device.Cpu, Generator.Default);
        Assert.Equal(Identity(3), wide.MatMul(wide.T).ToArray(), new ToleranceComparer(1e-5f));
    }

    [Fact]
    public void ReturnSequencesReturnStateAndGoBackwards()
    {
        var lstm = new LSTM(3, returnSequences: true, returnState: true, seed: 5);
        var outs = lstm.CallWithState([X]);
        Assert.Equal(3, outs.Length);
        Assert.Equal(new[] { 2, 4, 3 }, outs[0].Shape);
        Assert.Equal(outs[0][.., ^1].ToArray(), outs[1].ToArray());
        var last = new LSTM(3, seed: 5);
        Assert.Equal(outs[1].ToArray(), last.Call(X).ToArray());

        // goBackwards reads the reversed sequence and returns the outputs in the order it ran, as Keras does.
        var backwards = new GRU(3, returnSequences: true, goBackwards: true, seed: 6);
        var forwardOnReversed = new GRU(3, returnSequences: true, seed: 6);
        var reversed = X.IndexSelect(1, Tensor.FromArray(new[] { 3, 2, 1, 0 }, [4]));
        Assert.Equal(forwardOnReversed.Call(reversed).ToArray(), backwards.Call(X).ToArray());
        Assert.Single(new GRU(3).CallWithState([X]));
    }

    [Fact]
    public void InitialStatesAreExtraInputs()
    {
        var h0 = Tensor.RandN([2, 4], new Generator(7));
        var c0 = Tensor.RandN([2, 4], new Generator(8));
        var lstm = new LSTM(4, seed: 9);
        var y = lstm.Call([X, h0, c0]);
        var (_, h, _) = Tensor.Lstm(X, lstm.Kernel.Value, lstm.RecurrentKernel.Value, lstm.Bias!.Value, h0: h0, c0: c0);
        Assert.Equal(h.ToArray(), y.ToArray());
        Assert.NotEqual(lstm.Call(X).ToArray(), y.ToArray());
        var e = Assert.Throws<ArgumentException>(() => lstm.Call([X, h0, Tensor.Zeros([2, 5])]));
        Assert.Contains(lstm.Name, e.Message);
        Assert.Contains("[2, 5]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SimpleRNN(4).Call([X, h0, c0]));
        Assert.Contains("1 initial state", e.Message);
    }

    [Fact]
    public void DropoutActsOnlyWhileTrainingAndIsSeeded()
    {
        var a = new SimpleRNN(4, returnSequences: true, dropout: 0.5f, recurrentDropout: 0.3f, seed: 3);
        var b = new SimpleRNN(4, returnSequences: true, dropout: 0.5f, recurrentDropout: 0.3f, seed: 3);
        var plain = new SimpleRNN(4, returnSequences: true, seed: 3);
        Assert.Equal(plain.Call(X).ToArray(), a.Call(X).ToArray());
        var trained = a.Call([X], training: true).ToArray();
        Assert.Equal(b.Call([X], training: true).ToArray(), trained);
        Assert.NotEqual(plain.Call(X).ToArray(), trained);
    }

    [Theory]
    [InlineData("concat")]
    [InlineData("sum")]
    [InlineData("mul")]
    [InlineData("ave")]
    public void BidirectionalMergesBothDirectionsAlignedToTheInput(string mode)
    {
        var bi = new Bidirectional(new LSTM(3, returnSequences: true, seed: 1), mode);
        var y = bi.Call(X);
        var forward = bi.ForwardLayer.Call(X);
        var backward = bi.BackwardLayer.Call(X).IndexSelect(1, Tensor.FromArray(new[] { 3, 2, 1, 0 }, [4]));
        Assert.True(bi.BackwardLayer.GoBackwards);
        Assert.NotEqual(bi.ForwardLayer.Kernel.Value.ToArray(), bi.BackwardLayer.Kernel.Value.ToArray());
        var expected = mode switch
        {
            "concat" => Tensor.Concat([forward, backward], -1),
            "sum" => forward + backward,
            "mul" => forward * backward,
            _ => (forward + backward) * 0.5f,
        };
        Assert.Equal(expected.ToArray(), y.ToArray(), new ToleranceComparer(1e-6f));
        Assert.Equal(expected.Shape, y.Shape);
        Assert.Equal(6, bi.Weights.Count);
    }

    [Fact]
    public void BidirectionalReturnsBothDirectionsStates()
    {
        var bi = new Bidirectional(new GRU(3, returnState: true, seed: 2));
        var outs = bi.CallWithState([X]);
        Assert.Equal(3, outs.Length);
        Assert.Equal(Tensor.Concat([outs[1], outs[2]], -1).ToArray(), outs[0].ToArray());
        var h0 = Tensor.Ones([2, 3]);
        Assert.NotEqual(outs[0].ToArray(), bi.Call([X, h0, h0]).ToArray());
        Assert.Throws<ArgumentException>(() => new Bidirectional(new GRU(3), "max"));
    }

    [Fact]
    public void TimeDistributedAppliesTheLayerToEveryStep()
    {
        var dense = new Dense(2, seed: 1);
        var perStep = new TimeDistributed(dense);
        var y = perStep.Call(X);
        Assert.Equal(new[] { 2, 4, 2 }, y.Shape);
        Assert.Equal((X.MatMul(dense.Kernel.Value) + dense.Bias!.Value).ToArray(), y.ToArray(), new ToleranceComparer(1e-6f));
        var e = Assert.Throws<ArgumentException>(() => new TimeDistributed(new Dense(2)).Call(Tensor.Zeros([2, 3])));
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void BadInputNamesTheLayerAndTheShapes()
    {
        var lstm = new LSTM(4, name: "encoder");
        var e = Assert.Throws<ArgumentException>(() => lstm.Call(Tensor.Zeros([2, 3])));
        Assert.Contains("encoder", e.Message);
        Assert.Contains("per-example shape [3]", e.Message);
        lstm.Call(X);
        e = Assert.Throws<ArgumentException>(() => lstm.Call([X], Tensor.Ones([2, 5])));
        Assert.Contains("encoder", e.Message);
        Assert.Contains("[2, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => lstm.Call(Tensor.Zeros([2, 4, 7])));
        Assert.Contains("3 features", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GRU(4, dropout: 1f));
        e = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), name: "bi").Call(Tensor.Zeros([2, 3])));
        Assert.Contains("bi", e.Message);
    }

    private static float[] Identity(int n) => [.. Enumerable.Range(0, n * n).Select(i => i / n == i % n ? 1f : 0f)];

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
