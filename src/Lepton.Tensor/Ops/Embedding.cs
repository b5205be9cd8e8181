// Embedding lookup: rows of a [V, D] weight picked by int32 indices of any shape.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Looks up rows of <paramref name="weight"/> [V, D]: the result has shape indices.Shape + [D].</summary>
    /// <param name="indices">Int32 or int64 row indices of any shape, each in [0, V).</param>
    /// <param name="weight">The table [V, D].</param>
    /// <example><code>var vectors = Tensor.Embedding(tokenIds, table);</code></example>
    public static Tensor Embedding(Tensor indices, Tensor weight)
    {
        if (weight.DType.IsHalf())
        {
            return Narrowed(Embedding(indices, weight.Widened), weight.DType);
        }

        weight.CheckFloat("Embedding");
        if (weight.Rank != 2)
        {
            throw new ArgumentException($"Embedding: weight must be [V, D], got {Shapes.Format(weight.shape)}.");
        }

        var outShape = new int[indices.Rank + 1];
        indices.shape.CopyTo(outShape, 0);
        outShape[^1] = weight.shape[1];
        if (!Shapes.IsValidSize(outShape))
        {
            throw Shapes.SizeError("Embedding", outShape, $" (indices {Shapes.Format(indices.shape)} into weight {Shapes.Format(weight.shape)})");
        }

        return weight.IndexSelect(0, indices.Reshape(-1), "Embedding", negativeFromEnd: false).Reshape(outShape);
    }
}
