// Sets the learning rate at the start of each epoch from a function of (epoch, current rate).
namespace Lepton.Nn.Callbacks;

/// <summary>Sets the learning rate per epoch.</summary>
/// <example><code>new LearningRateScheduler((epoch, lr) => epoch &lt; 5 ? lr : lr * 0.9f)</code></example>
public sealed class LearningRateScheduler(Func<int, float, float> schedule) : Callback
{
    /// <inheritdoc />
    public override void OnEpochBegin(int epoch)
    {
        var optimizer = Model!.Optimizer!;
        optimizer.LearningRate = schedule(epoch, optimizer.LearningRate);
    }
}
