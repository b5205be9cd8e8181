// Keras's losses as objects for Compile: each turns (targets, predictions) into a scalar mean
// over the batch. fromLogits selects whether predictions are logits or probabilities.
namespace Lepton.Nn;

/// <summary>A training objective: a scalar from targets and predictions.</summary>
public abstract class Loss
{
    /// <summary>The Keras name, e.g. <c>sparse_categorical_crossentropy</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Looks a loss up by its Keras name (probabilities, not logits, as in Keras's string form).</summary>
    /// <example><code>var loss = Loss.FromName("mse");</code></example>
    public static Loss FromName(string name) => name.ToLowerInvariant() switch
    {
        "sparse_categorical_crossentropy" => new SparseCategoricalCrossentropy(),
        "categorical_crossentropy" => new CategoricalCrossentropy(),
        "binary_crossentropy" => new BinaryCrossentropy(),
        "mean_squared_error" or "mse" => new MeanSquaredError(),
        "kl_divergence" or "kld" => new KLDivergence(),
        _ => throw new ArgumentException(
            $"Unknown loss '{name}'; use sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy, mean_squared_error or kl_divergence."),
    };

    /// <summary>The mean loss over the batch.</summary>
    /// <param name="target">The labels or targets, batch first.</param>
    /// <param name="prediction">The model's outputs, batch first.</param>
    public abstract Tensor Compute(Tensor target, Tensor prediction);

    /// <summary>
    /// Throws unless targets of shape <paramref name="target"/> can be this loss's targets for predictions of shape
    /// <paramref name="prediction"/> (null before the forward pass: only what the targets alone show is checked). The
    /// error names the loss and both shapes. By default: as many examples, and as many values per example, as predicted.
    /// </summary>
    internal virtual void CheckTargetShape(int[] target, int[]? prediction)
    {
        if (prediction is not null && (target.Length == 0 || prediction.Length == 0 || target[0] != prediction[0] ||
            Shapes.Numel(target) != Shapes.Numel(prediction)))
        {
            throw new ArgumentException(
                $"{GetType().Name}: targets {Shapes.Format(target)} do not fit predictions {Shapes.Format(prediction)}; expected the same shape.");
        }
    }

    /// <summary>Constructor arguments for saving.</summary>
    public virtual Dictionary<string, object?> GetConfig() => new() { ["name"] = Name };

    /// <summary>Rebuilds a loss from its saved configuration.</summary>
    internal static Loss FromConfig(IReadOnlyDictionary<string, object?> config)
    {
        bool logits = config.TryGetValue("from_logits", out var l) && Convert.ToBoolean(l);
        float smoothing = config.TryGetValue("label_smoothing", out var s) && s is not null ? Convert.ToSingle(s) : 0f;
        return (string)config["name"]! switch
        {
            "sparse_categorical_crossentropy" => new SparseCategoricalCrossentropy(logits, smoothing),
            "categorical_crossentropy" => new CategoricalCrossentropy(logits, smoothing),
            "binary_crossentropy" => new BinaryCrossentropy(logits),
            var name => FromName(name),
        };
    }

    /// <summary>log of probabilities clipped away from 0 (Keras clips to [1e-7, 1 - 1e-7]).</summary>
    internal static Tensor SafeLog(Tensor probabilities) => probabilities.Clamp(1e-7f, 1f - 1e-7f).Log();
}

/// <summary>Cross-entropy with int32 class indices as targets: labels [N] for predictions [N, C], or [N, T] for a sequence's [N, T, C].</summary>
/// <example><code>model.Compile(new Adam(), new SparseCategoricalCrossentropy(fromLogits: true));</code></example>
/// <param name="fromLogits">True when predictions are logits (else probabilities).</param>
/// <param name="labelSmoothing">Mass moved from the true class to a uniform distribution, in [0, 1).</param>
public sealed class SparseCategoricalCrossentropy(bool fromLogits = false, float labelSmoothing = 0f) : Loss
{
    /// <summary>True when predictions are logits.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <summary>Mass moved from the true class to a uniform distribution.</summary>
    public float LabelSmoothing { get; } = Tensor.CheckLabelSmoothing(nameof(SparseCategoricalCrossentropy), labelSmoothing);

