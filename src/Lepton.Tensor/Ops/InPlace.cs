// In-place updates for optimizers and running statistics. They are not recorded for autograd and
// refuse to modify a leaf that requires grad while grad mode is on (as PyTorch does).
using Lepton.Autograd;
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Overwrites this tensor's values with <paramref name="source"/> (broadcast to this shape).</summary>
    /// <example><code>using (Tensor.NoGrad()) { w.CopyFrom(newWeights); }</code></example>
    public void CopyFrom(Tensor source)
    {
        CheckInPlace("CopyFrom", source);
        if (source.DType != DType)
        {
            using var converted = source.CastTo(DType);
            Backend.CopyElements(converted.BroadcastView(shape), View);
            return;
        }

        Backend.CopyElements(source.BroadcastView(shape), View);
    }

    /// <summary>this += alpha * other (other broadcast to this shape).</summary>
    /// <example><code>using (Tensor.NoGrad()) { w.Add_(w.Grad!, -0.1f); }</code></example>
    public Tensor Add_(Tensor other, float alpha = 1f)
    {
        CheckInPlace("Add_", other);
        CheckFloat("Add_");
        other.CheckFloat("Add_");
        using var scaled = alpha == 1f ? other.Detach() : other.Detach() * alpha;
        var target = DenseTarget();
        Backend.Binary(default(AddOp), View, scaled.BroadcastView(shape), target.Buffer, shape);
        return this;
    }

    /// <summary>this *= factor.</summary>
    /// <example><code>using (Tensor.NoGrad()) { w.Mul_(0.99f); }</code></example>
    public Tensor Mul_(float factor)
    {
        CheckInPlace("Mul_", this);
        CheckFloat("Mul_");
        using var s = ScalarLike(factor);
        var target = DenseTarget();
        Backend.Binary(default(MulOp), View, s.BroadcastView(shape), target.Buffer, shape);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    /// <example><code>bias.Fill_(0f);</code></example>
    public Tensor Fill_(float value)
    {
        CheckInPlace("Fill_", this);
        using var s = Full([], value, DType, Device);
        Backend.CopyElements(s.BroadcastView(shape), View);
        return this;
    }

    private Tensor DenseTarget()
    {
        if (!IsDense)
        {
            throw new InvalidOperationException($"In-place arithmetic needs a dense tensor; this one (shape {Shapes.Format(shape)}) is a strided view. Use Contiguous() first.");
        }

        return this;
    }

    private void CheckInPlace(string op, Tensor source)
    {
        ThrowIfDisposed();
        source.ThrowIfDisposed();
        CheckSameDevice(op, this, source);
        if (RequiresGrad && IsLeaf && GradMode.IsEnabled)
        {
            throw new InvalidOperationException($"{op}: a leaf tensor that requires grad cannot be modified in place while grad mode is on; wrap the update in Tensor.NoGrad().");
        }

        if (!Shapes.SameShape(Shapes.Broadcast(op, source.shape, shape), shape))
        {
            throw new ArgumentException($"{op}: shape {Shapes.Format(source.shape)} cannot be broadcast to this tensor's shape {Shapes.Format(shape)}.");
        }
    }
}
