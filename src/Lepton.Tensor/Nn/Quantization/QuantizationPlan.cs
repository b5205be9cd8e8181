// Which node of a model runs in int8 and how: the layers with an int8 kernel (and the batch normalization and ReLU
// fused into them), the shape-only layers that run on whichever form their input has, and the rest in float32.
// Checks the layer names in the options and says why a layer asked for cannot be quantized.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>What conversion does with a node.</summary>
internal enum NodeKind
{
    /// <summary>A copy of the source layer runs in float32.</summary>
    Float,

    /// <summary>An identity at inference (InputLayer, Dropout): the node is its input.</summary>
    Skip,

    /// <summary>Shape-only or order-only (MaxPooling2D, Flatten, Reshape): runs on uint8 when its input is, else float32.</summary>
    Follow,

    /// <summary>The head of an int8 convolution group (with an optional folded batch normalization and fused ReLU).</summary>
    Conv,

    /// <summary>The head of an int8 fully connected group.</summary>
    Dense,

    /// <summary>The head of an int8 sum of two inputs.</summary>
    Add,

    /// <summary>An int8 concatenation.</summary>
    Concat,

    /// <summary>A batch normalization or ReLU fused into the group before it.</summary>
    Absorbed,

    /// <summary>A Dense layer run by <see cref="DynamicQuantizedDense"/>.</summary>
    DynamicDense,
}

/// <summary>The conversion plan of every node of a <see cref="ModelGraph"/>.</summary>
internal sealed class QuantizationPlan
{
    private readonly ModelGraph graph;
    private readonly Dictionary<Layer, int> uses;
    private readonly HashSet<string> keep;
    private readonly HashSet<string>? only;

    /// <summary>Plans static quantization.</summary>
    public QuantizationPlan(Model source, ModelGraph graph, QuantizationOptions options)
        : this(source, graph, options, "Quantize")
    {
        for (int i = 1; i < graph.Nodes.Count; i++)
        {
            if (Kinds[i] == NodeKind.Float)
            {
                PlanStatic(i);
            }
        }

        CheckRequested(source, "Quantize", layer => Int8Reason(layer) ?? "runs in int8 only fused into the layer before it (batch normalization into a Conv2D; ReLU into Conv2D, Dense or Add) and cannot be fused here");
    }

    private QuantizationPlan(Model source, ModelGraph graph, QuantizationOptions options, string method)
    {
        options.Check();
        this.graph = graph;
        uses = graph.Uses();
        var names = source.Layers.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (list, property) in new[] { (options.KeepFloat, nameof(options.KeepFloat)), (options.Layers ?? [], nameof(options.Layers)) })
        {
            foreach (string name in list)
            {
                if (!names.Contains(name))
                {
                    throw new ArgumentException(
                        $"{method}: model '{source.Name}' has no layer '{name}' (named in QuantizationOptions.{property}); its layers are {string.Join(", ", names)}.", "options");
                }
            }
        }

        keep = [.. options.KeepFloat];
        only = options.Layers is null ? null : [.. options.Layers];
        if (only is not null && only.FirstOrDefault(keep.Contains) is { } both)
        {
            throw new ArgumentException($"{method}: layer '{both}' is named both in QuantizationOptions.Layers and in KeepFloat.", "options");
        }

