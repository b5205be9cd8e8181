// Keras's Bidirectional wrapper: a recurrent layer reads the sequence forwards, a copy of it reads it
// backwards, and their outputs (aligned to the input positions) are merged by concat, sum, mul or ave.
namespace Lepton.Nn.Layers;

/// <summary>
/// Runs a recurrent layer in both directions and merges the two outputs. The backward layer is a copy of the forward
/// one with goBackwards flipped (or one passed in); its sequence output is reversed back so that position t of both
/// outputs describes input step t. Initial states, when given, follow the sequence: forward states, then backward states.
/// </summary>
/// <example><code>var model = new Sequential([new Embedding(1000, 16, maskZero: true), new Bidirectional(new LSTM(32)), new Dense(1)]);</code></example>
public sealed class Bidirectional : Layer, IMaskConsumer
{
    private static readonly string[] MergeModes = ["concat", "sum", "mul", "ave"];

    /// <summary>Creates the wrapper.</summary>
    /// <param name="layer">The forward recurrent layer.</param>
    /// <param name="mergeMode">How the two outputs are combined: concat (on the last axis), sum, mul or ave.</param>
    /// <param name="backwardLayer">The backward layer; a copy of <paramref name="layer"/> reading backwards when null.</param>
    /// <param name="inputShape">Per-example input shape [time, features], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    public Bidirectional(RecurrentLayer layer, string mergeMode = "concat", RecurrentLayer? backwardLayer = null, int[]? inputShape = null, string? name = null)
        : base(name ?? UniqueName("bidirectional"), inputShape)
    {
        MergeMode = mergeMode.ToLowerInvariant();
        if (!MergeModes.Contains(MergeMode))
        {
            throw new ArgumentException($"{Name}: unknown merge mode '{mergeMode}'; use concat, sum, mul or ave.", nameof(mergeMode));
        }

        ForwardLayer = layer;
        BackwardLayer = backwardLayer ?? Reversed(layer);
        if (BackwardLayer.Units != layer.Units || BackwardLayer.ReturnSequences != layer.ReturnSequences || BackwardLayer.GoBackwards == layer.GoBackwards)
        {
            throw new ArgumentException($"{Name}: the backward layer must have the forward layer's units and returnSequences and the opposite goBackwards.");
        }

        BuildIfDeclared();
    }

    /// <summary>The layer reading forwards.</summary>
    public RecurrentLayer ForwardLayer { get; }

    /// <summary>The layer reading backwards.</summary>
    public RecurrentLayer BackwardLayer { get; }

    /// <summary>concat, sum, mul or ave.</summary>
    public string MergeMode { get; }

    /// <inheritdoc />
    public override IEnumerable<Layer> Sublayers => [ForwardLayer, BackwardLayer];

    bool IMaskConsumer.KeepsTimeAxis => ForwardLayer.ReturnSequences;

    /// <summary>Runs both directions with a [batch, time] mask (1 = real step), or null for none.</summary>
    /// <param name="inputs">The sequence, then optionally the forward and the backward initial states.</param>
    /// <param name="mask">The mask, float [batch, time], or null.</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <example><code>var y = bidirectional.Call([x], mask);</code></example>
    public Tensor Call(IReadOnlyList<Tensor> inputs, Tensor? mask, bool training = false) => CallWithState(inputs, mask, training)[0];

    /// <summary>The merged output, then, when the wrapped layer has returnState, the forward and the backward final states.</summary>
    /// <param name="inputs">The sequence, then optionally the forward and the backward initial states.</param>
    /// <param name="mask">The mask, float [batch, time], or null.</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <example><code>var outs = new Bidirectional(new GRU(8, returnState: true)).CallWithState([x]); // output, forward h, backward h</code></example>
    public Tensor[] CallWithState(IReadOnlyList<Tensor> inputs, Tensor? mask = null, bool training = false)
    {
        if (inputs.Count == 0 || inputs[0].Rank != 3)
        {
            throw new ArgumentException($"{Name}: Bidirectional needs inputs [batch, time, features], got {(inputs.Count == 0 ? "none" : Shapes.Format(inputs[0].ShapeRef))}.");
        }

        EnsureBuiltFor(inputs);
        int states = ForwardLayer.StateCount;
        if (inputs.Count != 1 && inputs.Count != 1 + (2 * states))
        {
            throw new ArgumentException($"{Name}: pass the sequence alone or with {states} forward and {states} backward initial states, got {inputs.Count} inputs.");
        }

        IReadOnlyList<Tensor> forwardInputs = inputs.Count == 1 ? [inputs[0]] : [inputs[0], .. inputs.Skip(1).Take(states)];
        IReadOnlyList<Tensor> backwardInputs = inputs.Count == 1 ? [inputs[0]] : [inputs[0], .. inputs.Skip(1 + states)];
        var (forward, forwardStates) = ForwardLayer.Run(forwardInputs, mask, training, alignOutput: true);
        var (backward, backwardStates) = BackwardLayer.Run(backwardInputs, mask, training, alignOutput: true);
        var merged = MergeMode switch
        {
            "concat" => Tensor.Concat([forward, backward], -1),
            "sum" => forward + backward,
            "mul" => forward * backward,
            _ => (forward + backward) * 0.5f,
        };
        OutputShape ??= merged.ShapeRef[1..];
        return ForwardLayer.ReturnState ? [merged, .. forwardStates, .. backwardStates] : [merged];
    }

    Tensor IMaskConsumer.CallMasked(IReadOnlyList<Tensor> inputs, Tensor? mask, bool training) => Call(inputs, mask, training);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["layer"] = LayerConfig.Nested(ForwardLayer);
        config["backward_layer"] = LayerConfig.Nested(BackwardLayer);
        config["merge_mode"] = MergeMode;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        if (inputShapes[0].Length != 2)
        {
            throw new ArgumentException($"{Name}: Bidirectional needs inputs [batch, time, features], got per-example shape {Shapes.Format(inputShapes[0])}.");
        }

        ForwardLayer.EnsureBuilt([inputShapes[0]]);
        BackwardLayer.EnsureBuilt([inputShapes[0]]);
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training) => CallWithState(inputs, null, training)[0];

    /// <summary>A copy of the layer's configuration reading the other way (its own name and, when seeded, another seed).</summary>
    private static RecurrentLayer Reversed(RecurrentLayer layer)
    {
        var config = layer.GetConfig();
        config["name"] = "backward_" + layer.Name;
        config["go_backwards"] = !layer.GoBackwards;
        config["seed"] = layer.Options.Seed + 1;
        return (RecurrentLayer)LayerRegistry.Create(LayerConfig.From(layer.GetType().Name, config));
    }
}