    /// <inheritdoc />
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc />
    public override Tensor Compute(Tensor target, Tensor prediction)
    {
        var labels = target.DType is DType.Int32 or DType.Int64 ? target : throw new ArgumentException(
            $"{Name}: targets must be int32 or int64 class indices, got {target.DType.Name()} {Shapes.Format(target.ShapeRef)}; use CategoricalCrossentropy for one-hot targets.");
        CheckTargetShape(target.ShapeRef, prediction.ShapeRef);
        labels = labels.Reshape(-1);
        prediction = prediction.Rank == 2 ? prediction : prediction.Reshape(-1, prediction.ShapeRef[^1]);
        const string Op = nameof(SparseCategoricalCrossentropy);
        if (FromLogits)
        {
            return Tensor.CrossEntropy(prediction, labels, Reduction.Mean, LabelSmoothing, Op, labels: true);
        }

        var logProbs = SafeLog(prediction);
        var nll = Tensor.NllLoss(logProbs, labels, Reduction.None, Op, labels: true);
        return LabelSmoothing > 0f ? ((nll * (1f - LabelSmoothing)) - (logProbs.Mean(1) * LabelSmoothing)).Mean() : nll.Mean();
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new() { ["name"] = Name, ["from_logits"] = FromLogits, ["label_smoothing"] = LabelSmoothing };

    /// <summary>
    /// Class indices [N, ...] or [N, ..., 1] for predictions [N, ..., C]: a sequence's [N, T, C] logits take [N, T] labels and
    /// the loss is the mean over every position (Keras's rule). Before the forward pass any labels with a batch axis pass.
    /// </summary>
    internal override void CheckTargetShape(int[] target, int[]? prediction)
    {
        if (prediction is null)
        {
            return;
        }

        int[] positions = prediction.Length >= 2 ? prediction[..^1] : [];
        bool fits = positions.Length > 0 && (Shapes.SameShape(target, positions) || Shapes.SameShape(target, [.. positions, 1]));
        if (!fits)
        {
            string expected = positions.Length > 0 ? $"{Shapes.Format(positions)} or {Shapes.Format([.. positions, 1])}" : "[N] or [N, 1]";
            throw new ArgumentException(
                $"{nameof(SparseCategoricalCrossentropy)}: labels {Shapes.Format(target)} do not fit predictions {Shapes.Format(prediction)}; " +
                $"expected class indices {expected} for predictions [..., classes] (use CategoricalCrossentropy for one-hot labels).");
        }
    }
}

/// <summary>Cross-entropy with one-hot (or soft) probability targets.</summary>
/// <example><code>var loss = new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1f);</code></example>
/// <param name="fromLogits">True when predictions are logits (else probabilities).</param>
/// <param name="labelSmoothing">Mass moved from the targets to a uniform distribution, in [0, 1).</param>
public sealed class CategoricalCrossentropy(bool fromLogits = false, float labelSmoothing = 0f) : Loss
{
    /// <summary>True when predictions are logits.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <summary>Mass moved from the targets to a uniform distribution.</summary>
    public float LabelSmoothing { get; } = Tensor.CheckLabelSmoothing(nameof(CategoricalCrossentropy), labelSmoothing);

