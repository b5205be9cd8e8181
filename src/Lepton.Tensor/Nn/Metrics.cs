// Keras's metrics: stateful accumulators updated every batch and read at the end of an epoch.
// "accuracy" picks sparse, categorical or binary accuracy from the target's shape and type.
namespace Lepton.Nn;

/// <summary>A quantity averaged over the batches of an epoch.</summary>
public abstract class Metric
{
    private double total;
    private double count;

    /// <summary>The name in logs and history, e.g. <c>accuracy</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Looks a metric up by its Keras name.</summary>
    /// <example><code>var m = Metric.FromName("accuracy");</code></example>
    public static Metric FromName(string name) => name.ToLowerInvariant() switch
    {
        "accuracy" or "acc" => new Accuracy(),
        "sparse_categorical_accuracy" => new SparseCategoricalAccuracy(),
        "categorical_accuracy" => new CategoricalAccuracy(),
        "top_k_categorical_accuracy" or "sparse_top_k_categorical_accuracy" => new TopKAccuracy(5),
        _ when System.Text.RegularExpressions.Regex.Match(name, "^top([0-9]+)_accuracy$") is { Success: true } m => new TopKAccuracy(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)),
        _ => throw new ArgumentException($"Unknown metric '{name}'; use accuracy, sparse_categorical_accuracy, categorical_accuracy or top_k_categorical_accuracy."),
    };

    /// <summary>The value so far.</summary>
    public double Result() => count == 0 ? 0 : total / count;

    /// <summary>Forgets all updates (called at the start of each epoch).</summary>
    public void Reset()
    {
        total = 0;
        count = 0;
    }

    /// <summary>Adds one batch.</summary>
    public void Update(Tensor target, Tensor prediction)
    {
        using (Tensor.NoGrad())
        {
            var (sum, n) = Measure(target, prediction);
            total += sum;
            count += n;
        }
    }

    /// <summary>Adds a value with a weight (used for the loss mean).</summary>
    internal void Add(double value, double weight)
    {
        total += value * weight;
        count += weight;
    }

    /// <summary>The batch's summed value and how many examples it covers.</summary>
    protected abstract (double Sum, double Count) Measure(Tensor target, Tensor prediction);

    /// <summary>Fraction of rows of int32 labels whose top-k predictions include the label.</summary>
    protected static (double, double) SparseTopK(Tensor labels, Tensor prediction, int k)
    {
        var l = labels.ToInt32Array();
        var p = prediction.Reshape(l.Length, -1).ToArray();
        int classes = p.Length / Math.Max(l.Length, 1);
        double hits = 0;
        for (int i = 0; i < l.Length; i++)
        {
            float truth = p[(i * classes) + l[i]];
            int better = 0;
            for (int j = 0; j < classes; j++)
            {
                float v = p[(i * classes) + j];
                if (v > truth || (v == truth && j < l[i]))
                {
                    better++;
                }
            }

            hits += better < k ? 1 : 0;
        }

        return (hits, l.Length);
    }
}

/// <summary>Keras's "accuracy": sparse, categorical or binary, chosen from the targets.</summary>
public sealed class Accuracy : Metric
{
    /// <inheritdoc />
    public override string Name => "accuracy";

    /// <inheritdoc />
    protected override (double Sum, double Count) Measure(Tensor target, Tensor prediction)
    {
        if (prediction.Rank >= 2 && prediction.ShapeRef[^1] > 1)
        {
            return target.DType == DType.Int32 || target.Numel * prediction.ShapeRef[^1] == prediction.Numel
                ? SparseTopK(target.DType == DType.Int32 ? target : Tensor.FromArray(target.ToInt32Array(), target.Shape, target.Device), prediction, 1)
                : SparseTopK(target.ArgMax(-1), prediction, 1);
        }

        var t = target.ToArray();
        var p = prediction.ToArray();
        double hits = 0;
        for (int i = 0; i < t.Length; i++)
        {
            hits += (p[i] > 0.5f ? 1f : 0f) == t[i] ? 1 : 0;
        }

        return (hits, t.Length);
    }
}

/// <summary>Accuracy with int32 class-index targets.</summary>
public sealed class SparseCategoricalAccuracy : Metric
{
    /// <inheritdoc />
    public override string Name => "sparse_categorical_accuracy";

    /// <inheritdoc />
    protected override (double Sum, double Count) Measure(Tensor target, Tensor prediction) => SparseTopK(target, prediction, 1);
}

/// <summary>Accuracy with one-hot targets.</summary>
public sealed class CategoricalAccuracy : Metric
{
    /// <inheritdoc />
    public override string Name => "categorical_accuracy";

    /// <inheritdoc />
    protected override (double Sum, double Count) Measure(Tensor target, Tensor prediction) => SparseTopK(target.ArgMax(-1), prediction, 1);
}

/// <summary>Whether the target is among the k highest predictions (int32 or one-hot targets).</summary>
public sealed class TopKAccuracy(int k = 5) : Metric
{
    /// <summary>How many top predictions count.</summary>
    public int K { get; } = k > 0 ? k : throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive.");

    /// <inheritdoc />
    public override string Name => $"top{K}_accuracy";

    /// <inheritdoc />
    protected override (double Sum, double Count) Measure(Tensor target, Tensor prediction) =>
        SparseTopK(target.DType == DType.Int32 ? target : target.ArgMax(-1), prediction, K);
}

/// <summary>The running mean of a scalar (the loss in logs).</summary>
public sealed class MeanMetric(string name) : Metric
{
    /// <inheritdoc />
    public override string Name => name;

    /// <inheritdoc />
    protected override (double Sum, double Count) Measure(Tensor target, Tensor prediction) => (prediction.Sum().Item(), prediction.Numel);
}
