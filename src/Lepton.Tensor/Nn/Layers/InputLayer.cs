// Declares the per-example input shape of a Sequential model, so it is built (and Summary works)
// before any data is seen, like Keras's Input in a Sequential list.
namespace Lepton.Nn.Layers;

/// <summary>Fixes the input shape; passes inputs through unchanged.</summary>
/// <example><code>var model = new Sequential([new InputLayer([1, 28, 28]), new Flatten(), new Dense(10)]);</code></example>
public sealed class InputLayer : Layer
{
    /// <summary>Creates the layer for examples of <paramref name="shape"/>.</summary>
    public InputLayer(int[] shape, DType dtype = DType.Float32, string? name = null)
        : base(name, shape)
    {
        InputDType = dtype;
        BuildIfDeclared();
    }

    /// <summary>The element type of the input.</summary>
    public DType InputDType { get; }

    internal override DType DeclaredInputType => InputDType;

    /// <summary>The declared per-example shape.</summary>
    public int[] Shape => DeclaredInputShape!;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["shape"] = Shape;
        config["dtype"] = InputDType.Name();
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input;
}
