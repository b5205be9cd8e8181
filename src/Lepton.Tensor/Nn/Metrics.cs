// Keras's metrics: stateful accumulators updated every batch and read at the end of an epoch.
// "accuracy" picks sparse, categorical or binary accuracy from the target's shape and type.
// Batches are measured and summed on the batch's device; the sum is read back only when a result is
// asked for, so a training step on a GPU never waits for the device.
using Lepton.Backends;

namespace Lepton.Nn;

/// <summary>A quantity averaged over the batches of an epoch.</summary>
public abstract class Metric
{
    private double total;
    private double count;
    private Tensor? pending;
    private Tensor? weighted;
    private bool pendingAdds;

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

    /// <summary>The value so far (reads the device-side sum back, if batches were added since the last read).</summary>
    public double Result()
    {
        if (pending is not null && pendingAdds)
        {
            // The device-side sum is read and zeroed, not freed: a captured step keeps adding into the same buffer.
            total += pending.Item();
            pending.Backend.Fill(pending.Buffer, 0, 1, 0f);
            pendingAdds = false;
        }

        return count == 0 ? 0 : total / count;
    }

    /// <summary>Forgets all updates (called at the start of each epoch).</summary>
    public void Reset()
    {
        if (pending is not null && pendingAdds)
        {
            pending.Backend.Fill(pending.Buffer, 0, 1, 0f);
        }

        pendingAdds = false;
        total = 0;
        count = 0;
    }

    /// <summary>The running total and count, with the device-side sum read in.</summary>
    internal (double Total, double Count) TakeState()
    {
        Result();
        return (total, count);
    }

    /// <summary>Replaces the running total and count (data-parallel training sets their sums over all ranks).</summary>
    internal void SetState(double newTotal, double newCount)
    {
        Result();
        (total, count) = (newTotal, newCount);
    }

    /// <summary>Adds one batch.</summary>
    public void Update(Tensor target, Tensor prediction)
    {
        using (Tensor.NoGrad())
        {
            var (sum, n) = MeasureOnDevice(target, prediction);
            AddPending(sum, 1f);
            Count(n);
        }
    }

    /// <summary>Adds a one-element tensor with a weight (used for the loss mean), without reading it back.</summary>
    internal void Add(Tensor value, double weight)
    {
        using (Tensor.NoGrad())
        {
            AddPending(value, (float)weight);
            Count(weight);
        }
    }

    /// <summary>Counts examples now and, in a captured step, at every replay.</summary>
    private void Count(double n)
    {
        count += n;
        pendingAdds = true;
        if (Capture.StepCapture.Recording)
        {
            RecordCount(n);
        }
    }

    private void RecordCount(double n) => Capture.StepCapture.RecordHost(Name, () =>
    {
        count += n;
        pendingAdds = true;
    });

    /// <summary>The batch's summed value as a one-element tensor on the batch's device, and how many examples it covers.</summary>
    /// <remarks>A metric that is easier to compute from host values derives from <see cref="HostMetric"/> instead.</remarks>
    protected abstract (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction);

    /// <summary>Rows of int32 labels whose top-k predictions include the label (ties go to the lower class index).</summary>
    protected static (Tensor Hits, double Count) SparseTopKOnDevice(Tensor labels, Tensor prediction, int k)
    {
        int rows = labels.Numel;
        var scores = prediction.Reshape(rows, -1);
        var column = labels.Reshape(rows, 1);
        if (k == 1)
        {
            return (scores.ArgMax(1, keepDim: true).Eq(column).Sum(), rows);
        }

        // A class beats the label when it scores higher, or equal with a lower index.
        var truth = scores.Gather(1, column);
        var classes = Tensor.Arange(scores.ShapeRef[1], DType.Int32, scores.Device);
        var better = ((scores > truth) + (scores.Eq(truth) * (classes < column))).Sum(1);
        return ((better < (float)k).Sum(), rows);
    }

