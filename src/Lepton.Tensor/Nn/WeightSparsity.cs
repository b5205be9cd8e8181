// One row of a pruning report: how many of a weight's values are zero.
namespace Lepton.Nn;

/// <summary>The zeros of one weight, a row of <see cref="PruningReport"/>.</summary>
/// <param name="Layer">The layer's name.</param>
/// <param name="Weight">The weight's name, e.g. <c>dense_1/kernel</c>.</param>
/// <param name="Count">How many values the weight has.</param>
/// <param name="Zeros">How many of them are exactly 0.</param>
/// <example><code>foreach (var row in Pruning.Report(model).Rows) { Console.WriteLine($"{row.Layer}: {row.Sparsity:P1}"); }</code></example>
public sealed record WeightSparsity(string Layer, string Weight, long Count, long Zeros)
{
    /// <summary>The fraction of zeros (0 for an empty weight).</summary>
    public double Sparsity => Count == 0 ? 0 : (double)Zeros / Count;
}
