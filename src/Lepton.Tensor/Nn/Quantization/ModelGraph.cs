// A Sequential or functional model as a list of nodes in run order, each a layer call on earlier nodes (node 0 the
// model input), which calibration runs and conversion rewrites.
namespace Lepton.Nn.Quantization;

/// <summary>The nodes of a model with one input, in an order where each node's inputs come first.</summary>
internal sealed class ModelGraph
{
    private ModelGraph(List<(Layer? Layer, int[] Inputs)> nodes, int[] outputs)
    {
        Nodes = nodes;
        Outputs = outputs;
        Consumers = new int[nodes.Count];
        foreach (var (_, inputs) in nodes)
        {
            foreach (int i in inputs)
            {
                Consumers[i]++;
            }
        }

        foreach (int o in outputs)
        {
            Consumers[o]++;
        }
    }

    /// <summary>Each node's layer (null for the model input, node 0) and input nodes.</summary>
    public List<(Layer? Layer, int[] Inputs)> Nodes { get; }

    /// <summary>The nodes that are model outputs.</summary>
    public int[] Outputs { get; }

    /// <summary>How many node inputs and model outputs read each node.</summary>
    public int[] Consumers { get; }

    /// <summary>The graph of <paramref name="model"/>; errors name <paramref name="method"/>.</summary>
    /// <exception cref="NotSupportedException">A subclassed model, or one with several inputs.</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    public static ModelGraph Of(Model model, string method)
    {
        if (model is not Sequential && !model.IsFunctional)
        {
            throw new NotSupportedException(
                $"{method}: model '{model.Name}' ({model.GetType().Name}) is subclassed; its graph is code that cannot be rewritten. Define it as a Sequential or functional model to quantize it.");
        }

        model.BuildIfInputKnown();
        if (!model.Built || model.InputShape is null)
        {
            throw new InvalidOperationException($"{method}: model '{model.Name}' is not built; call it once or declare its input shape before quantizing it.");
        }

        var nodes = new List<(Layer? Layer, int[] Inputs)> { (null, []) };
        if (!model.IsFunctional)
        {
            foreach (var layer in model.Layers)
            {
                nodes.Add((layer, [nodes.Count - 1]));
            }

            return new ModelGraph(nodes, [nodes.Count - 1]);
        }

        if (model.GraphInputs!.Count != 1)
        {
            throw new NotSupportedException($"{method}: model '{model.Name}' has {model.GraphInputs.Count} inputs; quantization supports models with one input.");
        }

        var index = new Dictionary<SymbolicTensor, int>(ReferenceEqualityComparer.Instance) { [model.GraphInputs[0]] = 0 };
        foreach (var node in model.GraphOrder!)
        {
            if (node.Layer is not null)
            {
                index[node] = nodes.Count;
                nodes.Add((node.Layer, [.. node.Inputs.Select(i => index[i])]));
            }
        }

        return new ModelGraph(nodes, [.. model.GraphOutputs!.Select(o => index[o])]);
    }

    /// <summary>How many nodes call each layer.</summary>
    public Dictionary<Layer, int> Uses()
    {
        var uses = new Dictionary<Layer, int>(ReferenceEqualityComparer.Instance);
        foreach (var (layer, _) in Nodes)
        {
            if (layer is not null)
            {
                uses[layer] = uses.GetValueOrDefault(layer) + 1;
            }
        }

        return uses;
    }
}
