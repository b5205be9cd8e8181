// Flattens each example to a vector: [N, d1, d2, ...] -> [N, d1*d2*...].
namespace Lepton.Nn.Layers;

/// <summary>Flattens all but the batch dimension.</summary>
/// <example><code>var flat = new Flatten();</code></example>
public sealed class Flatten : Layer
{
    /// <summary>Creates the layer.</summary>
    public Flatten(int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        BuildIfDeclared();
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input.Rank == 1 ? input.Reshape(-1, 1) : input.Flatten(1);
}
