// Stops training when a monitored quantity stops improving, optionally restoring the best weights.
namespace Lepton.Nn.Callbacks;

/// <summary>Stops training after <c>patience</c> epochs without improvement.</summary>
/// <example><code>new EarlyStopping(monitor: "val_loss", patience: 3, restoreBestWeights: true)</code></example>
public sealed class EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, string mode = "auto", bool restoreBestWeights = false) : Callback
{
    private readonly bool lowerIsBetter = LowerIsBetter(monitor, mode);
    private double best;
    private int wait;
    private float[][]? bestWeights;

    /// <summary>The epoch training stopped at (0-based), or -1.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    /// <summary>The epoch with the best value (0-based).</summary>
    public int BestEpoch { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        best = lowerIsBetter ? double.PositiveInfinity : double.NegativeInfinity;
        wait = 0;
        StoppedEpoch = -1;
        bestWeights = null;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double value = Monitored(logs, monitor, "EarlyStopping");
        bool improved = lowerIsBetter ? value < best - minDelta : value > best + minDelta;
        if (improved)
        {
            best = value;
            BestEpoch = epoch;
            wait = 0;
            if (restoreBestWeights)
            {
                bestWeights = [.. Model!.Weights.Select(w => w.Value.ToArray())];
            }

            return;
        }

        if (++wait >= patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            Model!.StopTraining = true;
        }
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (restoreBestWeights && bestWeights is not null && StoppedEpoch >= 0)
        {
            var weights = Model!.Weights;
            for (int i = 0; i < weights.Count; i++)
            {
                using var saved = Tensor.FromArray(bestWeights[i], weights[i].Shape, device: weights[i].Value.Device);
                weights[i].Assign(saved);
            }
        }
    }
}
