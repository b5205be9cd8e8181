// Clamps every value into [min, max] (ReLU6 is Clip(0, 6)); ONNX's Clip imports to this layer.
namespace Lepton.Nn.Layers;

/// <summary>Clamps values into [<see cref="Min"/>, <see cref="Max"/>]; either bound may be absent.</summary>
/// <example><code>var relu6 = new Clip(0f, 6f);</code></example>
public sealed class Clip : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="min">The lower bound, or null for none.</param>
    /// <param name="max">The upper bound, or null for none.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    public Clip(float? min, float? max, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (min is { } lo && max is { } hi && !(lo <= hi))
        {
            throw new ArgumentException($"{Name} (Clip): min {lo} must not exceed max {hi}.");
        }

        Min = min;
        Max = max;
        BuildIfDeclared();
    }

    /// <summary>The lower bound, or null.</summary>
    public float? Min { get; }

    /// <summary>The upper bound, or null.</summary>
    public float? Max { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["min"] = Min;
        config["max"] = Max;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input.Clamp(Min, Max);
}
