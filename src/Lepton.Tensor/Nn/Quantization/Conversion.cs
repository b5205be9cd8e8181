// One conversion of a model by its plan: emits the new layers in the source's order, keeping for every source edge
// its float32 form, its uint8 form (with scale and zero point) or both, and inserting a Quantize or Dequantize layer
// the first time a consumer needs the form an edge lacks. Values are assigned once the new model is built.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>Builds the converted model (see <see cref="QuantizedModelBuilder"/>).</summary>
internal sealed class Conversion
{
    private readonly Model source;
    private readonly ModelGraph graph;
    private readonly QuantizationPlan plan;
    private readonly ActivationRanges ranges;
    private readonly QuantizationOptions options;
    private readonly List<(Layer Layer, int[] Inputs)> emitted = [];
    private readonly int[] floatEdge, quantEdge, alias;
    private readonly QuantParams[] edgeParams;
    private readonly Dictionary<Layer, Layer> copies = new(ReferenceEqualityComparer.Instance);
    private readonly List<(Layer Target, string Weight, Func<Tensor> Value)> values = [];

    public Conversion(Model source, ModelGraph graph, QuantizationPlan plan, ActivationRanges ranges, QuantizationOptions options)
    {
        this.source = source;
        this.graph = graph;
        this.plan = plan;
        this.ranges = ranges;
        this.options = options;
        int count = graph.Nodes.Count;
        floatEdge = [.. Enumerable.Repeat(-1, count)];
        quantEdge = [.. Enumerable.Repeat(-1, count)];
        alias = [.. Enumerable.Range(0, count)];
        edgeParams = new QuantParams[count];
        floatEdge[0] = 0;
    }

