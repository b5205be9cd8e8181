// Keras's TimeDistributed wrapper: applies one layer to every time step of [batch, time, ...] inputs
// by folding time into the batch, so the wrapped layer runs once on [batch * time, ...].
namespace Lepton.Nn.Layers;

/// <summary>Applies a layer to each time step of a sequence, with the same weights at every step.</summary>
/// <example><code>var perStep = new TimeDistributed(new Dense(10, activation: "softmax"));</code></example>
public sealed class TimeDistributed : Layer
{
    /// <summary>Creates the wrapper.</summary>
    /// <param name="layer">The layer applied to every step.</param>
    /// <param name="inputShape">Per-example input shape [time, ...], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    public TimeDistributed(Layer layer, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        Layer = layer;
        BuildIfDeclared();
    }

    /// <summary>The wrapped layer.</summary>
    public Layer Layer { get; }

    /// <inheritdoc />
    public override IEnumerable<Layer> Sublayers => [Layer];

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["layer"] = LayerConfig.Nested(Layer);
        return config;
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        if (inputShape.Length < 2)
        {
            throw new ArgumentException($"{Name}: TimeDistributed needs inputs [batch, time, ...], got per-example shape {Shapes.Format(inputShape)}.");
        }

        Layer.EnsureBuilt([inputShape[1..]], BuildInputTypes is { Count: > 0 } types ? [types[0]] : null);
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank < 3)
        {
            throw new ArgumentException($"{Name}: TimeDistributed needs inputs [batch, time, ...], got {Shapes.Format(input.ShapeRef)}.");
        }

        int batch = input.ShapeRef[0], time = input.ShapeRef[1];
        var folded = Layer.Call(input.Reshape([batch * time, .. input.ShapeRef[2..]]), training);
        return folded.Reshape([batch, time, .. folded.ShapeRef[1..]]);
    }
}
