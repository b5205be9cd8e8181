// The work behind Model.PrepareQuantizationAware and the Quantize of a prepared model. Preparing follows the very plan
// conversion makes (QuantizationPlan): batch norms it would fold are folded into their convolutions now, the kernels
// of the Conv2D and Dense layers it quantizes are fake-quantized (QuantizeWrapper), and each edge it gives a uint8 form
// passes through an observer (FakeQuantize) where conversion puts that form. The way back removes the observers and
// wrappers and keys each observed range by the layer that produces the edge, as ActivationRanges expects.
using System.Text.Json.Nodes;
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>Builds quantization-aware models and turns them back into a float model with its activation ranges.</summary>
internal static class QuantizationAwarePreparation
{
    /// <summary>A copy of <paramref name="model"/> (its own weights) with fake quantization and observers in place.</summary>
    public static Model Prepare(Model model, QuantizationOptions options)
    {
        var copy = Copy(model);
        try
        {
            var graph = ModelGraph.Of(copy, "PrepareQuantizationAware");
            var plan = new QuantizationPlan(copy, graph, options);
            var observed = ObservedEdges(graph, plan, out var int8);
            return Emit(copy, graph, plan, observed, int8, options.PerChannel);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The edges whose range conversion reads (the outputs of the int8 groups, and each float edge the first time an int8
    /// layer reads it), found by walking the nodes as conversion emits them; <paramref name="int8"/> marks the edges that
    /// have only a uint8 form there, which every consumer then reads fake-quantized.
    /// </summary>
    private static bool[] ObservedEdges(ModelGraph graph, QuantizationPlan plan, out bool[] int8)
    {
        int count = graph.Nodes.Count;
        var alias = Enumerable.Range(0, count).ToArray();
        var quantized = new bool[count];
        var observed = new bool[count];
        int8 = new bool[count];
        for (int i = 1; i < count; i++)
        {
            var inputs = graph.Nodes[i].Inputs;
            switch (plan.Kinds[i])
            {
                case NodeKind.Skip:
                    alias[i] = alias[inputs[0]];
                    break;
                case NodeKind.Follow when quantized[alias[inputs[0]]]:
                    quantized[i] = int8[i] = true;
                    break;
                case NodeKind.Conv or NodeKind.Dense or NodeKind.Add or NodeKind.Concat:
                    foreach (int j in inputs)
                    {
                        // A float edge gets its uint8 form (and needs its range) the first time an int8 layer reads it.
                        observed[alias[j]] |= !quantized[alias[j]];
                        quantized[alias[j]] = true;
                    }

                    // An activation other than ReLU runs in float32 after the int8 layer: the output is a float edge.
                    int end = plan.GroupEnd[i];
                    if (plan.FloatActivation[i] is null)
                    {
                        observed[end] = quantized[end] = int8[end] = true;
                    }

                    break;
            }
        }

        return observed;
    }

    /// <summary>The prepared model: a Sequential one for a Sequential source, else functional.</summary>
    private static Model Emit(Model copy, ModelGraph graph, QuantizationPlan plan, bool[] observed, bool[] int8, bool perChannel)
    {
        int count = graph.Nodes.Count;
        var emitted = new List<(Layer Layer, int[] Inputs)>();
        int Add(Layer layer, params int[] inputs)
        {
            layer.Device = copy.Device;
            emitted.Add((layer, inputs));
            return emitted.Count;
        }

        // For each source node, the emitted node float consumers read (raw) and the one int8 consumers read (fake-quantized).
        var raw = new int[count];
        var fake = new int[count];
        var folded = new HashSet<int>();
        for (int i = 0; i < count; i++)
        {
            var (layer, inputs) = graph.Nodes[i];
            int Fake(int k) => fake[inputs[k]];
            if (i == 0)
            {
                raw[i] = 0;
            }
            else
            {
                switch (plan.Kinds[i])
                {
                    case NodeKind.Skip when layer is InputLayer:
                        raw[i] = fake[i] = Fake(0);
                        continue;
                    case NodeKind.Skip:
                        raw[i] = fake[i] = Add(layer!, Fake(0));
                        continue;
                    case NodeKind.Absorbed when folded.Contains(i):
                        raw[i] = raw[inputs[0]];
                        break;
                    case NodeKind.Absorbed:
                        raw[i] = Add(layer!, raw[inputs[0]]);
                        break;
                    case NodeKind.Conv or NodeKind.Dense when plan.FloatActivation[i] is { } activation:
                        // The int8 layer computes the value before the activation, observed there; the activation follows in float32.
                        var linear = WithoutActivation(layer!);
                        int before = Add(new QuantizeWrapper(linear, perChannel), Fake(0));
                        int observer = Add(new FakeQuantize(name: $"{linear.Name}_preactivation_fake_quantize"), before);
                        raw[i] = Add(new Activation(activation, name: $"{layer!.Name}_{activation.ToLowerInvariant()}"), observer);
                        break;
                    case NodeKind.Conv:
                        var conv = (Conv2D)layer!;
                        if (plan.FoldedNorm[i] >= 0)
                        {
                            folded.Add(plan.FoldedNorm[i]);
                            conv = Fold(conv, (BatchNormalization)graph.Nodes[plan.FoldedNorm[i]].Layer!);
                        }

                        raw[i] = Add(new QuantizeWrapper(conv, perChannel), Fake(0));
                        break;
                    case NodeKind.Dense:
                        raw[i] = Add(new QuantizeWrapper(layer!, perChannel), Fake(0));
                        break;
                    case NodeKind.Add or NodeKind.Concat:
                        raw[i] = Add(layer!, [.. inputs.Select((_, k) => Fake(k))]);
                        break;
                    case NodeKind.Follow when int8[i]:
                        raw[i] = Add(layer!, Fake(0));
                        break;
                    default:
                        raw[i] = Add(layer!, [.. inputs.Select(k => raw[k])]);
                        break;
                }
            }

            fake[i] = observed[i] ? Add(new FakeQuantize(name: ObserverName(copy, layer)), raw[i]) : raw[i];
            if (int8[i])
            {
                raw[i] = fake[i];
            }
        }

        return Assemble(copy, emitted, [.. graph.Outputs.Select(o => raw[o])], $"{copy.Name}_qat");
    }

    /// <summary>A new Conv2D computing <paramref name="conv"/> followed by <paramref name="norm"/> in inference.</summary>
    private static Conv2D Fold(Conv2D conv, BatchNormalization norm)
    {
        var (kernel, bias) = QuantizedModelBuilder.FoldBatchNorm(conv, norm);
        var config = conv.GetConfig();
        config["use_bias"] = true;
        var folded = (Conv2D)LayerRegistry.Create(LayerConfig.From(nameof(Conv2D), config));
        folded.Device = conv.Device;
        folded.EnsureBuilt([conv.InputShape!]);
        using var noGrad = Tensor.NoGrad();
        using var kernelValues = Tensor.FromArray(kernel, conv.Kernel.Shape, device: conv.Device);
        using var biasValues = Tensor.FromArray(bias, [bias.Length], device: conv.Device);
        folded.Kernel.Assign(kernelValues);
        folded.Bias!.Assign(biasValues);
        conv.Dispose();
        norm.Dispose();
        return folded;
    }

    /// <summary>A copy of a Conv2D or Dense layer with a linear activation and the same weights (the original is freed).</summary>
    private static Layer WithoutActivation(Layer layer)
    {
        var config = layer.GetConfig();
        config["activation"] = "linear";
        var linear = LayerRegistry.Create(LayerConfig.From(layer.GetType().Name, config));
        linear.Device = layer.Device;
        linear.EnsureBuilt([layer.InputShape!]);
        using (Tensor.NoGrad())
        {
            for (int w = 0; w < layer.Weights.Count; w++)
            {
                linear.Weights[w].Assign(layer.Weights[w].Value);
            }
        }

        layer.Dispose();
        return linear;
    }

    private static string ObserverName(Model model, Layer? producer) =>
        producer is null ? $"{model.Name}_input_fake_quantize" : $"{producer.Name}_fake_quantize";

    /// <summary>A model of the same architecture holding copies of the weights.</summary>
    private static Model Copy(Model model)
    {
        var copy = Model.FromArchitecture(JsonNode.Parse(model.ArchitectureConfig().ToJsonString())!.AsObject(), model.Device);
        using var noGrad = Tensor.NoGrad();
        var from = model.Weights;
        var to = copy.Weights;
        for (int i = 0; i < from.Count; i++)
        {
            to[i].Assign(from[i].Value);
        }

        return copy;
    }

    /// <summary>
    /// The float model inside a prepared one (its wrapped layers unwrapped, its observers removed; the layers are the
    /// prepared model's own) and the range of every observed edge, keyed by the float model's layer that produces it.
    /// </summary>
    /// <remarks>The options returned are those the prepared model was made with, as far as it shows them: the wrappers'
    /// per-channel setting, and every Conv2D, Dense, Add and Concatenate it does not quantize kept in float32.</remarks>
    /// <exception cref="InvalidOperationException">An observer has not seen a training batch.</exception>
    public static (Model Float, ActivationRanges Ranges, QuantizationOptions Options) Unprepare(Model prepared)
    {
        var graph = ModelGraph.Of(prepared, "Quantize");
        var emitted = new List<(Layer Layer, int[] Inputs)>();
        var map = new int[graph.Nodes.Count];

        // The producer whose range conversion looks up: identity layers are skipped (null is the model input).
        var producer = new Layer?[graph.Nodes.Count + 1];
        var pending = new List<(FakeQuantize Observer, int Node)>();
        var wrapped = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        bool perChannel = true;
        for (int i = 1; i < graph.Nodes.Count; i++)
        {
            var (layer, inputs) = graph.Nodes[i];
            switch (layer)
            {
                case FakeQuantize observer:
                    map[i] = map[inputs[0]];
                    pending.Add((observer, map[i]));
                    continue;
                case QuantizeWrapper wrapper:
                    layer = wrapper.Layer;
                    wrapped.Add(layer);
                    perChannel &= wrapper.PerChannel;
                    break;
            }

            int[] from = [.. inputs.Select(k => map[k])];
            emitted.Add((layer!, from));
            map[i] = emitted.Count;
            producer[map[i]] = layer is InputLayer or Dropout ? producer[from[0]] : layer;
        }

        var ranges = new ActivationRanges();
        foreach (var (observer, node) in pending)
        {
            if (!observer.HasObserved)
            {
                throw new InvalidOperationException(
                    $"Quantize: observer '{observer.Name}' of model '{prepared.Name}' has not seen a training batch; fine-tune the prepared model with Fit before converting it.");
            }

            var (min, max) = observer.Range;
            ranges.Set(producer[node], min, max);
        }

        // Layers with an int8 form that the prepared model leaves in float32: kernels not wrapped, sums and
        // concatenations whose output (after a fused ReLU) is not observed.
        var observedNodes = pending.Select(p => p.Node).ToHashSet();
        var keep = new List<string>();
        for (int m = 0; m < emitted.Count; m++)
        {
            var (layer, _) = emitted[m];
            bool quantized = layer switch
            {
                Conv2D or Dense => wrapped.Contains(layer),
                Add or Concatenate => observedNodes.Contains(m + 1) || Enumerable.Range(0, emitted.Count).Any(
                    r => observedNodes.Contains(r + 1) && emitted[r].Inputs is [var only] && only == m + 1 && IsPlainRelu(emitted[r].Layer)),
                _ => true,
            };
            if (!quantized && !keep.Contains(layer.Name))
            {
                keep.Add(layer.Name);
            }
        }

        string name = prepared.Name.EndsWith("_qat", StringComparison.Ordinal) ? prepared.Name[..^4] : prepared.Name;
        var options = new QuantizationOptions { PerChannel = perChannel, KeepFloat = keep };
        return (Assemble(prepared, emitted, [.. graph.Outputs.Select(o => map[o])], name), ranges, options);
    }

    private static bool IsPlainRelu(Layer layer) => layer switch
    {
        ReLU relu => relu.NegativeSlope == 0f,
        Activation activation => activation.ActivationName.Equals("relu", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    /// <summary>Emitted nodes (node 0 the model input) as a Sequential model when the source is one, else a functional one.</summary>
    private static Model Assemble(Model source, List<(Layer Layer, int[] Inputs)> emitted, int[] outputs, string name)
    {
        var inputType = source.BuiltInputType;
        Model model;
        if (source is Sequential)
        {
            var layers = emitted.Select(e => e.Layer).ToList();
            model = new Sequential(layers.Count > 0 && layers[0] is InputLayer ? layers : [new InputLayer(source.InputShape!, inputType), .. layers], name);
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
