// Reshapes each example to a target shape (one dimension may be -1); the batch dimension stays.
namespace Lepton.Nn.Layers;

/// <summary>Reshapes each example.</summary>
/// <example><code>var toImage = new Reshape([1, 28, 28]);</code></example>
public sealed class Reshape : Layer
{
    /// <summary>Creates the layer for a per-example target shape.</summary>
    public Reshape(int[] targetShape, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (targetShape.Any(d => d < -1 || d == 0) || targetShape.Count(d => d == -1) > 1)
        {
            throw new ArgumentException($"{Name} (Reshape): targetShape {Shapes.Format(targetShape)} must hold positive sizes and at most one -1.", nameof(targetShape));
        }

        TargetShape = (int[])targetShape.Clone();
        BuildIfDeclared();
    }

    /// <summary>The per-example shape produced.</summary>
    public int[] TargetShape { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["target_shape"] = TargetShape;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input.Reshape([input.ShapeRef[0], .. TargetShape]);
}
