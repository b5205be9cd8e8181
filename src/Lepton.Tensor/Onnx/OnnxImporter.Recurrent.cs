// ONNX's RNN, LSTM and GRU nodes as our SimpleRNN, LSTM and GRU layers, in the form PyTorch and our export
// write them: the batch-first sequence transposed to time-first, zero initial states (ConstantOfShape of a
// shape holding the batch), then Squeeze/Transpose back, or one step picked with Gather. Those values are
// tracked as markers until they turn back into ordinary batch-first tensors.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

internal sealed partial class OnnxImporter
{
    /// <summary>A [time, batch, features] view of a batch-first sequence.</summary>
    private sealed record TimeFirst(SymbolicTensor Sequence);

    /// <summary>Zeros of a shape holding the batch size (PyTorch's initial recurrent states).</summary>
    private sealed record BatchZeros(long[] Shape);

    /// <summary>A recurrent node's Y ([time, 1, batch, units], <paramref name="AllSteps"/>) or Y_h ([1, batch, units]) of a batch-first sequence output.</summary>
    private sealed record RecurrentOutput(SymbolicTensor Sequence, bool AllSteps);

    /// <summary>Y transposed to [batch, time, 1, units] (how Lepton's export picks a direction).</summary>
    private sealed record PerDirection(SymbolicTensor Sequence);

    private object ConstantOfShapeNode(NodeProto node)
    {
        var shape = Const(node, 0).AsInts();
        float value = Attr(node, "value") is { T: { } t } ? (OnnxTensors.IsInteger(t) ? OnnxTensors.ReadInt64s(t)[0] : OnnxTensors.ReadFloats(t)[0]) : 0f;
        if (shape.Contains(Batch))
        {
            return value == 0f ? new BatchZeros(shape) : throw new NotSupportedException("only zeros of a batch-sized shape are supported (initial states).");
        }

        int count = (int)shape.Select(d => InRange(d, "shape", 0)).Aggregate(1L, (p, d) => InRange(p * d, "the number of values", 0));
        return new Constant([.. shape.Select(d => (int)d)], Enumerable.Repeat(value, count).ToArray(), null, false);
    }

    private object[] RecurrentNode(NodeProto node)
    {
        if (values[node.Input[0]] is not TimeFirst { Sequence: var x })
        {
            throw new NotSupportedException("the sequence must be a batch-first tensor transposed to time-first (perm [1, 0, 2]), as PyTorch and Lepton export it.");
        }

        if (AttrString(node, "direction", "forward") != "forward" || AttrInt(node, "layout", 0) != 0 || Attr(node, "clip") is not null || AttrInt(node, "input_forget", 0) != 0)
        {
            throw new NotSupportedException("only forward recurrences with layout 0, no clip and no coupled input-forget gate are supported.");
        }

        if (Has(node, 4))
        {
            throw new NotSupportedException("sequence_lens (sequences of several lengths) is not supported.");
        }

        for (int i = 5; i < node.Input.Count; i++)
        {
            if (Has(node, i) && values[node.Input[i]] is not BatchZeros && !(values[node.Input[i]] is Constant c && c.Floats.All(v => v == 0f)))
            {
                throw new NotSupportedException($"input {i} ('{node.Input[i]}') is an initial state or peephole other than zeros, which is not supported.");
            }
        }

        var w = Const(node, 1);
        var r = Const(node, 2);
        int units = (int)InRange(AttrInt(node, "hidden_size", r.Dims.Length == 3 ? r.Dims[2] : 0), "hidden_size", 1);
        var (gates, order) = node.OpType switch { "LSTM" => (4, new[] { 0, 3, 1, 2 }), "GRU" => (3, new[] { 1, 0, 2 }), _ => (1, new[] { 0 }) };
        int features = x.Shape[^1];
        if (!w.Dims.SequenceEqual([1, gates * units, features]) || !r.Dims.SequenceEqual([1, gates * units, units]))
        {
            throw new InvalidDataException($"W {Shapes.Format(w.Dims)} and R {Shapes.Format(r.Dims)} do not fit {units} units on {features} features (expected [1, {gates * units}, {features}] and [1, {gates * units}, {units}]).");
        }

        string[] activations = [.. (Attr(node, "activations")?.Strings.Select(s => s.ToStringUtf8()) ?? [])];
        string[] defaults = node.OpType switch { "LSTM" => ["Sigmoid", "Tanh", "Tanh"], "GRU" => ["Sigmoid", "Tanh"], _ => ["Tanh"] };
        if (activations.Length == 0)
        {
            activations = defaults;
        }

