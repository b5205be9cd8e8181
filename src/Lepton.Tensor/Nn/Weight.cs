// A named variable of a layer: a leaf tensor that the layer owns, trainable or not (batch-norm
// running statistics are not). Assigning replaces the values in place, keeping the same tensor.
using Lepton.Backends;

namespace Lepton.Nn;

/// <summary>A named, layer-owned tensor (Keras's variable).</summary>
public sealed class Weight : IDisposable
{
    internal Weight(string name, Tensor value, bool trainable)
    {
        Name = name;
        Value = value.DetachFromScope();
        Trainable = trainable;
        Value.RequiresGrad = trainable;
    }

    /// <summary>The weight's path, e.g. <c>dense_1/kernel</c>.</summary>
    public string Name { get; internal set; }

    /// <summary>The values.</summary>
    public Tensor Value { get; private set; }

    /// <summary>True when optimizers update it (also requires its layer to be trainable).</summary>
    public bool Trainable { get; }

    /// <summary>The shape.</summary>
    public int[] Shape => Value.Shape;

    /// <summary>
    /// The factor the optimizer multiplies its learning rate by for this weight (1 by default); set through
    /// <see cref="Layer.LearningRateMultiplier"/>.
    /// </summary>
    public float LearningRateMultiplier { get; internal set; } = 1f;

    /// <summary>
    /// The pruning mask (1 keeps a value, 0 prunes it; the weight's shape and type), or null when the weight is not
    /// pruned. Set by <see cref="Pruning"/>; every optimizer step ends with <see cref="ApplyPruningMask"/>.
    /// </summary>
    internal Tensor? PruningMask { get; set; }

    /// <summary>
    /// Counts writes of the values through the library (optimizer steps, replayed ones included, <see cref="Assign"/>,
    /// loading, pruning), so copies made from them (a sparse kernel for inference) know when to refresh.
    /// </summary>
    internal long Version { get; private set; }

    /// <summary>The sparse copy of this kernel that inference multiplies with, made on first use.</summary>
    internal SparseKernel? Sparse { get; set; }

    private Action? countWrite;

    /// <summary>Counts a write of the values now and, while a step is captured, at every replay of it.</summary>
    internal void MarkWritten()
    {
        Version++;
        Capture.StepCapture.RecordHost("weight written", countWrite ??= () => Version++);
    }

    /// <summary>Multiplies the values by the pruning mask in place (nothing when there is none); allocates nothing.</summary>
    internal void ApplyPruningMask()
    {
        if (PruningMask is { } mask)
        {
            Value.Backend.Binary(default(MulOp), Value.View, mask.View, Value.Buffer, Value.ShapeRef);
            MarkWritten();
        }
    }

    /// <summary>Overwrites the values (shapes must match), outside autograd.</summary>
    /// <example><code>layer.Weights[0].Assign(Tensor.Zeros(layer.Weights[0].Shape));</code></example>
    public void Assign(Tensor values)
    {
        if (!Shapes.SameShape(values.ShapeRef, Value.ShapeRef))
        {
            throw new ArgumentException($"Assign: weight '{Name}' has shape {Shapes.Format(Value.ShapeRef)}, the new values {Shapes.Format(values.ShapeRef)}.");
        }

        using (Tensor.NoGrad())
        {
            Value.CopyFrom(values);
        }

        MarkWritten();
    }

    /// <summary>Replaces the values with a copy on another device (the gradient is dropped).</summary>
    internal void MoveTo(Device device)
    {
        if (Value.Device == device)
        {
            return;
        }

        Tensor moved;
        using (Tensor.NoGrad())
        {
            moved = Value.To(device).DetachFromScope();
        }

        moved.RequiresGrad = Trainable;
        var mask = PruningMask;
        PruningMask = null;
        Dispose();
        Value = moved;
        Version++;
        PruningMask = mask is null ? null : Replace(mask, mask.To(device));
    }

    /// <summary>Replaces floating values with a copy converted to <paramref name="dtype"/> (the gradient is dropped);
    /// integer and bool weights keep their type.</summary>
    internal void CastTo(DType dtype)
    {
        if (Value.DType == dtype || !Value.DType.IsFloatingPoint())
        {
            return;
        }

        Tensor cast;
        using (Tensor.NoGrad())
        {
            cast = Value.To(dtype).DetachFromScope();
        }

        cast.RequiresGrad = Trainable && dtype == DType.Float32;
        var mask = PruningMask;
        PruningMask = null;
        Dispose();
        Value = cast;
        Version++;
        PruningMask = mask is null ? null : Replace(mask, mask.To(dtype));
    }

    /// <summary>Frees the values (and the pruning mask).</summary>
    public void Dispose()
    {
        Value.ZeroGrad();
        Value.Dispose();
        PruningMask?.Dispose();
        PruningMask = null;
    }

    /// <summary>Keeps <paramref name="replacement"/> (made from <paramref name="old"/> under no-grad or not) and frees the old tensor.</summary>
    private static Tensor Replace(Tensor old, Tensor replacement)
    {
        var kept = replacement.DetachFromScope();
        old.Dispose();
        return kept;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Shapes.Format(Value.ShapeRef)}";
}
