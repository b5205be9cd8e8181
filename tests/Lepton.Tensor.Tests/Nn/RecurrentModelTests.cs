// Recurrent layers inside models: padding masks from Embedding(maskZero) and Masking travel to the
// layers after them (a padded batch gives what each sequence gives at its own length), a tiny
// sequence task trains, and models with every recurrent layer and wrapper save and load.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class RecurrentModelTests : IDisposable
{
    // Three sequences of lengths 4, 2 and 3, padded with 0 after their end.
    private static readonly int[][] Sequences = [[3, 1, 4, 1], [5, 9], [2, 6, 5]];
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-rnn-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    public static TheoryData<string> Kinds => ["SimpleRNN", "LSTM", "GRU", "Bidirectional"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void PaddedBatchGivesWhatEachSequenceGivesAtItsLength(string kind)
    {
        var embed = new Embedding(10, 3, seed: 1, maskZero: true);
        var sequence = new Sequential([embed, Recurrent(kind, returnSequences: true)]);
        var last = new Sequential([embed, Recurrent(kind, returnSequences: false)]);
        var padded = Padded(Sequences, 4);
        var all = sequence.Call(padded);
        var final = last.Call(padded);
        for (int b = 0; b < Sequences.Length; b++)
        {
            int length = Sequences[b].Length;
            var alone = Tensor.FromArray(Sequences[b], [1, length]);
            AssertClose(sequence.Call(alone), all[b..(b + 1), 0..length]);
            AssertClose(last.Call(alone), final[b..(b + 1)]);
            Assert.All(all[b..(b + 1), length..].ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void MaskingLayerMasksStepsOfPaddingValues()
    {
        var x = Tensor.RandN([2, 5, 3], new Generator(3));
        var values = x.ToArray();
        Array.Fill(values, -1f, 1 * 15 + 6, 9);
        var padded = Tensor.FromArray(values, [2, 5, 3]);
        var model = new Sequential([new Masking(-1f), new GRU(4, seed: 2)]);
        var y = model.Call(padded);
        AssertClose(model.Call(padded[1..2, 0..2]), y[1..2]);
        AssertClose(model.Call(padded[0..1]), y[0..1]);
        Assert.All(new Masking(-1f).Call(padded)[1..2, 2..].ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void FunctionalModelsCarryTheMaskToo()
    {
        var input = Keras.Input([4], DType.Int32);
        var embedded = new Embedding(10, 3, seed: 1, maskZero: true).Apply(input);
        var states = new LSTM(4, returnSequences: true, seed: 2).Apply(embedded);
        var output = new LSTM(2, seed: 3).Apply(new TimeDistributed(new Dense(3, seed: 4)).Apply(states));
        var model = new Model(input, output);
        var y = model.Call(Padded(Sequences, 4));
        AssertClose(model.Call(Tensor.FromArray(Sequences[1], [1, 2])), y[1..2]);
    }

    [Fact]
    public void ASequenceTaskTrains()
    {
        // Is the first token of a sequence (padded to 6 with zeros) larger than the last real one?
        var rng = new Random(4);
        int count = 64;
        var ids = new int[count * 6];
        var labels = new float[count];
        for (int n = 0; n < count; n++)
        {
            int length = rng.Next(2, 7);
            for (int t = 0; t < length; t++)
            {
                ids[(n * 6) + t] = rng.Next(1, 8);
            }

            labels[n] = ids[n * 6] > ids[(n * 6) + length - 1] ? 1 : 0;
        }

        var x = Tensor.FromArray(ids, [count, 6]);
        var y = Tensor.FromArray(labels, [count, 1]);
        var model = new Sequential([new Embedding(8, 8, seed: 1, maskZero: true), new Bidirectional(new GRU(8, seed: 2)), new Dense(1, seed: 3)]);
        model.Compile(new Adam(0.02f), new BinaryCrossentropy(fromLogits: true));
        var history = model.Fit(x, y, epochs: 15, batchSize: 32, shuffle: false, verbose: 0);
        var losses = history["loss"];
        Assert.True(losses[^1] < 0.6 * losses[0], $"loss went from {losses[0]} to {losses[^1]}");
    }

    [Fact]
    public void ModelsWithRecurrentLayersSaveAndLoad()
    {
        var model = new Sequential([
            new Embedding(10, 4, seed: 1, maskZero: true, inputShape: [4]),
            new Bidirectional(new LSTM(3, returnSequences: true, seed: 2), "sum"),
            new GRU(3, returnSequences: true, resetAfter: false, goBackwards: true, seed: 3),
            new TimeDistributed(new Dense(2, seed: 4)),
            new SimpleRNN(3, activation: "relu", dropout: 0.2f, seed: 5),
            new Dense(1, seed: 6),
        ]);
        var x = Padded(Sequences, 4);
        var before = model.Predict(x).ToArray();
        string path = Path.Combine(folder, "rnn.lepton");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.Equal(model.Weights.Select(w => w.Name), loaded.Weights.Select(w => w.Name));
        Assert.Equal(before, loaded.Predict(x).ToArray());
        var gru = Assert.IsType<GRU>(loaded.Layers[2]);
        Assert.True(gru.GoBackwards && !gru.ResetAfter);
        Assert.True(Assert.IsType<Embedding>(loaded.Layers[0]).MaskZero);

        var masked = new Sequential([new Masking(0.5f, inputShape: [3, 2]), new LSTM(2, seed: 1)]);
        masked.Save(path);
        var x2 = Tensor.RandN([2, 3, 2], new Generator(1));
        Assert.Equal(masked.Predict(x2).ToArray(), Model.Load(path).Predict(x2).ToArray());
    }

    private static Layer Recurrent(string kind, bool returnSequences) => kind switch
    {
        "SimpleRNN" => new SimpleRNN(4, returnSequences: returnSequences, seed: 2),
        "LSTM" => new LSTM(4, returnSequences: returnSequences, seed: 2),
        "GRU" => new GRU(4, returnSequences: returnSequences, seed: 2),
        _ => new Bidirectional(new LSTM(4, returnSequences: returnSequences, seed: 2)),
    };

    private static Tensor Padded(int[][] sequences, int time)
    {
        var ids = new int[sequences.Length * time];
        for (int b = 0; b < sequences.Length; b++)
        {
            sequences[b].CopyTo(ids, b * time);
        }

        return Tensor.FromArray(ids, [sequences.Length, time]);
    }

    private static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToArray();
        var a = actual.ToArray();
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-6f, $"element {i}: expected {e[i]}, got {a[i]}");
        }
    }
}
