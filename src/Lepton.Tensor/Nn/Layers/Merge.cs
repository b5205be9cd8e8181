// Merge layers for functional graphs: Add (element-wise sum, e.g. residual connections) and
// Concatenate (along an axis of the example, channels by default for channels-first images).
namespace Lepton.Nn.Layers;

/// <summary>Sums its inputs element-wise (shapes must match).</summary>
/// <example><code>var merged = new Add().Apply(x, shortcut);</code></example>
public sealed class Add : Layer
{
    /// <summary>Creates the layer.</summary>
    public Add(string? name = null)
        : base(name)
    {
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        if (inputs.Count < 2)
        {
            throw new ArgumentException($"{Name}: Add needs at least two inputs, got {inputs.Count}.");
        }

        var sum = inputs[0];
        for (int i = 1; i < inputs.Count; i++)
        {
            if (!Shapes.SameShape(inputs[i].ShapeRef, inputs[0].ShapeRef))
            {
                throw new ArgumentException($"{Name}: Add needs inputs of one shape, got {Shapes.Format(inputs[0].ShapeRef)} and {Shapes.Format(inputs[i].ShapeRef)}.");
            }

            sum += inputs[i];
        }

        return sum;
    }
}

/// <summary>Joins its inputs along an axis counted with the batch dimension, as in Keras (1 = channels for channels-first images).</summary>
/// <example><code>var both = new Concatenate().Apply(a, b);</code></example>
public sealed class Concatenate : Layer
{
    /// <summary>Creates the layer; <paramref name="axis"/> counts from the batch dimension like Keras (1 = channels for channels-first).</summary>
    public Concatenate(int axis = 1, string? name = null)
        : base(name)
    {
        Axis = axis;
    }

    /// <summary>The axis joined along (Keras convention: includes the batch dimension).</summary>
    public int Axis { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["axis"] = Axis;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        if (Axis == 0)
        {
            throw new ArgumentException($"{Name}: Concatenate cannot join along the batch axis.");
        }

        return Tensor.Concat([.. inputs], Axis);
    }
}
