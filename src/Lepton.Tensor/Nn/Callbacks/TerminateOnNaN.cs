// Stops training as soon as the loss becomes NaN or infinite, so a diverged run does not go on.
namespace Lepton.Nn.Callbacks;

/// <summary>Stops training when the loss is not finite.</summary>
/// <example><code>new TerminateOnNaN()</code></example>
public sealed class TerminateOnNaN : Callback
{
    /// <summary>The batch at which the loss was found not finite, or -1.</summary>
    public int TerminatedAtBatch { get; private set; } = -1;

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out double loss) && !double.IsFinite(loss))
        {
            TerminatedAtBatch = batch;
            Model!.Output.WriteLine($"Batch {batch}: invalid loss {loss}, terminating training");
            Model.StopTraining = true;
        }
    }
}
