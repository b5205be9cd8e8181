// Structured pruning, the work behind Pruning.Channels: follows each convolution's channels through the layers
// that keep them apart (batch norm, activations, pooling, Add, Flatten or global pooling into Dense), groups the
// channels of tensors added together, picks the filters to remove and builds the smaller model from the original's
// architecture with the surviving slices of every weight.
using System.Text.Json.Nodes;
using Lepton.Nn.Layers;

namespace Lepton.Nn;

/// <summary>One channel-pruning of a model: the analysis, the choice, and the smaller model.</summary>
internal sealed class ChannelPruning
{
    private readonly Model model;
    private readonly List<Layer> layers;
    private readonly Dictionary<Conv2D, Space> produced = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Layer, Flow> read = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Layer, int> uses = new(ReferenceEqualityComparer.Instance);

    private ChannelPruning(Model model)
    {
        this.model = model;
        layers = [.. model.Layers];
    }

    /// <summary>The filters each pruned convolution keeps (ascending), by layer name.</summary>
    public Dictionary<string, int[]> Kept { get; } = [];

    /// <summary>Prunes <paramref name="model"/>; the arguments are checked by <see cref="Pruning.Channels"/>.</summary>
    public static (Model Pruned, Dictionary<string, int[]> Kept) Run(Model model, double fraction, ChannelCriterion criterion, IEnumerable<string>? names)
    {
        var pruning = new ChannelPruning(model);
        pruning.Analyse();
        foreach (var space in pruning.Select(names))
        {
            pruning.Choose(space, fraction, criterion);
        }

        return (pruning.Build(), pruning.Kept);
    }

    /// <summary>Follows the channels from the inputs to the outputs, in graph order.</summary>
    private void Analyse()
    {
        List<(Layer? Layer, int[] Inputs)> nodes = [];
        if (model.IsFunctional)
        {
            var order = model.GraphOrder!.ToList();
            var index = new Dictionary<SymbolicTensor, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < order.Count; i++)
            {
                index[order[i]] = i;
            }

            nodes.AddRange(order.Select(n => (n.Layer, n.Inputs.Select(i => index[i]).ToArray())));
        }
        else
        {
            nodes.Add((null, []));
            nodes.AddRange(layers.Select((layer, i) => ((Layer?)layer, new[] { i })));
        }

        foreach (var (layer, _) in nodes)
        {
            if (layer is not null)
            {
                uses[layer] = uses.GetValueOrDefault(layer) + 1;
            }
        }

        var flows = new Flow[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            var (layer, inputs) = nodes[i];
            flows[i] = Visit(layer, [.. inputs.Select(j => flows[j])]);
        }

