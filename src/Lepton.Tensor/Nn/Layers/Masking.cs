// Keras's Masking layer: time steps whose features all equal maskValue are padding; they are zeroed
// and a [batch, time] mask goes to the layers after this one (see MaskFlow).
namespace Lepton.Nn.Layers;

/// <summary>Marks the steps of a [batch, time, features] sequence whose features all equal <see cref="MaskValue"/> as padding.</summary>
/// <example><code>var model = new Sequential([new Masking(0f, inputShape: [10, 3]), new LSTM(8), new Dense(1)]);</code></example>
public sealed class Masking : Layer, IMaskProducer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="maskValue">The value that marks a padded step (every feature of the step must equal it).</param>
    /// <param name="inputShape">Per-example input shape [time, features], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    public Masking(float maskValue = 0f, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        MaskValue = maskValue;
        BuildIfDeclared();
    }

    /// <summary>The padding value.</summary>
    public float MaskValue { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["mask_value"] = MaskValue;
        return config;
    }

    Tensor? IMaskProducer.ComputeMask(Tensor input)
    {
        using (Tensor.NoGrad())
        {
            return StepMask(input).Squeeze(-1);
        }
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3)
        {
            throw new ArgumentException($"{Name}: Masking needs inputs [batch, time, features], got {Shapes.Format(input.ShapeRef)}.");
        }

        Tensor keep;
        using (Tensor.NoGrad())
        {
            keep = StepMask(input);
        }

        return input * keep;
    }

    /// <summary>[batch, time, 1]: 1 where some feature differs from the mask value.</summary>
    private Tensor StepMask(Tensor input)
    {
        using var differs = input.Ne(Tensor.Full([], MaskValue, device: input.Device));
        using var any = differs.Max(-1, keepDim: true);
        return any.To(DType.Float32);
    }
}
