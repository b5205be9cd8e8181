// The checks Fit, Evaluate, Predict and the batch methods make on the data they are given: some examples,
// one label per example shaped as the loss expects, and the empty result of predicting on no examples.
using Lepton.Data;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>Throws naming <paramref name="method"/> when <paramref name="data"/> gives no batch to train or evaluate on.</summary>
    private static void RequireExamples(string method, string what, DataLoader data)
    {
        var d = data.Dataset;
        if (d.Count == 0 || data.Count == 0)
        {
            string why = d.Count == 0 ? "has no examples" : $"has {d.Count} examples, fewer than one batch of {data.BatchSize} with dropLast";
            throw new ArgumentException(
                $"{method}: {what} (inputs {Shapes.Format([d.Count, .. d.InputShape])}, targets {Shapes.Format([d.Count, .. d.TargetShape])}) {why}; pass at least one example.");
        }
    }

    /// <summary>
    /// Throws unless <paramref name="y"/> holds one target per example of <paramref name="x"/>, shaped as the loss
    /// expects before the forward pass (e.g. [N] or [N, 1] class indices); the error names the loss and both shapes.
    /// Reads shapes only, so a training step stays free of allocation.
    /// </summary>
    private void CheckTargets(Tensor x, Tensor y)
    {
        var loss = Loss!;
        if (x.Rank == 0 || y.Rank == 0 || y.ShapeRef[0] != x.ShapeRef[0])
        {
            throw new ArgumentException(
                $"{loss.GetType().Name}: labels {Shapes.Format(y.ShapeRef)} do not match inputs {Shapes.Format(x.ShapeRef)}; " +
                "each example needs its label (the first dimensions must be equal).");
        }

        loss.CheckTargetShape(y.ShapeRef, null);
    }

    /// <summary>The result of predicting on no examples: [0, ...the output shape per example], learned from one zero example.</summary>
    private Tensor EmptyPrediction(Tensor x)
    {
        int[] outputShape;
        DType outputType;
        using (Tensor.NewScope())
        using (Tensor.NoGrad())
        {
            var probe = Call(Tensor.Zeros([1, .. x.ShapeRef[1..]], x.DType, Device), training: false);
            (outputShape, outputType) = (probe.Shape[1..], probe.DType);
        }

        return Tensor.Zeros([0, .. outputShape], outputType, Device);
    }
}
