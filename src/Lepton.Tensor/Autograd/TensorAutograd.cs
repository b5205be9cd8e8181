// The autograd entry points on Tensor: Backward, ZeroGrad and the NoGrad scope.
using Lepton.Autograd;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Computes gradients of this tensor with respect to every leaf that requires grad, accumulating into their <see cref="Grad"/>.</summary>
    /// <param name="gradient">d(output)/d(this); may be omitted for a one-element tensor (then 1).</param>
    /// <param name="retainGraph">Keep the graph so that Backward can run through it again.</param>
    /// <example><code>var loss = (w * x).Sum(); loss.Backward(); Console.WriteLine(w.Grad);</code></example>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        ThrowIfDisposed();
        if (!RequiresGrad)
        {
            throw new InvalidOperationException(
                "Backward() was called on a tensor that does not require grad: no input of the computation had RequiresGrad set, or it ran under NoGrad.");
        }

        if (gradient is null)
        {
            if (Numel != 1)
            {
                throw new InvalidOperationException(
                    $"Backward() without a gradient needs a one-element tensor; this one has shape {Shapes.Format(shape)}. Pass the gradient explicitly.");
            }

            gradient = OnesLike(this);
        }
        else if (!Shapes.SameShape(gradient.ShapeRef, shape))
        {
            throw new ArgumentException(
                $"Backward: the gradient's shape {Shapes.Format(gradient.ShapeRef)} does not match the tensor's shape {Shapes.Format(shape)}.");
        }
        else if (gradient.DType != DType)
        {
            if (!gradient.DType.IsFloatingPoint())
            {
                throw new ArgumentException($"Backward: the gradient is {gradient.DType.Name()}; a gradient of this {DType.Name()} tensor must be floating.");
            }

            gradient = gradient.CastTo(DType);
        }

        Engine.Run(this, gradient.Detach(), retainGraph);
    }

    /// <summary>Drops the accumulated gradient (sets <see cref="Grad"/> to null and frees it).</summary>
    /// <example><code>w.ZeroGrad();</code></example>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    /// <summary>Turns graph recording off until the returned handle is disposed, like <c>torch.no_grad()</c>.</summary>
    /// <example><code>using (Tensor.NoGrad()) { var prediction = model(x); }</code></example>
    public static GradModeScope NoGrad() => GradMode.NoGrad();
}
