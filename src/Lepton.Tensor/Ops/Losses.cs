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
    /// <param name="logits">Unnormalized scores [N, C].</param>
    /// <param name="target">Int32 class indices [N], each a whole number in [0, C); or float32 probabilities [N, C].</param>
    /// <param name="reduction">How the per-example losses are combined.</param>
    /// <param name="labelSmoothing">Mass moved from the target to a uniform distribution, in [0, 1).</param>
    /// <example><code>var loss = Tensor.CrossEntropy(model(x), labels);</code></example>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, float labelSmoothing = 0f) =>
        CrossEntropy(logits, target, reduction, labelSmoothing, "CrossEntropy", labels: false);

    /// <summary>Cross-entropy with errors naming <paramref name="op"/>, calling class indices labels when <paramref name="labels"/>.</summary>
    internal static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction, float labelSmoothing, string op, bool labels)
    {
        logits.CheckFloat(op);
        if (logits.Rank != 2)
        {
            throw new ArgumentException($"{op}: logits must be [N, C], got {Shapes.Format(logits.shape)}.");
        }

        CheckLabelSmoothing(op, labelSmoothing);
        int classes = logits.shape[1];
        Tensor perExample;
        if (target.DType is DType.Int32 or DType.Int64)
        {
            perExample = FusedCrossEntropy(logits, target, labelSmoothing, op, labels);
        }
        else
        {
            var logProbs = logits.LogSoftmax(1);
            if (!Shapes.SameShape(target.shape, logits.shape))
            {
                throw new ArgumentException($"{op}: probability targets {Shapes.Format(target.shape)} must match logits {Shapes.Format(logits.shape)}.");
            }

            var smoothed = labelSmoothing > 0f ? (target * (1f - labelSmoothing)) + (labelSmoothing / classes) : target;
            perExample = -(smoothed * logProbs).Sum(1);
        }

        return Reduce(perExample, reduction);
    }

    /// <summary>Negative log-likelihood of log-probabilities [N, C] at int32 class indices [N].</summary>
    /// <param name="logProbs">Log-probabilities [N, C].</param>
    /// <param name="target">Int32 class indices [N], each a whole number in [0, C).</param>
    /// <param name="reduction">How the per-example losses are combined.</param>
    /// <example><code>var loss = Tensor.NllLoss(logits.LogSoftmax(1), labels);</code></example>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, Reduction reduction = Reduction.Mean) =>
        NllLoss(logProbs, target, reduction, "NllLoss", labels: false);

    /// <summary>NllLoss with errors naming <paramref name="op"/>, calling class indices labels when <paramref name="labels"/>.</summary>
    internal static Tensor NllLoss(Tensor logProbs, Tensor target, Reduction reduction, string op, bool labels)
    {
        logProbs.CheckFloat(op);
        if (logProbs.Rank != 2 || target.Rank != 1 || target.shape[0] != logProbs.shape[0])
        {
            throw new ArgumentException(
                $"{op}: expected log-probabilities [N, C] and int32 labels [N], got {Shapes.Format(logProbs.shape)} and {Shapes.Format(target.shape)}.");
        }

        if (target.DType is not (DType.Int32 or DType.Int64))
        {
            throw new ArgumentException($"{op}: labels must be int32 or int64 class indices, got {target.DType.Name()} {Shapes.Format(target.shape)}.");
        }

        var picked = -logProbs.Gather(1, target.Unsqueeze(1), op, labels, negativeFromEnd: false).Squeeze(1);
        return Reduce(picked, reduction);
    }

    /// <summary>Returns <paramref name="labelSmoothing"/> if it is in [0, 1) (NaN is not), else throws naming <paramref name="owner"/>.</summary>
    internal static float CheckLabelSmoothing(string owner, float labelSmoothing) => labelSmoothing is >= 0f and < 1f
        ? labelSmoothing
        : throw new ArgumentOutOfRangeException(
            nameof(labelSmoothing), labelSmoothing, $"{owner}: labelSmoothing must be in [0, 1), got {labelSmoothing.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");

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
    private static Tensor FusedCrossEntropy(Tensor logits, Tensor target, float labelSmoothing, string op, bool labels)
    {
        int rows = logits.shape[0], cols = logits.shape[1];
        if (target.Rank != 1 || target.shape[0] != rows)
        {
            throw new ArgumentException(
                $"{op}: expected logits [N, C] and int32 labels [N], got {Shapes.Format(logits.shape)} and {Shapes.Format(target.shape)}.");
        }

        CheckSameDevice(op, logits, target);
        CheckIndexValues(op, target, cols, labels);
        var x = logits.DenseData();
        var classIndices = IndexBuffer(target);
        var loss = Empty([rows], logits.Device);
        var probabilities = Empty([rows, cols], logits.Device);
        if (rows > 0 && cols > 0)
        {
            logits.Backend.SoftmaxCrossEntropy(x.Buffer, classIndices.Buffer, rows, cols, labelSmoothing, loss.Buffer, probabilities.Buffer);
        }

        return Record(loss, "CrossEntropyBackward", [logits], g =>
        {
            var gd = g.DenseData();
            var dx = Empty([rows, cols], g.Device);
            g.Backend.SoftmaxCrossEntropyBackward(probabilities.Buffer, classIndices.Buffer, gd.Buffer, rows, cols, labelSmoothing, dx.Buffer);
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
