// The small fully connected networks the agents learn with: Dense layers of the given widths built at
// construction (outside any tensor scope, so their weights live as long as the agent), and batched inference.
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Rl;

/// <summary>Builds and runs the agents' MLPs.</summary>
internal static class PolicyNetwork
{
    public static Sequential Build(int inputs, IReadOnlyList<int> hidden, int outputs, string activation, ulong seed)
    {
        var layers = new List<Layer> { new InputLayer([inputs]) };
        for (int i = 0; i < hidden.Count; i++)
        {
            layers.Add(new Dense(hidden[i], activation: activation, seed: seed + (ulong)i));
        }

        layers.Add(new Dense(outputs, seed: seed + 100));
        return new Sequential(layers);
    }

    /// <summary>Runs <paramref name="model"/> without gradients on [rows, inputs] and returns the outputs.</summary>
    public static float[] Infer(Sequential model, ReadOnlySpan<float> inputs, int inputSize)
    {
        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        var x = Tensor.FromArray(inputs.ToArray(), [inputs.Length / inputSize, inputSize]);
        return model.Call(x).ToArray();
    }

    /// <summary>Checks that <paramref name="observations"/> is a whole number of observations.</summary>
    public static int Rows(string agent, ReadOnlySpan<float> observations, int observationSize)
    {
        if (observations.Length == 0 || observations.Length % observationSize != 0)
        {
            throw new ArgumentException(
                $"{agent}: observations must hold a whole, non-zero number of observations of {observationSize} floats each, got {observations.Length} floats.",
                nameof(observations));
        }

        return observations.Length / observationSize;
    }

    /// <summary>The index of the largest of <paramref name="row"/> (the first on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int a = 1; a < row.Length; a++)
        {
            if (row[a] > row[best])
            {
                best = a;
            }
        }

        return best;
    }
}