        string Keras(string onnx) => onnx switch
        {
            "Sigmoid" => "sigmoid",
            "Tanh" => "tanh",
            "Relu" => "relu",
            _ => throw new NotSupportedException($"the activation {onnx} is not supported."),
        };
        if (activations.Length != defaults.Length || (node.OpType == "LSTM" && activations[1] != activations[2]))
        {
            throw new NotSupportedException($"activations [{string.Join(", ", activations)}] are not supported.");
        }

        bool resetAfter = AttrInt(node, "linear_before_reset", 0) != 0;
        string name = LayerName(node);
        RecurrentLayer layer = node.OpType switch
        {
            "LSTM" => new LSTM(units, Keras(activations[1]), Keras(activations[0]), returnSequences: true, name: name),
            "GRU" => new GRU(units, Keras(activations[1]), Keras(activations[0]), returnSequences: true, resetAfter: resetAfter, name: name),
            _ => new SimpleRNN(units, Keras(activations[0]), returnSequences: true, name: name),
        };
        var y = layer.Apply(x);
        assignments.Add((layer.Kernel, new Constant([gates * units, features], Unorder(w.Floats, order, units * features), null, true)));
        assignments.Add((layer.RecurrentKernel, new Constant([gates * units, units], Unorder(r.Floats, order, units * units), null, true)));
        float[] b = Has(node, 3) ? Const(node, 3).Floats : new float[2 * gates * units];
        if (b.Length != 2 * gates * units)
        {
            throw new InvalidDataException($"B has {b.Length} values, not {2 * gates * units}.");
        }

        float[] wb = Unorder(b[..(gates * units)], order, units), rb = Unorder(b[(gates * units)..], order, units);
        assignments.Add((layer.Bias!, layer is GRU && resetAfter
            ? new Constant([2, gates * units], [.. wb, .. rb], null, true)
            : new Constant([gates * units], [.. wb.Zip(rb, (p, q) => p + q)], null, true)));
        return [new RecurrentOutput(y, AllSteps: true), new RecurrentOutput(y, AllSteps: false)];
    }

    /// <summary>A slice with step 1 of a constant vector (a shape), or of the time axis of a sequence (Cropping1D).</summary>
    private object SliceNode(NodeProto node)
    {
        long[] starts = Const(node, 1).AsInts(), ends = Const(node, 2).AsInts();
        long[]? axes = Has(node, 3) ? Const(node, 3).AsInts() : null;
        if ((Has(node, 4) && Const(node, 4).AsInts().Any(step => step != 1)) || starts.Length != 1 || ends.Length != 1 || axes is not (null or { Length: 1 }))
        {
            throw new NotSupportedException("only slices of one axis with step 1 are supported.");
        }

        (long Start, long End) Clamp(long size)
        {
            long start = starts[0] < 0 ? starts[0] + size : starts[0], end = ends[0] < 0 ? ends[0] + size : ends[0];
            return (Math.Clamp(start, 0, size), Math.Clamp(end, 0, size));
        }

        switch (values[node.Input[0]])
        {
            case Constant c when c.Dims.Length == 1 && (axes is null || axes[0] is 0 or -1):
                {
                    var (start, end) = Clamp(c.Count);
                    int length = (int)Math.Max(end - start, 0);
                    return c.Ints is not null
                        ? new Constant([length], null, c.Ints[(int)start..((int)start + length)], false)
                        : new Constant([length], c.Floats[(int)start..((int)start + length)], null, false);
                }

            case SymbolicTensor { Shape.Length: 2 } sequence when axes is [1] or [-2]:
                {
                    int steps = sequence.Shape[0];
                    var (start, end) = Clamp(steps);
                    return end > start
                        ? new Cropping1D(((int)start, steps - (int)end), name: LayerName(node)).Apply(sequence)
                        : throw new InvalidDataException($"the slice [{starts[0]}:{ends[0]}] of {steps} steps is empty.");
                }

            default:
                throw new NotSupportedException("only slices of constant vectors and of the time axis of [batch, time, features] sequences are supported.");
        }
    }

    /// <summary>One time step of a [batch, time, units] sequence as [batch, units]: Cropping1D then Reshape.</summary>
    private SymbolicTensor Step(NodeProto node, SymbolicTensor sequence, long index)
    {
        int steps = sequence.Shape[0];
        int at = (int)InRange(index < 0 ? index + steps : index, "the time index", 0, steps - 1);
        string name = LayerName(node);
        var cropped = new Cropping1D((at, steps - 1 - at), name: name).Apply(sequence);
        return new Reshape([.. sequence.Shape[1..]], name: name + "_step").Apply(cropped);
    }

    /// <summary>Our gate order from ONNX's: block order[i] of ours is block i of ONNX's.</summary>
    private static float[] Unorder(float[] onnx, int[] order, int block)
    {
        var ours = new float[onnx.Length];
        for (int i = 0; i < order.Length; i++)
        {
            Array.Copy(onnx, i * block, ours, order[i] * block, block);
        }

        return ours;
    }
}
