// Loss functions, composed from primitives: cross-entropy from logits (integer labels or
// one-hot/soft targets, optional label smoothing), NLL, MSE and binary cross-entropy with logits.
namespace Lepton;

/// <summary>How a loss combines per-example values.</summary>
public enum Reduction
{
    /// <summary>Average over examples (the default).</summary>
    Mean,

    /// <summary>Sum over examples.</summary>
    Sum,

    /// <summary>One value per example.</summary>
    None,
}

public sealed partial class Tensor
{
    /// <summary>
    /// Cross-entropy of <paramref name="logits"/> [N, C]: with an int32 <paramref name="target"/> [N] of class
    /// indices, or a float32 target [N, C] of probabilities (one-hot or soft).
    /// </summary>
    /// <example><code>var loss = Tensor.CrossEntropy(model(x), labels);</code></example>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, float labelSmoothing = 0f)
    {
        logits.CheckFloat("CrossEntropy");
        if (logits.Rank != 2)
        {
            throw new ArgumentException($"CrossEntropy: logits must be [N, C], got {Shapes.Format(logits.shape)}.");
        }

        if (labelSmoothing < 0f || labelSmoothing > 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropy: label smoothing must be in [0, 1].");
        }

        int classes = logits.shape[1];
        Tensor perExample;
        if (target.DType == DType.Int32)
        {
            perExample = FusedCrossEntropy(logits, target, labelSmoothing);
        }
        else
        {
            var logProbs = logits.LogSoftmax(1);
            if (!Shapes.SameShape(target.shape, logits.shape))
            {
                throw new ArgumentException($"CrossEntropy: probability targets {Shapes.Format(target.shape)} must match logits {Shapes.Format(logits.shape)}.");
            }

            var smoothed = labelSmoothing > 0f ? (target * (1f - labelSmoothing)) + (labelSmoothing / classes) : target;
            perExample = -(smoothed * logProbs).Sum(1);
        }

        return Reduce(perExample, reduction);
    }

    /// <summary>Negative log-likelihood of log-probabilities [N, C] at int32 class indices [N].</summary>
    /// <example><code>var loss = Tensor.NllLoss(logits.LogSoftmax(1), labels);</code></example>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, Reduction reduction = Reduction.Mean)
    {
        logProbs.CheckFloat("NllLoss");
        if (logProbs.Rank != 2 || target.Rank != 1 || target.shape[0] != logProbs.shape[0])
        {
            throw new ArgumentException(
                $"NllLoss: expected log-probabilities [N, C] and int32 labels [N], got {Shapes.Format(logProbs.shape)} and {Shapes.Format(target.shape)}.");
        }

        if (target.DType != DType.Int32)
        {
            throw new ArgumentException($"NllLoss: labels must be int32 class indices, got {target.DType.Name()}.");
        }

        var picked = -logProbs.Gather(1, target.Unsqueeze(1)).Squeeze(1);
        return Reduce(picked, reduction);
    }

    /// <summary>Mean squared error between two tensors of the same shape.</summary>
    /// <example><code>var loss = Tensor.MseLoss(prediction, target);</code></example>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckLossShapes("MseLoss", input, target);
        var diff = input - target;
        return Reduce(diff * diff, reduction);
    }

    /// <summary>Binary cross-entropy of logits against targets in [0, 1], computed stably (no sigmoid overflow).</summary>
    /// <example><code>var loss = Tensor.BinaryCrossEntropyWithLogits(scores, labels);</code></example>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean)
    {
        CheckLossShapes("BinaryCrossEntropyWithLogits", logits, target);

        // max(x, 0) - x * t + log(1 + e^-|x|) == softplus(x) - x * t
        return Reduce(logits.Softplus() - (logits * target), reduction);
    }

    /// <summary>Per-example cross-entropy from logits and class indices in one fused kernel (forward and backward).</summary>
    private static Tensor FusedCrossEntropy(Tensor logits, Tensor target, float labelSmoothing)
    {
        int rows = logits.shape[0], cols = logits.shape[1];
        if (target.Rank != 1 || target.shape[0] != rows)
        {
            throw new ArgumentException(
                $"CrossEntropy: expected logits [N, C] and int32 labels [N], got {Shapes.Format(logits.shape)} and {Shapes.Format(target.shape)}.");
        }

        CheckSameDevice("CrossEntropy", logits, target);
        CheckIndexRange("CrossEntropy", target, cols);
        var x = logits.DenseData();
        var labels = target.DenseData();
        var loss = Empty([rows], logits.Device);
        var probabilities = Empty([rows, cols], logits.Device);
        if (rows > 0 && cols > 0)
        {
            logits.Backend.SoftmaxCrossEntropy(x.Buffer, labels.Buffer, rows, cols, labelSmoothing, loss.Buffer, probabilities.Buffer);
        }

        return Record(loss, "CrossEntropyBackward", [logits], g =>
        {
            var gd = g.DenseData();
            var dx = Empty([rows, cols], g.Device);
            g.Backend.SoftmaxCrossEntropyBackward(probabilities.Buffer, labels.Buffer, gd.Buffer, rows, cols, labelSmoothing, dx.Buffer);
            return [dx];
        });
    }

    private static Tensor Reduce(Tensor perElement, Reduction reduction) => reduction switch
    {
        Reduction.Mean => perElement.Mean(),
        Reduction.Sum => perElement.Sum(),
        _ => perElement,
    };

    private static void CheckLossShapes(string op, Tensor input, Tensor target)
    {
        input.CheckFloat(op);
        target.CheckFloat(op);
        if (!Shapes.SameShape(input.shape, target.shape))
        {
            throw new ArgumentException($"{op}: input {Shapes.Format(input.shape)} and target {Shapes.Format(target.shape)} must have the same shape.");
        }
    }
}
