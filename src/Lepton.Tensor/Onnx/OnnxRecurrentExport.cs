// SimpleRNN, LSTM and GRU as ONNX's RNN, LSTM and GRU nodes: our kernels are PyTorch's [gates * units,
// features] blocks, which ONNX wants in its own gate order (LSTM i, o, f, c from our i, f, c, o; GRU z, r, h
// from our r, z, n), with separate input and recurrent biases. The batch-first sequence is transposed to
// ONNX's time-first layout (which every opset from 13 reads) and back.
using Lepton.Nn;
using Lepton.Nn.Layers;
using static Lepton.Onnx.OnnxGraphBuilder;

namespace Lepton.Onnx;

/// <summary>ONNX export of recurrent layers.</summary>
internal static class OnnxRecurrentExport
{
    /// <summary>Whether the layer has an ONNX form: one direction read forwards, no returned states, built-in activations.</summary>
    public static bool Supports(RecurrentLayer layer) =>
        layer is SimpleRNN or LSTM or GRU && !layer.GoBackwards && !layer.ReturnState
        && OnnxActivation(layer.Options.Activation) is not null
        && (layer is SimpleRNN || OnnxActivation(layer.Options.RecurrentActivation) is not null);

    /// <summary>Adds the layer's nodes on a [batch, time, features] input and returns its output's name.</summary>
    public static string Emit(OnnxGraphBuilder g, RecurrentLayer layer, OnnxValue x)
    {
        string n = layer.Name;
        int units = layer.Units, features = x.Shape[^1];
        var (op, order) = layer switch
        {
            LSTM => ("LSTM", new[] { 0, 3, 1, 2 }),
            GRU => ("GRU", new[] { 1, 0, 2 }),
            _ => ("RNN", new[] { 0 }),
        };
        int gates = order.Length;
        string w = g.Floats($"{n}/W", Reorder(layer.Kernel.Value.ToArray(), order, units, features), [1, gates * units, features]);
        string r = g.Floats($"{n}/R", Reorder(layer.RecurrentKernel.Value.ToArray(), order, units, units), [1, gates * units, units]);
        var bias = new float[2 * gates * units];
        if (layer.Bias is { } b)
        {
            float[] values = b.Value.ToArray();
            Reorder(values.AsSpan(0, gates * units).ToArray(), order, units, 1).CopyTo(bias, 0);
            if (values.Length == 2 * gates * units)
            {
                // GRU with reset_after: row 1 is the recurrent bias, applied inside the reset product as ONNX's Rb is.
                Reorder(values.AsSpan(gates * units).ToArray(), order, units, 1).CopyTo(bias, gates * units);
            }
        }

        string biasName = g.Floats($"{n}/B", bias, [1, 2 * gates * units]);
        string[] activations = layer switch
        {
            LSTM => [OnnxActivation(layer.Options.RecurrentActivation)!, OnnxActivation(layer.Options.Activation)!, OnnxActivation(layer.Options.Activation)!],
            GRU => [OnnxActivation(layer.Options.RecurrentActivation)!, OnnxActivation(layer.Options.Activation)!],
            _ => [OnnxActivation(layer.Options.Activation)!],
        };
        var attributes = new List<Proto.AttributeProto> { Int("hidden_size", units), Strings("activations", activations) };
        if (layer is GRU gru)
        {
            attributes.Add(Int("linear_before_reset", gru.ResetAfter ? 1 : 0));
        }

        string timeFirst = g.Node("Transpose", [x.Name], $"{n}/TimeFirst", Ints("perm", 1, 0, 2));
        var node = g.NodeWithOutputs(op, [timeFirst, w, r, biasName], [$"{n}/Y", $"{n}/Y_h"], [.. attributes]);
        if (layer.ReturnSequences)
        {
            // Y: [time, directions = 1, batch, units] -> [batch, time, units].
            string squeezed = g.Node("Squeeze", [node[0], g.Int64s($"{n}/direction_axis", 1)], $"{n}/Squeeze");
            return g.Node("Transpose", [squeezed], $"{n}/BatchFirst", Ints("perm", 1, 0, 2));
        }

        // Y_h: [directions = 1, batch, units] -> [batch, units].
        return g.Node("Squeeze", [node[1], g.Int64s($"{n}/direction_axis", 0)], $"{n}/Last");
    }

    /// <summary>The ONNX name of a built-in activation, or null.</summary>
    private static string? OnnxActivation(string? name) => (name ?? "tanh").ToLowerInvariant() switch
    {
        "tanh" => "Tanh",
        "sigmoid" => "Sigmoid",
        "relu" => "Relu",
        _ => null,
    };

    /// <summary>Rows of [gates * units, columns] with the gate blocks taken in <paramref name="order"/>.</summary>
    private static float[] Reorder(float[] values, int[] order, int units, int columns)
    {
        var result = new float[values.Length];
        int block = units * columns;
        for (int i = 0; i < order.Length; i++)
        {
            Array.Copy(values, order[i] * block, result, i * block, block);
        }

        return result;
    }
}
