// Batch normalization over the channel axis (dim 1) of [N, C] or [N, C, ...] inputs. Training uses
// the batch statistics (biased variance) and updates the running ones in place with the unbiased
// variance, as PyTorch does; inference uses the running statistics. Composed from primitives.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Normalizes each channel, then scales by <paramref name="weight"/> and shifts by <paramref name="bias"/>.</summary>
    /// <example><code>var y = x.BatchNorm(runningMean, runningVar, gamma, beta, training: true);</code></example>
    public Tensor BatchNorm(
        Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, float momentum = 0.1f, float eps = 1e-5f)
    {
        CheckFloat("BatchNorm");
        if (Rank < 2)
        {
            throw new ArgumentException($"BatchNorm: expected [N, C, ...], got {Shapes.Format(shape)}.");
        }

        int channels = shape[1];
        foreach (var (t, name) in new[] { (runningMean, "runningMean"), (runningVar, "runningVar"), (weight, "weight"), (bias, "bias") })
        {
            if (t is not null && (t.Rank != 1 || t.shape[0] != channels))
            {
                throw new ArgumentException($"BatchNorm: {name} must be [{channels}] for input {Shapes.Format(shape)}, got {Shapes.Format(t.shape)}.");
            }
        }

        var axes = new List<int> { 0 };
        var statShape = new int[Rank];
        Array.Fill(statShape, 1);
        statShape[1] = channels;
        for (int d = 2; d < Rank; d++)
        {
            axes.Add(d);
        }

        Tensor mean, variance;
        if (training)
        {
            int count = Numel / Math.Max(channels, 1);
            if (count < 2)
            {
                throw new ArgumentException($"BatchNorm: training needs more than one value per channel, got input {Shapes.Format(shape)}.");
            }

            mean = Mean([.. axes], keepDim: true);
            variance = Var([.. axes], keepDim: true, correction: 0);
            using (NoGrad())
            {
                runningMean?.CopyFrom((runningMean * (1f - momentum)) + (mean.Reshape(channels) * momentum));
                runningVar?.CopyFrom((runningVar * (1f - momentum)) + (variance.Reshape(channels) * (momentum * count / (count - 1))));
            }
        }
        else
        {
            if (runningMean is null || runningVar is null)
            {
                throw new ArgumentException("BatchNorm: inference (training: false) needs runningMean and runningVar.");
            }

            mean = runningMean.Reshape(statShape);
            variance = runningVar.Reshape(statShape);
        }

        var y = (this - mean) / (variance + eps).Sqrt();
        if (weight is not null)
        {
            y *= weight.Reshape(statShape);
        }

        if (bias is not null)
        {
            y += bias.Reshape(statShape);
        }

        return y;
    }
}
