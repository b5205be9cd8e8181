// Import of an ONNX file as a functional Model: parse and validate (opset, unsupported operators listed
// at once, missing inputs, cycles), then walk the nodes in dependency order turning each into a layer
// (OnnxImporter.Operators.cs) while constants and static shape arithmetic are folded here.
using Google.Protobuf;
using Lepton.Nn;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

/// <summary>Builds a functional model from an ONNX graph.</summary>
internal sealed partial class OnnxImporter
{
    /// <summary>The batch size inside folded shape values (Shape of a batch), standing for "whatever the batch is".</summary>
    private const long Batch = long.MinValue;

    private readonly string path;
    private readonly int opset;
    private readonly Dictionary<string, object> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> layerNames = new(StringComparer.Ordinal);
    private readonly List<(Weight Weight, Constant Value)> assignments = [];
    private readonly HashSet<string> consumed = new(StringComparer.Ordinal);

    private OnnxImporter(string path, int opset)
    {
        this.path = path;
        this.opset = opset;
    }

    /// <summary>Loads the ONNX file at <paramref name="path"/>.</summary>
    public static Model Load(string path, Device device)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"ONNX file '{path}' is not a readable ONNX model; it is truncated or corrupt ({e.Message}).", e);
        }

        if (proto.Graph is null || proto.Graph.Node.Count == 0 || proto.Graph.Output.Count == 0)
        {
            throw new InvalidDataException($"ONNX file '{path}' holds no graph (no nodes or no outputs); it is not an ONNX model or it is truncated.");
        }

        var opsetId = proto.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")
            ?? throw new InvalidDataException($"ONNX file '{path}' does not say which opset of the default ONNX domain it uses (no opset_import).");
        if (opsetId.Version is < OnnxExporter.MinOpset or > OnnxExporter.MaxOpset)
        {
            throw new NotSupportedException(
                $"ONNX file '{path}' uses opset {opsetId.Version}; Model.LoadOnnx reads opsets {OnnxExporter.MinOpset} to {OnnxExporter.MaxOpset} (convert it with onnx.version_converter).");
        }

        var importer = new OnnxImporter(path, (int)opsetId.Version);
        var model = importer.Build(proto.Graph);
        if (device != Device.Default)
        {
            model.Device = device;
        }

        return model;
    }

    private Model Build(GraphProto graph)
    {
        var unsupported = graph.Node.Where(n => (n.Domain is not ("" or "ai.onnx")) || !Supported.Contains(n.OpType)).ToList();
        if (unsupported.Count > 0)
        {
            throw new NotSupportedException(
                $"ONNX file '{path}' uses {unsupported.Count} node{(unsupported.Count == 1 ? "" : "s")} that Model.LoadOnnx does not support: "
                + string.Join("; ", unsupported.Select(n => $"{(n.Domain is "" ? "" : n.Domain + ".")}{n.OpType} (node '{NodeName(n)}', opset {opset})"))
                + $". Supported operators: {string.Join(", ", Supported.Order(StringComparer.Ordinal))}.");
        }

        consumed.UnionWith(graph.Node.SelectMany(n => n.Input));
        consumed.UnionWith(graph.Output.Select(o => o.Name));
        foreach (var initializer in graph.Initializer)
        {
            if (string.IsNullOrEmpty(initializer.Name))
            {
                throw new InvalidDataException($"ONNX file '{path}' has an initializer without a name.");
            }

            values[initializer.Name] = ReadConstant(initializer, $"initializer '{initializer.Name}'", fromInitializer: true);
        }

        var inputs = new List<SymbolicTensor>();
        foreach (var input in graph.Input.Where(i => !values.ContainsKey(i.Name)))
        {
            var symbolic = Keras.Input(InputShape(input, out var dtype), dtype);
            values[input.Name] = symbolic;
            inputs.Add(symbolic);
        }

        if (inputs.Count == 0)
        {
            throw new InvalidDataException($"ONNX file '{path}' has no graph input that is not an initializer.");
        }

        foreach (var node in Order(graph))
        {
            try
            {
                ImportNode(node);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or InvalidDataException or NotSupportedException or IndexOutOfRangeException
                or InvalidCastException or KeyNotFoundException or OverflowException)
            {
                string message = $"ONNX file '{path}', node '{NodeName(node)}' ({node.OpType}, opset {opset}): {e.Message}";
                throw e is NotSupportedException ? new NotSupportedException(message, e) : new InvalidDataException(message, e);
            }
        }

        var outputs = graph.Output.Select(o => values.TryGetValue(o.Name, out var v) && v is SymbolicTensor s
            ? s
            : throw new InvalidDataException($"ONNX file '{path}': graph output '{o.Name}' is {(values.ContainsKey(o.Name) ? "a constant, not computed from the inputs" : "produced by no node")}.")).ToArray();
        if (outputs.Any(o => o.Layer is null))
        {
            throw new InvalidDataException($"ONNX file '{path}': a graph output is one of its inputs; there is nothing to compute.");
        }

        var model = new Model([.. inputs], outputs, string.IsNullOrWhiteSpace(graph.Name) ? Path.GetFileNameWithoutExtension(path) : graph.Name);
        foreach (var (weight, value) in assignments)
        {
            using var tensor = Tensor.FromArray(value.Floats, weight.Shape);
            weight.Assign(tensor);
        }

        return model;
    }

    /// <summary>The nodes in an order where each comes after the nodes it reads (Kahn's algorithm), checking every input exists.</summary>
    private List<NodeProto> Order(GraphProto graph)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                if (values.ContainsKey(output) || !producer.TryAdd(output, node))
                {
                    throw new InvalidDataException($"ONNX file '{path}', node '{NodeName(node)}' ({node.OpType}): its output '{output}' is also produced elsewhere (a graph input, an initializer or another node).");
                }
            }
        }

        var waiting = new Dictionary<NodeProto, int>(ReferenceEqualityComparer.Instance);
        var readers = new Dictionary<NodeProto, List<NodeProto>>(ReferenceEqualityComparer.Instance);
        var ready = new Queue<NodeProto>();
        foreach (var node in graph.Node)
        {
            int count = 0;
            foreach (var input in node.Input.Where(i => i.Length > 0))
            {
                if (producer.TryGetValue(input, out var from))
                {
                    count++;
                    (readers.TryGetValue(from, out var list) ? list : readers[from] = []).Add(node);
                }
                else if (!values.ContainsKey(input))
                {
                    throw new InvalidDataException(
                        $"ONNX file '{path}', node '{NodeName(node)}' ({node.OpType}): input '{input}' is not a graph input, not an initializer and not produced by any node (a missing initializer?).");
                }
            }

            waiting[node] = count;
            if (count == 0)
            {
                ready.Enqueue(node);
            }
        }

        var order = new List<NodeProto>();
        while (ready.Count > 0)
        {
            var node = ready.Dequeue();
            order.Add(node);
            foreach (var reader in readers.GetValueOrDefault(node) ?? [])
            {
                if (--waiting[reader] == 0)
                {
                    ready.Enqueue(reader);
                }
            }
        }

        if (order.Count != graph.Node.Count)
        {
            var stuck = graph.Node.Where(n => waiting[n] > 0).Select(n => $"'{NodeName(n)}' ({n.OpType})");
            throw new InvalidDataException($"ONNX file '{path}': the graph has a cycle through nodes {string.Join(", ", stuck)}.");
        }

        return order;
    }

    private int[] InputShape(ValueInfoProto input, out DType dtype)
    {
        var tensorType = input.Type?.TensorType
            ?? throw new InvalidDataException($"ONNX file '{path}': graph input '{input.Name}' is not a tensor.");
        dtype = OnnxTensors.InputType(tensorType.ElemType)
            ?? throw new NotSupportedException($"ONNX file '{path}': graph input '{input.Name}' has element type {(TensorProto.Types.DataType)tensorType.ElemType}; inputs may be float, int32 or int64.");
        var dims = tensorType.Shape?.Dim
            ?? throw new InvalidDataException($"ONNX file '{path}': graph input '{input.Name}' has no shape; the importer needs the shape of one example.");
        if (dims.Count < 2)
        {
            throw new NotSupportedException($"ONNX file '{path}': graph input '{input.Name}' has rank {dims.Count}; inputs need a batch dimension and at least one more.");
        }

        var shape = new int[dims.Count - 1];
        for (int i = 1; i < dims.Count; i++)
        {
            shape[i - 1] = dims[i].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[i].DimValue is > 0 and <= int.MaxValue
                ? (int)dims[i].DimValue
                : throw new NotSupportedException(
                    $"ONNX file '{path}': graph input '{input.Name}' has dimension {i} = '{(dims[i].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? dims[i].DimParam : dims[i].DimValue.ToString())}'; only the batch dimension (0) may vary.");
        }

        return shape;
    }

    private Constant ReadConstant(TensorProto tensor, string what, bool fromInitializer)
    {
        try
        {
            var dims = OnnxTensors.Dims(tensor);
            return OnnxTensors.IsInteger(tensor)
                ? new Constant(dims, null, OnnxTensors.ReadInt64s(tensor), fromInitializer)
                : new Constant(dims, OnnxTensors.ReadFloats(tensor), null, fromInitializer);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"ONNX file '{path}', {what}: {e.Message}", e);
        }
    }

    private static string NodeName(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;

    /// <summary>A unique layer name from the node's name (PyTorch's leading '/' dropped).</summary>
    private string LayerName(NodeProto node)
    {
        string wanted = NodeName(node).TrimStart('/');
        if (wanted.Length == 0)
        {
            wanted = node.OpType.ToLowerInvariant();
        }

        string name = wanted;
        for (int i = 1; !layerNames.Add(name); i++)
        {
            name = $"{wanted}_{i}";
        }

        return name;
    }

    /// <summary>A constant value: initializer, Constant node or folded shape arithmetic (integers, with <see cref="Batch"/>).</summary>
    private sealed class Constant(int[] dims, float[]? floats, long[]? ints, bool fromInitializer)
    {
        public int[] Dims { get; } = dims;

        public long[]? Ints => ints;

        public bool FromInitializer { get; } = fromInitializer;

        public float[] Floats => floats ?? [.. ints!.Select(v => v == Batch ? throw new InvalidDataException("the batch size is not known when the model is built.") : (float)v)];

        public int Count => Ints?.Length ?? Floats.Length;

        public long[] AsInts() => Ints ?? [.. Floats.Select(f => (long)f)];
    }
}