    private void AddPending(Tensor value, float weight)
    {
        // Counts arrive as int64 sums; the running total is float32.
        using var converted = value.DType == DType.Float32 ? null : value.CastTo(DType.Float32);
        value = converted ?? value;
        if (pending is not null && pending.Device != value.Device)
        {
            // The model moved: what was summed on the old device joins the host total.
            Result();
            pending.Dispose();
            weighted?.Dispose();
            (pending, weighted) = (null, null);
        }

        if (!value.IsDense || value.Numel != 1)
        {
            var contribution = value.Reshape(1);
            if (pending is null)
            {
                pending = (contribution * weight).DetachFromScope();
            }
            else
            {
                pending.Add_(contribution, weight);
            }

            return;
        }

        // The products and the sum a multiplication by a scalar and Add_ compute, without their tensors. Both buffers are
        // made (and the sum zeroed) at the first update, so every later step runs the same calls on the same memory.
        var backend = value.Backend;
        using (Capture.StepCapture.Suppress())
        {
            pending ??= Tensor.Zeros([1], device: value.Device).DetachFromScope();
            weighted ??= Tensor.Empty([1], value.Device).DetachFromScope();
        }

        backend.Unary(new ScaleOp(weight), value.Buffer, weighted!.Buffer, 1);
        backend.Binary(default(AddOp), pending.View, weighted.View, pending.Buffer, pending.ShapeRef);
    }
}

/// <summary>A metric measured from host values: simpler to write, but each batch reads its values back from the device.</summary>
public abstract class HostMetric : Metric
{
    /// <summary>The batch's summed value and how many examples it covers.</summary>
    protected abstract (double Sum, double Count) Measure(Tensor target, Tensor prediction);

    /// <inheritdoc />
    protected sealed override (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction)
    {
        var (sum, n) = Measure(target, prediction);
        return (Tensor.Scalar((float)sum, prediction.Device), n);
    }
}

/// <summary>Keras's "accuracy": sparse, categorical or binary, chosen from the targets.</summary>
public sealed class Accuracy : Metric
{
    /// <inheritdoc />
    public override string Name => "accuracy";

    /// <inheritdoc />
    protected override (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction)
    {
        if (prediction.Rank >= 2 && prediction.ShapeRef[^1] > 1)
        {
            return target.DType.IsInteger() || target.Numel * prediction.ShapeRef[^1] == prediction.Numel
                ? SparseTopKOnDevice(target, prediction, 1)
                : SparseTopKOnDevice(target.ArgMax(-1), prediction, 1);
        }

        // Binary: the prediction is a probability, thresholded at 0.5.
        return ((prediction > 0.5f).Eq(target.Reshape(prediction.Shape)).Sum(), target.Numel);
    }
}

/// <summary>Accuracy with int32 class-index targets.</summary>
public sealed class SparseCategoricalAccuracy : Metric
{
    /// <inheritdoc />
    public override string Name => "sparse_categorical_accuracy";

    /// <inheritdoc />
    protected override (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction) => SparseTopKOnDevice(target, prediction, 1);
}

/// <summary>Accuracy with one-hot targets.</summary>
public sealed class CategoricalAccuracy : Metric
{
    /// <inheritdoc />
    public override string Name => "categorical_accuracy";

    /// <inheritdoc />
    protected override (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction) => SparseTopKOnDevice(target.ArgMax(-1), prediction, 1);
}

/// <summary>Whether the target is among the k highest predictions (int32 or one-hot targets).</summary>
public sealed class TopKAccuracy(int k = 5) : Metric
{
    /// <summary>How many top predictions count.</summary>
    public int K { get; } = k > 0 ? k : throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive.");

    /// <inheritdoc />
    public override string Name => $"top{K}_accuracy";

    /// <inheritdoc />
    protected override (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction) =>
        SparseTopKOnDevice(target.DType.IsInteger() ? target : target.ArgMax(-1), prediction, K);
}

/// <summary>The running mean of a scalar (the loss in logs).</summary>
public sealed class MeanMetric(string name) : Metric
{
    /// <inheritdoc />
    public override string Name => name;

    /// <inheritdoc />
    protected override (Tensor Sum, double Count) MeasureOnDevice(Tensor target, Tensor prediction) => (prediction.Sum(), prediction.Numel);
}
