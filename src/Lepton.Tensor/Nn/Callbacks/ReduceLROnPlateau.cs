// Lowers the learning rate by a factor when a monitored quantity has stopped improving.
namespace Lepton.Nn.Callbacks;

/// <summary>Multiplies the learning rate by <c>factor</c> after <c>patience</c> epochs without improvement.</summary>
/// <example><code>new ReduceLROnPlateau(monitor: "val_loss", factor: 0.5f, patience: 2)</code></example>
public sealed class ReduceLROnPlateau(string monitor = "val_loss", float factor = 0.1f, int patience = 10, string mode = "auto", double minDelta = 1e-4, int cooldown = 0, float minLr = 0f) : Callback
{
    private readonly bool lowerIsBetter = LowerIsBetter(monitor, mode);
    private double best;
    private int wait;
    private int cooling;

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        if (factor is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau: factor must be in (0, 1).");
        }

        best = lowerIsBetter ? double.PositiveInfinity : double.NegativeInfinity;
        wait = 0;
        cooling = 0;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double value = Monitored(logs, monitor, "ReduceLROnPlateau");
        if (cooling > 0)
        {
            cooling--;
            wait = 0;
        }

        if (lowerIsBetter ? value < best - minDelta : value > best + minDelta)
        {
            best = value;
            wait = 0;
            return;
        }

        if (cooling == 0 && ++wait >= patience)
        {
            var optimizer = Model!.Optimizer!;
            float next = Math.Max(optimizer.LearningRate * factor, minLr);
            if (next < optimizer.LearningRate)
            {
                optimizer.LearningRate = next;
                cooling = cooldown;
            }

            wait = 0;
        }
    }
}