    /// <summary>Emits every node, builds the model and assigns its values.</summary>
    public Model Run()
    {
        for (int i = 1; i < graph.Nodes.Count; i++)
        {
            Emit(i);
        }

        int[] outputs = [.. graph.Outputs.Select(o => Float(alias[o]))];
        using var noGrad = Tensor.NoGrad();
        var model = Assemble(outputs);
        try
        {
            foreach (var (target, weight, value) in values)
            {
                using var scope = Tensor.NewScope();
                var w = target.Weights.Single(x => x.Name == $"{target.Name}/{weight}");
                var v = value();
                w.CastTo(v.DType.IsFloatingPoint() && w.Value.DType.IsFloatingPoint() ? v.DType : w.Value.DType);
                w.Assign(v.DType == w.Value.DType ? v : v.To(w.Value.DType));
            }

            foreach (var layer in model.Layers.OfType<QuantizedLayer>())
            {
                layer.Prepare();
            }

            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void Emit(int i)
    {
        var (layer, inputs) = graph.Nodes[i];
        switch (plan.Kinds[i])
        {
            case NodeKind.Skip:
                alias[i] = alias[inputs[0]];
                return;
            case NodeKind.Absorbed:
                return;
            case NodeKind.Follow when quantEdge[alias[inputs[0]]] >= 0:
                int input = alias[inputs[0]];
                quantEdge[i] = Add(Copy(layer!), [quantEdge[input]]);
                edgeParams[i] = edgeParams[input];
                return;
            case NodeKind.Conv or NodeKind.Dense when plan.FloatActivation[i] is not null && !ranges.HasBeforeActivation(layer!):
                // Ranges without the value before the activation (from training-time observers, say): all in float32.
                floatEdge[i] = Add(Copy(layer!), [Float(alias[inputs[0]])]);
                return;
            case NodeKind.Conv:
                EmitConv(i, (Conv2D)layer!);
                return;
            case NodeKind.Dense:
                EmitDense(i, (Dense)layer!);
                return;
            case NodeKind.Add:
                EmitAdd(i, layer!);
                return;
            case NodeKind.Concat:
                EmitConcat(i, (Concatenate)layer!);
                return;
            case NodeKind.DynamicDense:
                EmitDynamicDense(i, (Dense)layer!);
                return;
            default:
                floatEdge[i] = Add(Copy(layer!), [.. inputs.Select(j => Float(alias[j]))]);
                return;
        }
    }

    private void EmitConv(int i, Conv2D conv)
    {
        int input = Quant(alias[graph.Nodes[i].Inputs[0]]);
        var inParams = edgeParams[alias[graph.Nodes[i].Inputs[0]]];
        var outParams = OutputParams(i, conv);
        float[] kernel, bias;
        if (plan.FoldedNorm[i] >= 0)
        {
            (kernel, bias) = QuantizedModelBuilder.FoldBatchNorm(conv, (BatchNormalization)graph.Nodes[plan.FoldedNorm[i]].Layer!);
        }
        else
        {
            kernel = conv.Kernel.Value.ToArray<float>();
            bias = conv.Bias?.Value.ToArray<float>() ?? [];
        }

        var (q, scales) = QuantizedModelBuilder.QuantizeWeights(kernel, conv.Filters, options.PerChannel);
        bool useBias = bias.Length > 0;
        var layer = new QuantizedConv2D(conv.Filters, conv.KernelSize, conv.Strides, conv.Padding, conv.DilationRate, conv.Groups, useBias, plan.Relu[i], conv.Name);
        int[] shape = conv.Kernel.Shape;
        Set(layer, "kernel", () => Tensor.FromArray(q, shape, source.Device));
        SetWeightedEpilogue(layer, scales, useBias ? QuantizedModelBuilder.QuantizeBias(bias, inParams.Scale, scales) : null, inParams, outParams);
        Finish(i, layer, input, outParams);
    }

    private void EmitDense(int i, Dense dense)
    {
        int input = Quant(alias[graph.Nodes[i].Inputs[0]]);
        var inParams = edgeParams[alias[graph.Nodes[i].Inputs[0]]];
        var outParams = OutputParams(i, dense);
        var (q, scales, depth) = TransposedWeights(dense);
        float[] bias = dense.Bias?.Value.ToArray<float>() ?? [];
        var layer = new QuantizedDense(dense.Units, dense.UseBias, plan.Relu[i], dense.Name);
        Set(layer, "kernel", () => Tensor.FromArray(q, [dense.Units, depth], source.Device));
        SetWeightedEpilogue(layer, scales, dense.UseBias ? QuantizedModelBuilder.QuantizeBias(bias, inParams.Scale, scales) : null, inParams, outParams);
        Finish(i, layer, input, outParams);
    }

    /// <summary>The output parameters of the group headed by node <paramref name="i"/>: its last layer's output, or
    /// <paramref name="head"/>'s output before an activation that runs in float32.</summary>
    private QuantParams OutputParams(int i, Layer head) =>
        plan.FloatActivation[i] is null ? ranges.Params(graph.Nodes[plan.GroupEnd[i]].Layer) : ranges.ParamsBeforeActivation(head);

    /// <summary>
    /// Emits the int8 layer of the group headed by node <paramref name="i"/>; with an activation that runs in float32,
    /// also a Dequantize and that activation, whose float32 output is the group's.
    /// </summary>
    private void Finish(int i, QuantizedLayer layer, int input, QuantParams outParams)
    {
        int end = plan.GroupEnd[i], output = Add(layer, [input]);
        if (plan.FloatActivation[i] is { } activation)
        {
            int dequantized = Add(NewDequantize(outParams), [output]);
            floatEdge[end] = Add(new Activation(activation, name: $"{layer.Name}_{activation.ToLowerInvariant()}"), [dequantized]);
            return;
        }

        quantEdge[end] = output;
        edgeParams[end] = outParams;
    }

    private void EmitDynamicDense(int i, Dense dense)
    {
        if (!copies.TryGetValue(dense, out var layer))
        {
            var (q, scales, depth) = TransposedWeights(dense);
            layer = new DynamicQuantizedDense(dense.Units, dense.ActivationName, dense.UseBias, dense.Name);
            Set(layer, "kernel", () => Tensor.FromArray(q, [dense.Units, depth], source.Device));
            Set(layer, "kernel_scale", () => Tensor.FromArray(scales, [scales.Length], device: source.Device));
            if (dense.Bias is { } bias)
            {
                Set(layer, "bias", () => bias.Value.To(DType.Float32));
            }

            copies[dense] = layer;
        }

        floatEdge[i] = Add(layer, [Float(alias[graph.Nodes[i].Inputs[0]])]);
    }

    private void EmitAdd(int i, Layer add)
    {
        int[] inputs = [.. graph.Nodes[i].Inputs.Select(j => alias[j])];
        int end = plan.GroupEnd[i];
        var outParams = ranges.Params(graph.Nodes[end].Layer);
        var layer = new QuantizedAdd(plan.Relu[i], add.Name);
        int[] edges = [.. inputs.Select(Quant)];
        SetActivationParams(layer, [.. inputs.Select(j => edgeParams[j])], outParams);
        quantEdge[end] = Add(layer, edges);
        edgeParams[end] = outParams;
    }

    private void EmitConcat(int i, Concatenate concat)
    {
        int[] inputs = [.. graph.Nodes[i].Inputs.Select(j => alias[j])];
        var outParams = ranges.Params(concat);
        var layer = new QuantizedConcatenate(concat.Axis, concat.Name);
        int[] edges = [.. inputs.Select(Quant)];
        SetActivationParams(layer, [.. inputs.Select(j => edgeParams[j])], outParams);
        quantEdge[i] = Add(layer, edges);
        edgeParams[i] = outParams;
    }

    /// <summary>Dense's kernel [inputs, units] quantized per unit and laid out [units, inputs], as the int8 kernel reads it.</summary>
    private (sbyte[] Values, float[] Scales, int Depth) TransposedWeights(Dense dense)
    {
        float[] kernel = dense.Kernel.Value.ToArray<float>();
        int depth = dense.Kernel.Shape[0], units = dense.Units;
        var rows = new float[kernel.Length];
        for (int d = 0; d < depth; d++)
        {
            for (int u = 0; u < units; u++)
            {
                rows[(u * depth) + d] = kernel[(d * units) + u];
            }
        }

        var (q, scales) = QuantizedModelBuilder.QuantizeWeights(rows, units, options.PerChannel);
        return (q, scales, depth);
    }

    private void SetWeightedEpilogue(QuantizedLayer layer, float[] scales, int[]? bias, QuantParams input, QuantParams output)
    {
        Set(layer, "kernel_scale", () => Tensor.FromArray(scales, [scales.Length], device: source.Device));
        if (bias is not null)
        {
            Set(layer, "bias", () => Tensor.FromArray(bias, [bias.Length], source.Device));
        }

        SetActivationParams(layer, [input], output);
    }

    private void SetActivationParams(QuantizedLayer layer, QuantParams[] inputs, QuantParams output)
    {
        Set(layer, "input_scale", () => Tensor.FromArray([.. inputs.Select(p => p.Scale)], [inputs.Length], device: source.Device));
        Set(layer, "input_zero_point", () => Tensor.FromArray([.. inputs.Select(p => p.ZeroPoint)], [inputs.Length], source.Device));
        Set(layer, "output_scale", () => Tensor.FromArray([output.Scale], [1], device: source.Device));
        Set(layer, "output_zero_point", () => Tensor.FromArray([output.ZeroPoint], [1], source.Device));
    }

    /// <summary>The emitted node holding the float32 form of source edge <paramref name="edge"/>, dequantizing it if needed.</summary>
    private int Float(int edge)
    {
        if (floatEdge[edge] < 0)
        {
            floatEdge[edge] = Add(NewDequantize(edgeParams[edge]), [quantEdge[edge]]);
        }

        return floatEdge[edge];
    }

    private Dequantize NewDequantize(QuantParams p)
    {
        var layer = new Dequantize();
        Set(layer, "scale", () => Tensor.FromArray([p.Scale], [1], device: source.Device));
        Set(layer, "zero_point", () => Tensor.FromArray([p.ZeroPoint], [1], source.Device));
        return layer;
    }

    /// <summary>The emitted node holding the uint8 form of source edge <paramref name="edge"/>, quantizing it if needed.</summary>
    private int Quant(int edge)
    {
        if (quantEdge[edge] < 0)
        {
            var p = edgeParams[edge] = ranges.Params(graph.Nodes[edge].Layer);
            var layer = new Quantize();
            Set(layer, "scale", () => Tensor.FromArray([p.Scale], [1], device: source.Device));
            Set(layer, "zero_point", () => Tensor.FromArray([p.ZeroPoint], [1], source.Device));
            quantEdge[edge] = Add(layer, [floatEdge[edge]]);
        }

        return quantEdge[edge];
    }

    /// <summary>A float copy of <paramref name="layer"/> (one per source layer, so shared layers stay shared) with its values.</summary>
    private Layer Copy(Layer layer)
    {
        if (copies.TryGetValue(layer, out var copy))
        {
            return copy;
        }

        copy = LayerRegistry.Create(LayerConfig.From(layer.GetType().Name, layer.GetConfig()));
        var from = layer.Weights;
        for (int w = 0; w < from.Count; w++)
        {
            var weight = from[w];
            values.Add((copy, weight.Name[(weight.Name.LastIndexOf('/') + 1)..], () => weight.Value));
        }

        copies[layer] = copy;
        return copy;
    }

    private void Set(Layer layer, string weight, Func<Tensor> value) => values.Add((layer, weight, value));

    private int Add(Layer layer, int[] inputs)
    {
        layer.Device = source.Device;
        emitted.Add((layer, inputs));
        return emitted.Count;
    }

    /// <summary>The new model: Sequential when the source is (the emitted nodes then form a chain), else functional.</summary>
    private Model Assemble(int[] outputs)
    {
        var inputType = source.BuiltInputType;
        string name = source.Name + "_quantized";
        Model model;
        if (source is Sequential)
        {
            model = new Sequential([new InputLayer(source.InputShape!, inputType), .. emitted.Select(e => e.Layer)], name);
        }
        else
        {
            var nodes = new List<SymbolicTensor> { Keras.Input(source.InputShape!, inputType) };
            foreach (var (layer, inputs) in emitted)
            {
                nodes.Add(layer.Apply([.. inputs.Select(i => nodes[i])]));
            }

            model = new Model([nodes[0]], [.. outputs.Select(o => nodes[o])], name);
        }

        model.Device = source.Device;
        return model;
    }
}
