// Saves the model (or only its weights) after epochs, optionally only when the monitored
// quantity improved. Saves are atomic: a crash never leaves a half-written file.
namespace Lepton.Nn.Callbacks;

/// <summary>Saves the model during training.</summary>
/// <example><code>new ModelCheckpoint("best.lepton", monitor: "val_accuracy", saveBestOnly: true)</code></example>
public sealed class ModelCheckpoint(string path, string monitor = "val_loss", bool saveBestOnly = false, string mode = "auto", bool saveWeightsOnly = false) : Callback
{
    /// <inheritdoc />
    public override bool PrimaryRankOnly => true;

    private readonly bool lowerIsBetter = LowerIsBetter(monitor, mode);
    private double best;

    /// <summary>Epochs (0-based) at which a file was written.</summary>
    public List<int> SavedEpochs { get; } = [];

    /// <inheritdoc />
    public override void OnTrainBegin() => best = lowerIsBetter ? double.PositiveInfinity : double.NegativeInfinity;

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (saveBestOnly)
        {
            double value = Monitored(logs, monitor, "ModelCheckpoint");
            if (!(lowerIsBetter ? value < best : value > best))
            {
                return;
            }

            best = value;
        }

        string target = path.Replace("{epoch}", (epoch + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (saveWeightsOnly)
        {
            Model!.SaveWeights(target);
        }
        else
        {
            Model!.Save(target);
        }

        SavedEpochs.Add(epoch);
    }
}