    /// <inheritdoc />
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc />
    public override Tensor Compute(Tensor target, Tensor prediction)
    {
        CheckTargetShape(target.ShapeRef, prediction.ShapeRef);
        target = target.DType == DType.Float32 ? target : target * 1f;
        if (FromLogits)
        {
            return Tensor.CrossEntropy(prediction, target, Reduction.Mean, LabelSmoothing, nameof(CategoricalCrossentropy), labels: false);
        }

        int classes = prediction.ShapeRef[^1];
        var smoothed = LabelSmoothing > 0f ? (target * (1f - LabelSmoothing)) + (LabelSmoothing / classes) : target;
        return (-(smoothed * SafeLog(prediction)).Sum(-1)).Mean();
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new() { ["name"] = Name, ["from_logits"] = FromLogits, ["label_smoothing"] = LabelSmoothing };

    /// <summary>One-hot (or soft) targets of the predictions' shape [N, classes].</summary>
    internal override void CheckTargetShape(int[] target, int[]? prediction)
    {
        if (prediction is not null && !Shapes.SameShape(target, prediction))
        {
            throw new ArgumentException(
                $"{nameof(CategoricalCrossentropy)}: targets {Shapes.Format(target)} do not fit predictions {Shapes.Format(prediction)}; " +
                "expected one-hot targets of the same shape (use SparseCategoricalCrossentropy for class indices).");
        }
    }
}

/// <summary>Binary cross-entropy for targets in [0, 1].</summary>
/// <example><code>var loss = new BinaryCrossentropy(fromLogits: true);</code></example>
public sealed class BinaryCrossentropy(bool fromLogits = false) : Loss
{
    /// <summary>True when predictions are logits.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc />
    public override string Name => "binary_crossentropy";

    /// <inheritdoc />
    public override Tensor Compute(Tensor target, Tensor prediction)
    {
        CheckTargetShape(target.ShapeRef, prediction.ShapeRef);
        var t = target.DType == DType.Float32 ? target : target * 1f;
        t = Shapes.SameShape(t.ShapeRef, prediction.ShapeRef) ? t : t.Reshape(prediction.Shape);
        if (FromLogits)
        {
            return Tensor.BinaryCrossEntropyWithLogits(prediction, t);
        }

        return (-((t * SafeLog(prediction)) + ((1f - t) * SafeLog(1f - prediction)))).Mean();
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new() { ["name"] = Name, ["from_logits"] = FromLogits };
}

/// <summary>Mean squared error.</summary>
/// <example><code>model.Compile(new Sgd(0.01f), new MeanSquaredError());</code></example>
public sealed class MeanSquaredError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_error";

    /// <inheritdoc />
    public override Tensor Compute(Tensor target, Tensor prediction)
    {
        CheckTargetShape(target.ShapeRef, prediction.ShapeRef);
        var t = Shapes.SameShape(target.ShapeRef, prediction.ShapeRef) ? target : target.Reshape(prediction.Shape);
        return Tensor.MseLoss(prediction, t);
    }
}

/// <summary>
/// Kullback-Leibler divergence of the predicted distribution from the target one, as Keras's <c>kl_divergence</c>: the sum
/// over the last axis of t * (log t - log p), averaged over the other axes, with both clipped to [1e-7, 1] first.
/// Both are probabilities (e.g. softmax outputs) of the same shape.
/// </summary>
/// <example><code>var loss = new KLDivergence().Compute(teacherLogits.Softmax(-1), studentLogits.Softmax(-1));</code></example>
public sealed class KLDivergence : Loss
{
    private const float Epsilon = 1e-7f;

    /// <inheritdoc />
    public override string Name => "kl_divergence";

    /// <inheritdoc />
    public override Tensor Compute(Tensor target, Tensor prediction)
    {
        CheckTargetShape(target.ShapeRef, prediction.ShapeRef);
        var t = (target.DType == DType.Float32 ? target : target * 1f).Clamp(Epsilon, 1f);
        var p = prediction.Clamp(Epsilon, 1f);
        return (t * (t.Log() - p.Log())).Sum(-1).Mean();
    }

    /// <summary>Target distributions of the predictions' shape.</summary>
    internal override void CheckTargetShape(int[] target, int[]? prediction)
    {
        if (prediction is not null && (prediction.Length == 0 || !Shapes.SameShape(target, prediction)))
        {
            throw new ArgumentException(
                $"{nameof(KLDivergence)}: targets {Shapes.Format(target)} do not fit predictions {Shapes.Format(prediction)}; " +
                "expected probability distributions of the same shape, batch first.");
        }
    }
}
