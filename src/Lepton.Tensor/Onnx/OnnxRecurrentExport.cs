// SimpleRNN, LSTM and GRU (alone or in Bidirectional) as ONNX's RNN, LSTM and GRU nodes: our kernels are
// PyTorch's [gates * units, features] blocks, which ONNX wants in its own gate order (LSTM i, o, f, c from our
// i, f, c, o; GRU z, r, h from our r, z, n), with separate input and recurrent biases. The batch-first sequence
// is transposed to ONNX's time-first layout (which every opset from 13 reads) and the result back; the two
// directions of a Bidirectional are merged as it merges them.
using Lepton.Nn;
using Lepton.Nn.Layers;
using static Lepton.Onnx.OnnxGraphBuilder;

namespace Lepton.Onnx;

/// <summary>ONNX export of recurrent layers.</summary>
internal static class OnnxRecurrentExport
{
    /// <summary>Whether the layer has an ONNX form: read forwards, no returned states, activations ONNX has.</summary>
    public static bool Supports(RecurrentLayer layer) => !layer.GoBackwards && Exportable(layer);

    /// <summary>Whether the wrapper has an ONNX form: a forward and a backward copy of one exportable configuration.</summary>
    public static bool Supports(Bidirectional layer) =>
        !layer.ForwardLayer.GoBackwards && layer.BackwardLayer.GoBackwards && Exportable(layer.ForwardLayer) && Exportable(layer.BackwardLayer)
        && layer.ForwardLayer.GetType() == layer.BackwardLayer.GetType()
        && Activations(layer.ForwardLayer).SequenceEqual(Activations(layer.BackwardLayer))
        && (layer.ForwardLayer as GRU)?.ResetAfter == (layer.BackwardLayer as GRU)?.ResetAfter;

    /// <summary>Adds the nodes of one recurrent layer on a [batch, time, features] input and returns its output's name.</summary>
    public static string Emit(OnnxGraphBuilder g, RecurrentLayer layer, OnnxValue x) => Emit(g, layer.Name, [layer], "forward", x, "concat");

    /// <summary>Adds the nodes of a Bidirectional wrapper and returns its output's name.</summary>
    public static string Emit(OnnxGraphBuilder g, Bidirectional layer, OnnxValue x) =>
        Emit(g, layer.Name, [layer.ForwardLayer, layer.BackwardLayer], "bidirectional", x, layer.MergeMode);

    private static string Emit(OnnxGraphBuilder g, string n, RecurrentLayer[] directions, string direction, OnnxValue x, string mergeMode)
    {
        var first = directions[0];
        int units = first.Units, features = x.Shape[^1], count = directions.Length;
        var (op, order) = first switch
        {
            LSTM => ("LSTM", new[] { 0, 3, 1, 2 }),
            GRU => ("GRU", new[] { 1, 0, 2 }),
            _ => ("RNN", new[] { 0 }),
        };
        int gates = order.Length;
        var w = directions.SelectMany(d => Reorder(d.Kernel.Value.ToArray(), order, units, features)).ToArray();
        var r = directions.SelectMany(d => Reorder(d.RecurrentKernel.Value.ToArray(), order, units, units)).ToArray();
        var b = directions.SelectMany(d => Biases(d, order, units)).ToArray();
        string[] inputs =
        [
            g.Node("Transpose", [x.Name], $"{n}/TimeFirst", Ints("perm", 1, 0, 2)),
            g.Floats($"{n}/W", w, [count, gates * units, features]),
            g.Floats($"{n}/R", r, [count, gates * units, units]),
            g.Floats($"{n}/B", b, [count, 2 * gates * units]),
        ];
        var attributes = new List<Proto.AttributeProto>
        {
            Int("hidden_size", units), String("direction", direction), Strings("activations", [.. directions.SelectMany(Activations)]),
        };
        if (first is GRU gru)
        {
            attributes.Add(Int("linear_before_reset", gru.ResetAfter ? 1 : 0));
        }

        var outputs = g.NodeWithOutputs(op, inputs, [$"{n}/Y", $"{n}/Y_h"], [.. attributes]);

        // Y is [time, directions, batch, units], Y_h [directions, batch, units]: pick each direction as [batch, (time,) units].
        string perDirection = first.ReturnSequences ? g.Node("Transpose", [outputs[0]], $"{n}/BatchFirst", Ints("perm", 2, 0, 1, 3)) : outputs[1];
        int axis = first.ReturnSequences ? 2 : 0;
        var parts = Enumerable.Range(0, count)
            .Select(i => g.Node("Gather", [perDirection, g.Int64Scalar($"{n}/direction_{i}", i)], $"{n}/Direction{i}", Int("axis", axis)))
            .ToArray();
        return count == 1
            ? parts[0]
            : mergeMode switch
            {
                "concat" => g.Node("Concat", parts, $"{n}/Concat", Int("axis", -1)),
                "sum" => g.Node("Add", parts, $"{n}/Sum"),
                "mul" => g.Node("Mul", parts, $"{n}/Product"),
                _ => g.Node("Mul", [g.Node("Add", parts, $"{n}/Sum"), g.Floats($"{n}/half", [0.5f], [])], $"{n}/Mean"),
            };
    }

    private static bool Exportable(RecurrentLayer layer) =>
        layer is SimpleRNN or LSTM or GRU && !layer.ReturnState && OnnxActivation(layer.Options.Activation) is not null
        && (layer is SimpleRNN || OnnxActivation(layer.Options.RecurrentActivation) is not null);

    /// <summary>ONNX's activations list for one direction: f, g, h for LSTM; f, g for GRU; f for RNN.</summary>
    private static string[] Activations(RecurrentLayer layer)
    {
        string f = OnnxActivation(layer.Options.RecurrentActivation)!, g = OnnxActivation(layer.Options.Activation)!;
        return layer switch
        {
            LSTM => [f, g, g],
            GRU => [f, g],
            _ => [g],
        };
    }

    /// <summary>ONNX's [Wb, Rb] for one direction: our single bias is Wb (Rb zero); a reset-after GRU's row 1 is Rb.</summary>
    private static float[] Biases(RecurrentLayer layer, int[] order, int units)
    {
        int gates = order.Length;
        var bias = new float[2 * gates * units];
        if (layer.Bias is { } b)
        {
            float[] values = b.Value.ToArray();
            Reorder(values[..(gates * units)], order, units, 1).CopyTo(bias, 0);
            if (values.Length == 2 * gates * units)
            {
                Reorder(values[(gates * units)..], order, units, 1).CopyTo(bias, gates * units);
            }
        }

        return bias;
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