        var outputs = model.IsFunctional ? model.GraphOutputs!.Select(o => model.GraphOrder!.ToList().IndexOf(o)) : [nodes.Count - 1];
        foreach (int o in outputs)
        {
            Block(flows[o], "reach the model's output");
        }
    }

    /// <summary>Where <paramref name="layer"/>'s output channels come from, given its inputs'.</summary>
    private Flow Visit(Layer? layer, Flow[] inputs)
    {
        if (layer is null)
        {
            return Fresh("come from the model's input");
        }

        bool single = uses[layer] == 1 && inputs.Length == 1;
        var input = inputs.Length > 0 ? inputs[0] : default;
        switch (layer)
        {
            case InputLayer or Dropout or ReLU:
            case Activation activation when !activation.ActivationName.Contains("softmax", StringComparison.OrdinalIgnoreCase):
                return input;
            case Conv2D conv when single && conv.Groups == 1 && conv.DataFormat == DataFormat.ChannelsFirst:
                read[conv] = input;
                var space = new Space();
                space.Producers.Add(conv);
                produced[conv] = space;
                return new Flow(space, 0);
            case BatchNormalization norm when single && norm.DataFormat == DataFormat.ChannelsFirst && input.Block == 0 && norm.InputShape is { Length: 3 }:
                read[norm] = input;
                input.Space.Root.Norms.Add(norm);
                return input;
            case Pooling2D pool when pool.DataFormat == DataFormat.ChannelsFirst && input.Block == 0:
                return input;
            case Flatten flatten when input.Block == 0 && flatten.InputShape is { Length: 3 } shape:
                return input with { Block = shape[1] * shape[2] };
            case GlobalAveragePooling2D pool when pool.DataFormat == DataFormat.ChannelsFirst && input.Block == 0:
                return input with { Block = 1 };
            case Dense dense when single && input.Block > 0 && dense.InputShape is { Length: 1 }:
                read[dense] = input;
                return Fresh($"come from Dense '{dense.Name}'");
            case Add when inputs.All(f => f.Block == inputs[0].Block):
                foreach (var other in inputs.Skip(1))
                {
                    Union(inputs[0].Space, other.Space);
                }

                return inputs[0];
        }

        foreach (var flow in inputs)
        {
            Block(flow, $"reach {layer.GetType().Name} '{layer.Name}', which channel pruning does not follow");
        }

        return Fresh($"come from {layer.GetType().Name} '{layer.Name}'");
    }

    /// <summary>The channel groups to prune: those of the named convolutions, or every one that can be.</summary>
    private List<Space> Select(IEnumerable<string>? names)
    {
        if (names is null)
        {
            var all = produced.Values.Select(s => s.Root).Distinct().Where(s => s.Blocked is null).ToList();
            return all.Count > 0 ? all : throw new ArgumentException(
                $"Pruning.Channels: model '{model.Name}' has no Conv2D layer whose channels can be removed (each one's channels {produced.Values.Select(s => s.Root.Blocked).FirstOrDefault() ?? "do not exist"}).", nameof(model));
        }

        var chosen = new List<Space>();
        foreach (string name in names)
        {
            var layer = layers.FirstOrDefault(l => l.Name == name)
                ?? throw new ArgumentException($"Pruning.Channels: model '{model.Name}' has no layer '{name}'; its layers are {string.Join(", ", layers.Select(l => l.Name))}.", "layers");
            if (layer is not Conv2D conv)
            {
                throw new ArgumentException($"Pruning.Channels: layer '{name}' ({layer.GetType().Name}) has no filters to remove; channel pruning removes whole filters of Conv2D layers.", "layers");
            }

            if (!produced.TryGetValue(conv, out var space))
            {
                throw new ArgumentException($"Pruning.Channels: layer '{name}' is grouped, channels-last or shared between several places; its filters cannot be removed.", "layers");
            }

            if (space.Root.Blocked is { } reason)
            {
                throw new ArgumentException($"Pruning.Channels: the channels of layer '{name}' {reason}, so none can be removed.", "layers");
            }

            if (!chosen.Contains(space.Root))
            {
                chosen.Add(space.Root);
            }
        }

        return chosen.Count > 0 ? chosen : throw new ArgumentException("Pruning.Channels: the list of layers to prune is empty.", "layers");
    }

    /// <summary>Keeps the highest-ranked channels of one group (ties: the lower index is removed first).</summary>
    private void Choose(Space space, double fraction, ChannelCriterion criterion)
    {
        int channels = space.Producers[0].Filters;
        string names = string.Join("', '", space.Producers.Select(p => p.Name));
        int remove = (int)Math.Round(channels * fraction, MidpointRounding.AwayFromZero);
        if (remove >= channels)
        {
            throw new ArgumentException($"Pruning.Channels: removing {fraction:P1} of the {channels} channels of layer '{names}' would remove every one; use a smaller fraction.", "fraction");
        }

        var scores = new double[channels];
        if (criterion == ChannelCriterion.BnScale)
        {
            var norms = space.Norms.Where(n => n.Gamma is not null).ToList();
            if (norms.Count == 0)
            {
                throw new ArgumentException($"Pruning.Channels: criterion BnScale needs a BatchNormalization with a scale on the channels of layer '{names}'; use L1 or L2.", "criterion");
            }

            foreach (var norm in norms)
            {
                float[] gamma = norm.Gamma!.Value.ToArray<float>();
                for (int c = 0; c < channels; c++)
                {
                    scores[c] += Math.Abs(gamma[c]);
                }
            }
        }
        else
        {
            foreach (var conv in space.Producers)
            {
                float[] kernel = conv.Kernel.Value.ToArray<float>();
                int per = kernel.Length / channels;
                for (int c = 0; c < channels; c++)
                {
                    double sum = 0;
                    for (int i = c * per; i < (c + 1) * per; i++)
                    {
                        sum += criterion == ChannelCriterion.L1 ? Math.Abs(kernel[i]) : (double)kernel[i] * kernel[i];
                    }

                    scores[c] += criterion == ChannelCriterion.L1 ? sum : Math.Sqrt(sum);
                }
            }
        }

        space.Kept = [.. Enumerable.Range(0, channels).OrderBy(c => scores[c]).ThenBy(c => c).Skip(remove).Order()];
        foreach (var conv in space.Producers)
        {
            Kept[conv.Name] = space.Kept;
        }
    }

    /// <summary>The original architecture with fewer filters, holding the kept slices of the original's weights.</summary>
    private Model Build()
    {
        // Through text, so the loader reads it exactly as it reads a saved model's config.json.
        var config = JsonNode.Parse(model.ArchitectureConfig().ToJsonString())!.AsObject();
        var layerConfigs = config["layers"]!.AsArray();
        foreach (var (conv, space) in produced)
        {
            if (space.Root.Kept is { } kept)
            {
                layerConfigs[layers.IndexOf(conv)]!["config"]!["filters"] = kept.Length;
            }
        }

        var pruned = Model.FromArchitecture(config, model.Device);
        using var noGrad = Tensor.NoGrad();
        for (int i = 0; i < layers.Count; i++)
        {
            var from = layers[i].Weights;
            var to = pruned.Layers[i].Weights;
            for (int j = 0; j < from.Count; j++)
            {
                var (values, shape) = Slice(from[j].Value.ToArray<float>(), from[j].Shape, Axes(layers[i], from[j]));
                using var sliced = Tensor.FromArray(values, shape, to[j].Value.DType, to[j].Value.Device);
                to[j].Assign(sliced);
            }
        }

        return pruned;
    }

    /// <summary>The indices <paramref name="weight"/> of <paramref name="layer"/> keeps along each axis (null: all).</summary>
    private int[]?[] Axes(Layer layer, Weight weight)
    {
        var axes = new int[]?[weight.Shape.Length];
        switch (layer)
        {
            case Conv2D conv when produced.TryGetValue(conv, out var space):
                axes[0] = space.Root.Kept;
                if (ReferenceEquals(weight, conv.Kernel) && read[conv] is { Block: 0 } maps)
                {
                    axes[1] = maps.Space.Root.Kept;
                }

                break;
            case BatchNormalization norm when read.TryGetValue(norm, out var normed):
                axes[0] = normed.Space.Root.Kept;
                break;
            case Dense dense when ReferenceEquals(weight, dense.Kernel) && read.TryGetValue(dense, out var input) && input.Space.Root.Kept is { } kept:
                axes[0] = [.. kept.SelectMany(c => Enumerable.Range(c * input.Block, input.Block))];
                break;
        }

        return axes;
    }

    /// <summary>The sub-array of <paramref name="values"/> [<paramref name="shape"/>] at the kept indices of each axis.</summary>
    private static (float[] Values, int[] Shape) Slice(float[] values, int[] shape, int[]?[] keep)
    {
        int[] sliced = [.. shape.Select((n, a) => keep[a]?.Length ?? n)];
        if (keep.All(k => k is null))
        {
            return (values, sliced);
        }

        var strides = new long[shape.Length];
        for (int a = shape.Length - 1; a >= 0; a--)
        {
            strides[a] = a == shape.Length - 1 ? 1 : strides[a + 1] * shape[a + 1];
        }

        var result = new float[Shapes.Numel(sliced)];
        long next = 0;
        void Copy(int axis, long offset)
        {
            for (int i = 0; i < sliced[axis]; i++)
            {
                long at = offset + ((keep[axis]?[i] ?? i) * strides[axis]);
                if (axis == shape.Length - 1)
                {
                    result[next++] = values[at];
                }
                else
                {
                    Copy(axis + 1, at);
                }
            }
        }

        Copy(0, 0);
        return (result, sliced);
    }

    private static Flow Fresh(string reason) => new(new Space { Blocked = reason }, 0);

    private static void Block(Flow flow, string reason) => flow.Space.Root.Blocked ??= reason;

    private static void Union(Space a, Space b)
    {
        var (ra, rb) = (a.Root, b.Root);
        if (!ReferenceEquals(ra, rb))
        {
            rb.Parent = ra;
            ra.Producers.AddRange(rb.Producers);
            ra.Norms.AddRange(rb.Norms);
            ra.Blocked ??= rb.Blocked;
        }
    }

    /// <summary>Where a tensor's channels live: a group of channels, laid out as maps [C, H, W] (Block 0) or as
    /// C runs of Block features after Flatten or global pooling.</summary>
    private readonly record struct Flow(Space Space, int Block);

    /// <summary>A set of channels pruned as one (union-find over the tensors added together).</summary>
    private sealed class Space
    {
        public Space? Parent { get; set; }

        public List<Conv2D> Producers { get; } = [];

        public List<BatchNormalization> Norms { get; } = [];

        /// <summary>Why these channels cannot be removed (ending a sentence that starts "its channels"), or null.</summary>
        public string? Blocked { get; set; }

        public int[]? Kept { get; set; }

        public Space Root => Parent is null ? this : Parent = Parent.Root;
    }
}
