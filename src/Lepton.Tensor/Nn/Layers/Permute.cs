// Reorders the dimensions of each example (Keras's Permute); the batch dimension stays first.
namespace Lepton.Nn.Layers;

/// <summary>Permutes the dimensions of each example; <see cref="Dims"/> counts from 1, as in Keras.</summary>
/// <example><code>var channelsLast = new Permute([2, 3, 1]); // [N, C, H, W] -> [N, H, W, C]</code></example>
public sealed class Permute : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dims">A permutation of 1..rank of the example: output dimension i is input dimension dims[i].</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    public Permute(int[] dims, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (!dims.Order().SequenceEqual(Enumerable.Range(1, dims.Length)))
        {
            throw new ArgumentException($"{Name} (Permute): dims {Shapes.Format(dims)} must be a permutation of 1..{dims.Length}.", nameof(dims));
        }

        Dims = (int[])dims.Clone();
        BuildIfDeclared();
    }

    /// <summary>The permutation of the example's dimensions (from 1).</summary>
    public int[] Dims { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["dims"] = Dims;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != Dims.Length + 1)
        {
            throw new ArgumentException($"{Name} (Permute): dims {Shapes.Format(Dims)} need examples of rank {Dims.Length}, got a batch of shape {Shapes.Format(input.ShapeRef)}.");
        }

        return input.Permute([0, .. Dims]);
    }
}
