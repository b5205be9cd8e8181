// Layers that only apply a function: Activation (by name), ReLU and Softmax.
namespace Lepton.Nn.Layers;

/// <summary>Applies a named activation function.</summary>
/// <example><code>var act = new Activation("tanh");</code></example>
public class Activation : Layer
{
    private readonly Func<Tensor, Tensor> function;

    /// <summary>Creates the layer.</summary>
    public Activation(string activation, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        ActivationName = activation;
        function = Activations.Get(activation);
        BuildIfDeclared();
    }

    /// <summary>The activation's name.</summary>
    public string ActivationName { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["activation"] = ActivationName;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => function(input);
}

/// <summary>max(x, 0), or a leaky variant with <see cref="NegativeSlope"/>.</summary>
/// <example><code>var relu = new ReLU();</code></example>
public sealed class ReLU : Layer
{
    /// <summary>Creates the layer.</summary>
    public ReLU(float negativeSlope = 0f, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (!float.IsFinite(negativeSlope))
        {
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, $"{Name} (ReLU): negativeSlope must be finite.");
        }

        NegativeSlope = negativeSlope;
        BuildIfDeclared();
    }

    /// <summary>Slope for negative inputs.</summary>
    public float NegativeSlope { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["negative_slope"] = NegativeSlope;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) =>
        NegativeSlope == 0f ? input.Relu() : input.LeakyRelu(NegativeSlope);
}

/// <summary>Softmax along an axis (the last by default).</summary>
/// <example><code>var probabilities = new Softmax();</code></example>
public sealed class Softmax : Layer
{
    /// <summary>Creates the layer.</summary>
    public Softmax(int axis = -1, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        Axis = axis;
        BuildIfDeclared();
    }

    /// <summary>The axis normalized over.</summary>
    public int Axis { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["axis"] = Axis;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input.Softmax(Axis);
}