        int count = graph.Nodes.Count;
        Kinds = new NodeKind[count];
        GroupEnd = [.. Enumerable.Range(0, count)];
        FoldedNorm = [.. Enumerable.Repeat(-1, count)];
        Relu = new bool[count];
        FloatActivation = new string?[count];
        for (int i = 1; i < count; i++)
        {
            if (graph.Nodes[i].Layer is InputLayer or Dropout)
            {
                Kinds[i] = NodeKind.Skip;
            }
        }
    }

    /// <summary>What each node becomes.</summary>
    public NodeKind[] Kinds { get; }

    /// <summary>For a group head, the last node fused into it (itself when none); its output is the group's.</summary>
    public int[] GroupEnd { get; }

    /// <summary>For a convolution head, the batch normalization node folded into it, or -1.</summary>
    public int[] FoldedNorm { get; }

    /// <summary>For a group head, whether a ReLU is fused into its output.</summary>
    public bool[] Relu { get; }

    /// <summary>
    /// For a Conv2D or Dense head, the activation (neither linear nor ReLU) that runs in float32 after it, or null: the
    /// int8 layer then computes the value before the activation.
    /// </summary>
    public string?[] FloatActivation { get; }

    /// <summary>Plans dynamic quantization: Dense layers (not kept, or named) become <see cref="DynamicQuantizedDense"/>.</summary>
    public static QuantizationPlan Dynamic(Model source, ModelGraph graph, QuantizationOptions options)
    {
        var plan = new QuantizationPlan(source, graph, options, "QuantizeDynamic");
        for (int i = 1; i < graph.Nodes.Count; i++)
        {
            if (plan.Kinds[i] == NodeKind.Float && graph.Nodes[i].Layer is Dense dense && plan.Wanted(dense))
            {
                plan.Kinds[i] = NodeKind.DynamicDense;
            }
        }

        plan.CheckRequested(source, "QuantizeDynamic", layer => "has no dynamically quantized kernel; only Dense layers are quantized dynamically");
        return plan;
    }

    /// <summary>Why <paramref name="layer"/> has no int8 form here, or null when it has one.</summary>
    private string? Int8Reason(Layer layer)
    {
        if (layer is Conv2D or Dense or Add or Concatenate && uses[layer] > 1)
        {
            return "is called at several places, and each place would need its own quantization parameters";
        }

        return layer switch
        {
            Conv2D { DataFormat: not DataFormat.ChannelsFirst } => "is channels-last; the int8 convolution is channels-first",
            MaxPooling2D { DataFormat: not DataFormat.ChannelsFirst } => "is channels-last; the int8 max pooling is channels-first",
            Conv2D or Dense or Add or Concatenate or MaxPooling2D or Flatten or Reshape => null,
            _ => $"has no int8 kernel (int8 layers: Conv2D, Dense, Add, Concatenate, MaxPooling2D, Flatten, Reshape, and BatchNormalization and ReLU fused into them)",
        };
    }

    /// <summary>Whether the user wants <paramref name="layer"/> in int8 (not kept, and named when names are given).</summary>
    private bool Wanted(Layer layer) => !keep.Contains(layer.Name) && (only is null || only.Contains(layer.Name) || layer is MaxPooling2D or Flatten or Reshape);

    private void PlanStatic(int i)
    {
        var (layer, inputs) = graph.Nodes[i];
        if (layer is null || !Wanted(layer) || Int8Reason(layer) is not null)
        {
            return;
        }

        switch (layer)
        {
            case Conv2D conv:
                Kinds[i] = NodeKind.Conv;
                Relu[i] = conv.ActivationName.Equals("relu", StringComparison.OrdinalIgnoreCase);
                if (!IsLinearOrRelu(conv.ActivationName))
                {
                    FloatActivation[i] = conv.ActivationName;
                    break;
                }

                if (!Relu[i] && Next(i) is int norm && graph.Nodes[norm].Layer is BatchNormalization bn && bn.DataFormat == DataFormat.ChannelsFirst)
                {
                    FoldedNorm[i] = norm;
                    Absorb(i, norm);
                }

                FuseRelu(i);
                break;
            case Dense dense:
                Kinds[i] = NodeKind.Dense;
                Relu[i] = dense.ActivationName.Equals("relu", StringComparison.OrdinalIgnoreCase);
                if (!IsLinearOrRelu(dense.ActivationName))
                {
                    FloatActivation[i] = dense.ActivationName;
                    break;
                }

                FuseRelu(i);
                break;
            case Add when inputs.Length == 2:
                Kinds[i] = NodeKind.Add;
                FuseRelu(i);
                break;
            case Concatenate:
                Kinds[i] = NodeKind.Concat;
                break;
            case MaxPooling2D or Flatten or Reshape:
                Kinds[i] = NodeKind.Follow;
                break;
        }
    }

    private void FuseRelu(int head)
    {
        if (!Relu[head] && Next(GroupEnd[head]) is int next && graph.Nodes[next].Layer is { } layer && IsPlainRelu(layer))
        {
            Relu[head] = true;
            Absorb(head, next);
        }
    }

    private void Absorb(int head, int node)
    {
        Kinds[node] = NodeKind.Absorbed;
        GroupEnd[head] = node;
    }

    /// <summary>The node that alone reads <paramref name="node"/> (which is no model output), if it may be fused.</summary>
    private int? Next(int node)
    {
        if (graph.Consumers[node] != 1 || graph.Outputs.Contains(node))
        {
            return null;
        }

        for (int j = node + 1; j < graph.Nodes.Count; j++)
        {
            var (layer, inputs) = graph.Nodes[j];
            if (inputs.Contains(node))
            {
                return inputs.Length == 1 && layer is not null && uses[layer] == 1 && !keep.Contains(layer.Name) ? j : null;
            }
        }

        return null;
    }

    /// <summary>Throws for a layer named in QuantizationOptions.Layers that the plan leaves in float32.</summary>
    private void CheckRequested(Model source, string method, Func<Layer, string> reason)
    {
        if (only is null)
        {
            return;
        }

        foreach (string name in only)
        {
            var nodes = Enumerable.Range(1, graph.Nodes.Count - 1).Where(i => graph.Nodes[i].Layer?.Name == name).ToList();
            if (nodes.Count > 0 && nodes.All(i => Kinds[i] is NodeKind.Float or NodeKind.Skip))
            {
                var layer = graph.Nodes[nodes[0]].Layer!;
                throw new ArgumentException(
                    $"{method}: layer '{name}' ({layer.GetType().Name}) of model '{source.Name}' was asked to be quantized but {reason(layer)}; leave it out of QuantizationOptions.Layers.",
                    "options");
            }
        }
    }

    internal static bool IsLinearOrRelu(string activation) =>
        activation.Equals("linear", StringComparison.OrdinalIgnoreCase) || activation.Length == 0 || activation.Equals("relu", StringComparison.OrdinalIgnoreCase);

    private static bool IsPlainRelu(Layer layer) => layer switch
    {
        ReLU relu => relu.NegativeSlope == 0f,
        Activation activation => activation.ActivationName.Equals("relu", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };
}
