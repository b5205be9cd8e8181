// Small hand-built ONNX graphs for the import tests, written with the generated protobuf types.
using Google.Protobuf;
using Lepton.Onnx;
using Lepton.Onnx.Proto;

namespace Lepton.Tests.Onnx;

internal static class OnnxGraphs
{
    /// <summary>A model with one float input "x" of [batch, ..example] and one output "y".</summary>
    public static ModelProto Graph(int[] example, IEnumerable<NodeProto> nodes, IEnumerable<TensorProto>? initializers = null, int opset = 17)
    {
        var graph = new GraphProto { Name = "test_graph" };
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(initializers ?? []);
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.AddRange(example.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        graph.Input.Add(new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } });
        graph.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "lepton-tests" };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = opset });
        return model;
    }

    public static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output + "_node" };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>A float initializer with values in [low, high) from a seed.</summary>
    public static TensorProto Floats(string name, int[] dims, ulong seed, float low = -1f, float high = 1f)
    {
        using var values = Tensor.Uniform(dims, low, high, new Generator(seed));
        return OnnxTensors.FromFloats(name, values.ToArray(), dims);
    }

    public static TensorProto Int64s(string name, params long[] values) => OnnxTensors.FromInt64s(name, values, [values.Length]);

    public static string Save(ModelProto model, string folder, string name)
    {
        string path = Path.Combine(folder, name + ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    public static AttributeProto Int(string name, long value) => OnnxGraphBuilder.Int(name, value);

    public static AttributeProto Float(string name, float value) => OnnxGraphBuilder.Float(name, value);

    public static AttributeProto Ints(string name, params long[] values) => OnnxGraphBuilder.Ints(name, values);
}
