// Drops steps at the start and the end of [batch, steps, features] sequences (Keras's Cropping1D). Picking
// one time step (PyTorch's y[:, -1]) imports as this layer and a Reshape.
namespace Lepton.Nn.Layers;

/// <summary>Removes steps from the start and the end of each sequence [steps, features].</summary>
/// <example><code>var last = new Cropping1D((steps - 1, 0)).Apply(sequence); // the last step, shape [1, features]</code></example>
public sealed class Cropping1D : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="cropping">Steps removed at the start and at the end.</param>
    /// <param name="name">The layer's name.</param>
    public Cropping1D((int Start, int End) cropping, string? name = null)
        : base(name)
    {
        if (cropping.Start < 0 || cropping.End < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cropping), cropping, $"{Name} (Cropping1D): cropping must not be negative.");
        }

        Cropping = cropping;
    }

    /// <summary>Steps removed at the start and at the end.</summary>
    public (int Start, int End) Cropping { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["cropping"] = new[] { Cropping.Start, Cropping.End };
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        int steps = input.Rank == 3 ? input.ShapeRef[1] : throw new ArgumentException($"{Name} (Cropping1D): needs sequences [N, steps, features], got {Shapes.Format(input.ShapeRef)}.");
        int kept = steps - Cropping.Start - Cropping.End;
        return kept > 0
            ? input.Narrow(1, Cropping.Start, kept)
            : throw new ArgumentException($"{Name} (Cropping1D): cropping {Cropping} leaves nothing of {steps} steps.");
    }
}
