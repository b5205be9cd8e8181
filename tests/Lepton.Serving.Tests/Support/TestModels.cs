// Tiny models for the serving tests: a Dense network on 1x4x4 "images", saved to and loaded from a
// .lepton file, and a variant that sleeps in its forward pass to make queues fill up.
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Serving.Tests.Support;

public static class TestModels
{
    /// <summary>The example shape every test model takes.</summary>
    public static readonly int[] InputShape = [1, 4, 4];

    /// <summary>A Dense model on [1,4,4] inputs with 3 outputs, round-tripped through a .lepton file.</summary>
    public static Model SavedDense(int seed = 1)
    {
        Generator.ManualSeed((ulong)seed);
        using var model = new Sequential([new InputLayer(InputShape), new Flatten(), new Dense(8, activation: "relu"), new Dense(3)]);
        string path = Path.Combine(Path.GetTempPath(), $"lepton-serving-{Guid.NewGuid():N}.lepton");
        try
        {
            model.Save(path);
            return Model.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A model whose every forward pass sleeps <paramref name="delayMs"/> milliseconds.</summary>
    public static Model Slow(int delayMs, int seed = 1)
    {
        Generator.ManualSeed((ulong)seed);
        var model = new Sequential([new InputLayer(InputShape), new Delay(0), new Flatten(), new Dense(3)]);
        using (var zeros = Tensor.Zeros([1, .. InputShape]))
        {
            model.Predict(zeros).Dispose(); // builds it: a custom layer's output shape is known only after a call
        }

        ((Delay)model.Layers[1]).Milliseconds = delayMs;

        // The delay is host code in Forward, which a replayed (captured) prediction would skip.
        model.RunEagerly = true;
        return model;
    }

    /// <summary>Deterministic example values for row <paramref name="row"/>.</summary>
    public static float[] Example(int row) =>
        [.. Enumerable.Range(0, 16).Select(i => MathF.Sin(row * 16 + i) * 0.5f + 0.5f)];

    /// <summary>What the model's Predict gives for the rows, one array per row.</summary>
    public static float[][] Expected(Model model, IReadOnlyList<float[]> rows)
    {
        using var x = Tensor.FromArray([.. rows.SelectMany(r => r)], [rows.Count, .. InputShape]);
        using var y = model.Predict(x, batchSize: rows.Count);
        var all = y.ToArray();
        int size = all.Length / rows.Count;
        return [.. Enumerable.Range(0, rows.Count).Select(r => all.AsSpan(r * size, size).ToArray())];
    }

    /// <summary>Passes its input through after sleeping: a stand-in for a slow model.</summary>
    private sealed class Delay(int milliseconds) : Layer
    {
        public int Milliseconds { get; set; } = milliseconds;

        protected override Tensor Forward(Tensor input, bool training)
        {
            Thread.Sleep(Milliseconds);
            return input;
        }
    }
}
