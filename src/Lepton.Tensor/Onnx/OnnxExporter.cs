// Export of Sequential, functional and subclassed models (nested ones included) to an ONNX ModelProto:
// walks the layers in order (a subclassed model's by tracing the layer calls of one Forward), asks
// OnnxLayerExport for each layer's nodes, and declares the graph's inputs and outputs with their shapes
// (the batch dimension symbolic or fixed at 1).
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

/// <summary>A value flowing through the exported graph: its name and per-example shape and type.</summary>
internal readonly record struct OnnxValue(string Name, int[] Shape, DType DType);

/// <summary>Builds the ONNX model of a Lepton model.</summary>
internal static class OnnxExporter
{
    /// <summary>The opsets export writes and import reads.</summary>
    public const int MinOpset = 13, MaxOpset = 21;

    /// <summary>The ONNX model of <paramref name="model"/>.</summary>
    public static ModelProto Build(Model model, int opset, bool dynamicBatch)
    {
        if (opset is < MinOpset or > MaxOpset)
        {
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"{model.Name}: ONNX export writes opsets {MinOpset} to {MaxOpset}.");
        }

        model.BuildIfInputKnown();
        if (!model.IsFunctional && (!model.Built || model.InputShape is null))
        {
            throw new InvalidOperationException($"{model.Name}: build the model (call it once, or declare its input shape) before exporting it.");
        }

        var unsupported = new List<string>();
        CollectUnsupported(model, unsupported);
        if (unsupported.Count > 0)
        {
            throw new NotSupportedException($"{model.Name}: ONNX export does not support {string.Join(", ", unsupported)}.");
        }

        var graph = new OnnxGraphBuilder(opset);
        graph.Graph.Name = model.Name;
        var inputs = new List<OnnxValue>();
        if (model.IsFunctional)
        {
            for (int i = 0; i < model.GraphInputs!.Count; i++)
            {
                var input = model.GraphInputs[i];
                inputs.Add(new OnnxValue(graph.Unique(model.GraphInputs.Count == 1 ? "input" : $"input_{i}"), input.Shape, input.DType));
            }
        }
        else
        {
            string name = model.Layers.Count > 0 && model.Layers[0] is InputLayer first ? first.Name : "input";
            inputs.Add(new OnnxValue(graph.Unique(name), model.InputShape!, model.BuiltInputType));
        }

        var outputs = EmitModel(graph, model, inputs);
        graph.Graph.Input.AddRange(inputs.Select(v => ValueInfo(v, dynamicBatch)));
        foreach (var output in outputs)
        {
            var value = output;
            if (inputs.Any(i => i.Name == value.Name) || graph.Graph.Initializer.Any(i => i.Name == value.Name))
            {
                value = value with { Name = graph.Node("Identity", [value.Name], "output") };
            }

            graph.Graph.Output.Add(ValueInfo(value, dynamicBatch));
        }

        var proto = new ModelProto
        {
            IrVersion = opset switch { <= 14 => 7, <= 18 => 8, <= 20 => 9, _ => 10 },
            ProducerName = "Lepton.Tensor",
            ProducerVersion = typeof(Model).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return proto;
    }

    /// <summary>Emits a (possibly nested) model's layers on the given inputs and returns its outputs.</summary>
    public static List<OnnxValue> EmitModel(OnnxGraphBuilder graph, Model model, IReadOnlyList<OnnxValue> inputs)
    {
        if (model.IsFunctional)
        {
            var values = new Dictionary<SymbolicTensor, OnnxValue>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < inputs.Count; i++)
            {
                values[model.GraphInputs![i]] = inputs[i];
            }

            foreach (var node in model.GraphOrder!)
            {
                if (node.Layer is not null)
                {
                    values[node] = EmitLayer(graph, node.Layer, [.. node.Inputs.Select(i => values[i])]);
                }
            }

            return [.. model.GraphOutputs!.Select(o => values[o])];
        }

        if (model is not Sequential)
        {
            return EmitTraced(graph, model, inputs);
        }

        var x = inputs[0];
        foreach (var layer in model.Layers)
        {
            x = EmitLayer(graph, layer, [x]);
        }

        return [x];
    }

    /// <summary>A subclassed model: runs Forward once on zeros, recording its layer calls, and emits them in order.</summary>
    private static List<OnnxValue> EmitTraced(OnnxGraphBuilder graph, Model model, IReadOnlyList<OnnxValue> inputs)
    {
        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        var tensors = inputs.Select(i => Tensor.Zeros([1, .. i.Shape], i.DType, model.Device)).ToArray();
        Tensor output;
        List<(Layer Layer, Tensor[] Inputs, Tensor Output)> calls;
        using (var trace = LayerTrace.Begin())
        {
            output = model.Call(tensors);
            calls = trace.Calls;
        }

        var values = new Dictionary<Tensor, OnnxValue>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < tensors.Length; i++)
        {
            values[tensors[i]] = inputs[i];
        }

        string Untraced(Layer? layer) => $"{model.Name}: its Forward computes {(layer is null ? "its output" : $"an input of '{layer.Name}'")} with tensor "
            + "operations outside layers, which export cannot see (it traces layer calls); use layers for those steps (Add, Arithmetic, Activation, Reshape...).";
        foreach (var (layer, callInputs, callOutput) in calls)
        {
            var args = callInputs.Select(t => values.TryGetValue(t, out var v) ? v : throw new NotSupportedException(Untraced(layer))).ToArray();
            values[callOutput] = EmitLayer(graph, layer, args);
        }

        return values.TryGetValue(output, out var result) ? [result] : throw new NotSupportedException(Untraced(null));
    }

    private static OnnxValue EmitLayer(OnnxGraphBuilder graph, Layer layer, OnnxValue[] inputs)
    {
        if (layer is Model nested)
        {
            var result = EmitModel(graph, nested, inputs);
            return result.Count == 1 ? result[0] : throw new NotSupportedException($"{nested.Name}: a nested model with {result.Count} outputs is not exported.");
        }

        var (shape, dtype) = layer.InferOutput([.. inputs.Select(i => i.Shape)], [.. inputs.Select(i => i.DType)]);
        string name = OnnxLayerExport.Emit(graph, layer, inputs, shape);
        return new OnnxValue(graph.NameResult(name, layer.Name), shape, dtype);
    }

    private static void CollectUnsupported(Model model, List<string> unsupported)
    {
        foreach (var layer in model.Layers)
        {
            if (layer is Model nested)
            {
                CollectUnsupported(nested, unsupported);
            }
            else if (!OnnxLayerExport.Supports(layer))
            {
                unsupported.Add($"'{layer.Name}' ({layer.GetType().Name})");
            }
        }
    }

    private static ValueInfoProto ValueInfo(OnnxValue value, bool dynamicBatch)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(dynamicBatch ? new TensorShapeProto.Types.Dimension { DimParam = "batch" } : new TensorShapeProto.Types.Dimension { DimValue = 1 });
        shape.Dim.AddRange(value.Shape.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto
        {
            Name = value.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxTensors.ElementType(value.DType), Shape = shape } },
        };
    }
}
