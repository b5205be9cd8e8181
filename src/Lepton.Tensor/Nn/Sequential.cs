// A plain stack of layers, each feeding the next. Shapes are inferred on first use, or right away
// when the first layer declares its input shape (an InputLayer or inputShape: on any layer).
namespace Lepton.Nn;

/// <summary>A linear stack of layers.</summary>
/// <example><code>
/// var model = new Sequential([
///     new InputLayer([1, 28, 28]),
///     new Conv2D(32, 3, activation: "relu"),
///     new MaxPooling2D(2),
///     new Flatten(),
///     new Dense(10, activation: "softmax"),
/// ]);
/// </code></example>
public class Sequential : Model
{
    private readonly List<Layer> layers = [];

    /// <summary>Creates the model from layers (more can be added with <see cref="Add"/>).</summary>
    public Sequential(IEnumerable<Layer>? layers = null, string? name = null)
        : base(name ?? UniqueName("sequential"))
    {
        foreach (var layer in layers ?? [])
        {
            Add(layer);
        }
    }

    /// <inheritdoc />
    public override IReadOnlyList<Layer> Layers => layers;

    /// <summary>Appends a layer; if the input shape is known, the layer is built now.</summary>
    /// <example><code>model.Add(new Dense(10));</code></example>
    public void Add(Layer layer)
    {
        if (Built)
        {
            throw new InvalidOperationException($"{Name}: layers cannot be added after the model has been built; create a new Sequential.");
        }

        layers.Add(layer);
        var shape = layers[0].DeclaredInputShape;
        if (shape is not null)
        {
            Propagate(shape);
        }
    }

    internal override DType DeclaredInputType => layers.Count > 0 ? layers[0].DeclaredInputType : DType.Float32;

    /// <summary>The per-example input shape, if declared.</summary>
    public int[]? DeclaredShape => layers.Count > 0 ? layers[0].DeclaredInputShape : null;

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        if (layers.Count == 0)
        {
            throw new InvalidOperationException($"{Name}: a Sequential model needs at least one layer.");
        }

        Propagate(inputShapes[0], BuildInputTypes?[0]);
    }

    /// <summary>Builds the layers in order, each from the shape and type the previous one produces.</summary>
    private void Propagate(int[] inputShape, DType? inputType = null)
    {
        var shape = inputShape;
        var dtype = inputType ?? layers[0].DeclaredInputType;
        foreach (var layer in layers)
        {
            layer.EnsureBuilt([shape]);
            (shape, dtype) = layer.InferOutput([shape], [dtype]);
            layer.OutputShape ??= shape;
        }
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var x = input;
        Tensor? mask = null;
        foreach (var layer in layers)
        {
            // A padding mask (Embedding with maskZero, Masking) goes on to the layers after it; see MaskFlow.
            x = MaskFlow.Call(layer, [x], mask, training, out mask);
        }

        return x;
    }
}
