// The graph an export writes: nodes, initializers and unique value names, with helpers for the
// attributes and constants the per-layer export needs. Names are unique across the whole graph.
using Google.Protobuf;
using Lepton.Nn;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

/// <summary>An ONNX graph under construction.</summary>
internal sealed class OnnxGraphBuilder(int opset)
{
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<Weight, string> weights = [];

    /// <summary>The opset the graph targets.</summary>
    public int Opset { get; } = opset;

    /// <summary>The graph.</summary>
    public GraphProto Graph { get; } = new();

    /// <summary>A name not used yet, derived from <paramref name="wanted"/>.</summary>
    public string Unique(string wanted)
    {
        string name = wanted;
        for (int i = 1; !names.Add(name); i++)
        {
            name = $"{wanted}_{i}";
        }

        return name;
    }

    /// <summary>Reserves a name that must stay as it is (a graph input).</summary>
    public void Reserve(string name) => names.Add(name);

    /// <summary>Adds a node with one output named after <paramref name="output"/> and returns that output's name.</summary>
    public string Node(string op, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        string name = Unique(output);
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(name);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return name;
    }

    /// <summary>Adds a node with several outputs (named after <paramref name="outputs"/>) and returns their names.</summary>
    public string[] NodeWithOutputs(string op, IEnumerable<string> inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var names = outputs.Select(Unique).ToArray();
        var node = new NodeProto { OpType = op, Name = names[0] };
        node.Input.AddRange(inputs);
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Renames the output of the node that produced <paramref name="value"/> when it is the last node added (so a
    /// layer's result carries the layer's name); returns the name the value now has.</summary>
    public string NameResult(string value, string wanted)
    {
        if (Graph.Node.Count == 0 || Graph.Node[^1].Output[0] != value || value == wanted || names.Contains(wanted))
        {
            return value;
        }

        names.Add(wanted);
        Graph.Node[^1].Output[0] = wanted;
        return wanted;
    }

    /// <summary>The initializer of a weight (added once, however often the layer is called).</summary>
    public string Weight(Weight weight)
    {
        if (!weights.TryGetValue(weight, out var name))
        {
            name = Unique(weight.Name);
            Graph.Initializer.Add(OnnxTensors.FromTensor(name, weight.Value));
            weights[weight] = name;
        }

        return name;
    }

    /// <summary>A float32 constant initializer.</summary>
    public string Floats(string wanted, float[] values, int[] dims)
    {
        string name = Unique(wanted);
        Graph.Initializer.Add(OnnxTensors.FromFloats(name, values, dims));
        return name;
    }

    /// <summary>An int64 vector initializer.</summary>
    public string Int64s(string wanted, params long[] values)
    {
        string name = Unique(wanted);
        Graph.Initializer.Add(OnnxTensors.FromInt64s(name, values, [values.Length]));
        return name;
    }

    /// <summary>An int64 scalar initializer (an index).</summary>
    public string Int64Scalar(string wanted, long value)
    {
        string name = Unique(wanted);
        Graph.Initializer.Add(OnnxTensors.FromInt64s(name, [value], []));
        return name;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Strings(string name, params string[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        attribute.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return attribute;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }
}
