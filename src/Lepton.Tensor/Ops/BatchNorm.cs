// Batch normalization over the channel axis (dim 1) of [N, C] or [N, C, ...] inputs, as fused
// backend kernels. Training uses the batch statistics (biased variance) and updates the running
// ones in place with the unbiased variance, as PyTorch does (or the biased one, on request);
// inference uses the running statistics.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>
    /// Normalizes each channel, then scales by <paramref name="weight"/> and shifts by <paramref name="bias"/>. In training
    /// the batch is normalized with its biased variance (divided by the count m), and the running variance is updated with
    /// the unbiased one (divided by m - 1), as PyTorch does, unless <paramref name="unbiasedRunningVariance"/> is false.
    /// </summary>
    /// <param name="runningMean">Running mean [C], updated in place in training; read in inference.</param>
    /// <param name="runningVar">Running variance [C], updated in place in training; read in inference.</param>
    /// <param name="weight">Per-channel scale (gamma) [C], or null.</param>
    /// <param name="bias">Per-channel shift (beta) [C], or null.</param>
    /// <param name="training">Normalize with the batch statistics and update the running ones (else use the running ones).</param>
    /// <param name="momentum">PyTorch's momentum: running = (1 - momentum) * running + momentum * batch.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="unbiasedRunningVariance">Update the running variance with the unbiased batch variance (PyTorch) rather
    /// than the biased one the batch is normalized with.</param>
    /// <example><code>var y = x.BatchNorm(runningMean, runningVar, gamma, beta, training: true);</code></example>
    public Tensor BatchNorm(
        Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, float momentum = 0.1f, float eps = 1e-5f, bool unbiasedRunningVariance = true)
    {
        if (AnyHalf(this, runningMean, runningVar) || AnyHalf(weight, bias))
        {
            if (training)
            {
                throw new ArgumentException(
                    "BatchNorm: training updates float32 running statistics and parameters; convert 16-bit ones with To(DType.Float32) first.");
            }

            // Inference reads 16-bit statistics and parameters in float32; the output has the input's type.
            using var wideMean = runningMean?.CastTo(DType.Float32);
            using var wideVariance = runningVar?.CastTo(DType.Float32);
            return Narrowed(
                Widened.BatchNorm(wideMean, wideVariance, weight?.Widened, bias?.Widened, training: false, momentum, eps, unbiasedRunningVariance), DType);
        }

        CheckFloat("BatchNorm");
        if (Rank < 2)
        {
            throw new ArgumentException($"BatchNorm: expected [N, C, ...], got {Shapes.Format(shape)}.");
        }

        int n = shape[0], channels = shape[1], inner = n == 0 || channels == 0 ? 0 : Numel / (n * channels);
        foreach (var (t, name) in new[] { (runningMean, "runningMean"), (runningVar, "runningVar"), (weight, "weight"), (bias, "bias") })
        {
            if (t is not null && (t.Rank != 1 || t.shape[0] != channels))
            {
                throw new ArgumentException($"BatchNorm: {name} must be [{channels}] for input {Shapes.Format(shape)}, got {Shapes.Format(t.shape)}.");
            }

            if (t is not null)
            {
                CheckSameDevice("BatchNorm", this, t);
            }
        }

        var x = DenseData();
        Tensor mean, variance;
        if (training)
        {
            int count = n * inner;
            if (count < 2 && unbiasedRunningVariance)
            {
                throw new ArgumentException($"BatchNorm: training needs more than one value per channel, got input {Shapes.Format(shape)}.");
            }

            mean = Empty([channels], Device);
            variance = Empty([channels], Device);
            Backend.BatchNormStatistics(x.Buffer, n, channels, inner, mean.Buffer, variance.Buffer);
            using (NoGrad())
            {
                runningMean?.CopyFrom((runningMean * (1f - momentum)) + (mean * momentum));
                float correction = unbiasedRunningVariance ? (float)count / (count - 1) : 1f;
                runningVar?.CopyFrom((runningVar * (1f - momentum)) + (variance * (momentum * correction)));
            }
        }
        else
        {
            if (runningMean is null || runningVar is null)
            {
                throw new ArgumentException("BatchNorm: inference (training: false) needs runningMean and runningVar.");
            }

            // Snapshots: the running statistics may change before backward runs.
            mean = runningMean.CopyDense();
            variance = runningVar.CopyDense();
        }

        var gamma = weight?.DenseData();
        var beta = bias?.DenseData();
        var y = Empty((int[])shape.Clone(), Device);
        Backend.BatchNormForward(x.Buffer, n, channels, inner, mean.Buffer, variance.Buffer, eps, gamma?.Buffer, beta?.Buffer, y.Buffer);
        Tensor?[] inputs = [this, weight, bias];
        return Record(y, "BatchNormBackward", [.. inputs.Where(t => t is not null).Cast<Tensor>()], g =>
        {
            var gd = g.DenseData();
            var dx = Empty((int[])x.shape.Clone(), g.Device);
            var dgamma = weight is { RequiresGrad: true } ? Empty([channels], g.Device) : null;
            var dbeta = bias is { RequiresGrad: true } ? Empty([channels], g.Device) : null;
            g.Backend.BatchNormBackward(x.Buffer, gd.Buffer, n, channels, inner, mean.Buffer, variance.Buffer, eps, gamma?.Buffer, training, dx.Buffer, dgamma?.Buffer, dbeta?.Buffer);
            var grads = new List<Tensor?> { dx };
            if (weight is not null)
            {
                grads.Add(dgamma);
            }

            if (bias is not null)
            {
                grads.Add(dbeta);
            }

            return [.. grads];
        });
    }
}
