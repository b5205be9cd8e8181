// Gradient hooks of a training step: the point where a weight's gradient is final during the
// backward pass (data-parallel training starts reducing it there while backward goes on), and
// gradient accumulation over several batches. Both run the same in eager and replayed steps.
using Lepton.Capture;

namespace Lepton.Nn;

public partial class Model
{
    private readonly MeanMetric trainLoss = new("loss");
    private readonly MeanMetric testLoss = new("loss");
    private readonly Dictionary<Weight, Tensor> accumulators = [];
    private Dictionary<Tensor, Weight>? weightByValue;
    private Action<Tensor>? leafReady;
    private int accumulation = 1;
    private int accumulated;

    /// <summary>
    /// Called during each training step's backward pass, once per trainable weight, as soon as that weight's gradient is
    /// final, while the rest of the backward pass still runs (last layers first): data-parallel training reduces each
    /// gradient there, overlapping communication with the remaining backward work. The gradient tensor is valid during
    /// the call only; change it in place (the optimizer then applies what the handler leaves). A captured step calls the
    /// handler at the same point of every replay, with that step's gradient.
    /// </summary>
    /// <example><code>model.GradientReady = (weight, gradient) => allReduce.Sum(gradient);</code></example>
    public Action<Weight, Tensor>? GradientReady { get; set; }

    private void OnLeafReady(Tensor leaf)
    {
        var handler = GradientReady;
        var sync = reducer;
        if ((handler is null && sync is null) || leaf.Grad is not { } grad)
        {
            return;
        }

        weightByValue ??= Weights.ToDictionary(w => w.Value, ReferenceEqualityComparer.Instance as IEqualityComparer<Tensor>);
        if (!weightByValue.TryGetValue(leaf, out var weight))
        {
            weightByValue = Weights.ToDictionary(w => w.Value, ReferenceEqualityComparer.Instance as IEqualityComparer<Tensor>);
            if (!weightByValue.TryGetValue(leaf, out weight))
            {
                return;
            }
        }

        if (StepCapture.Recording)
        {
            RecordGradientReady(weight, grad);
        }

        using (StepCapture.Suppress())
        {
            handler?.Invoke(weight, grad);
            sync?.OnGradientReady(weight, grad);
        }
    }

    /// <summary>Waits for the averaged gradients before the optimizer step, now and at every replay.</summary>
    private static void FinishGradientReduction(GradientReducer sync)
    {
        StepCapture.RecordHost("AllReduce (gradients)", sync.Finish);
        using (StepCapture.Suppress())
        {
            sync.Finish();
        }
    }

    /// <summary>Records the handler's call for replays, on the gradient buffer the replayed step then holds.</summary>
    private void RecordGradientReady(Weight weight, Tensor grad)
    {
        var (shape, device, dtype) = (grad.Shape, grad.Device, grad.DType);
        Tensor? view = null;
        StepCapture.Record(nameof(GradientReady), [grad.Buffer], 1, (b, s) =>
        {
            if (GradientReady is not null || reducer is not null)
            {
                if (view is null || !ReferenceEquals(view.Buffer, s[0]))
                {
                    view = Tensor.Borrow(s[0]!, shape, device, dtype).DetachFromScope();
                }

                GradientReady?.Invoke(weight, view);
                reducer?.OnGradientReady(weight, view);
            }
        });
    }

    /// <summary>Zeroes the gradients of an incomplete group, so that they do not reach the next Fit's first update.</summary>
    /// <remarks>The accumulators are kept (not freed): captured steps add into their buffers.</remarks>
    private void DropAccumulatedGradients()
    {
        if (accumulated % accumulation == 0)
        {
            return;
        }

        using var noGrad = Tensor.NoGrad();
        foreach (var sum in accumulators.Values)
        {
            sum.Fill_(0f);
        }
    }

    /// <summary>Adds each trainable weight's gradient to its accumulator; with <paramref name="apply"/>, steps on their mean.</summary>
    private void AccumulateGradients(IReadOnlyList<Weight> trainable, bool apply)
    {
        using var noGrad = Tensor.NoGrad();
        foreach (var w in trainable)
        {
            if (w.Value.Grad is not { } grad)
            {
                continue;
            }

            if (!accumulators.TryGetValue(w, out var sum) || sum.Device != grad.Device || !Shapes.SameShape(sum.ShapeRef, grad.ShapeRef))
            {
                sum?.Dispose();
                using (StepCapture.Suppress())
                {
                    sum = Tensor.ZerosLike(grad).DetachFromScope();
                }

                accumulators[w] = sum;
            }

            sum.Add_(grad);
            w.Value.ZeroGrad();
        }

        if (!apply)
        {
            return;
        }

        var gradients = new Tensor?[trainable.Count];
        for (int i = 0; i < trainable.Count; i++)
        {
            if (accumulators.TryGetValue(trainable[i], out var sum))
            {
                sum.Mul_(1f / accumulation);
                gradients[i] = sum;
            }
        }

        Optimizer!.Step(trainable, gradients);
        foreach (var sum in gradients)
        {
            sum?.Fill_(0f);
        }
    }
}
