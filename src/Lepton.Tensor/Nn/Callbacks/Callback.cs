// Hooks into Fit, with Keras's names: training begin/end, epoch begin/end with the epoch's logs
// (loss, metrics, val_*), and batch end. Callbacks can stop training or change the learning rate.
namespace Lepton.Nn.Callbacks;

/// <summary>Called by <see cref="Model.Fit(Tensor, Tensor, int, int, ValueTuple{Tensor, Tensor}?, float, bool, IEnumerable{Callback}?, int, ulong?, CancellationToken, int)"/> at the points of training.</summary>
public abstract class Callback
{
    /// <summary>The model being trained (set when training starts).</summary>
    public Model? Model { get; internal set; }

    /// <summary>
    /// Whether, in data-parallel training, only rank 0 runs this callback (those that write files: checkpoints, CSV and
    /// TensorBoard logs). The others run on every rank with the same logs, so that decisions such as early stopping
    /// agree.
    /// </summary>
    public virtual bool PrimaryRankOnly => false;

    /// <summary>Training starts.</summary>
    public virtual void OnTrainBegin()
    {
    }

    /// <summary>Training ended (normally, stopped early, or cancelled).</summary>
    public virtual void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>An epoch (0-based) starts.</summary>
    public virtual void OnEpochBegin(int epoch)
    {
    }

    /// <summary>An epoch ended with these logs.</summary>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>A training batch ended; logs hold the running means so far this epoch.</summary>
    public virtual void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
    }

    /// <summary>The monitored value, or an error naming what the logs contain.</summary>
    internal static double Monitored(IReadOnlyDictionary<string, double> logs, string monitor, string who) =>
        logs.TryGetValue(monitor, out double v)
            ? v
            : throw new InvalidOperationException($"{who} monitors '{monitor}', but the logs only have: {string.Join(", ", logs.Keys)}.");

    /// <summary>Whether a lower value is better for this quantity ("auto" mode: accuracies are maximized).</summary>
    internal static bool LowerIsBetter(string monitor, string mode) => mode switch
    {
        "min" => true,
        "max" => false,
        "auto" => !monitor.Contains("acc", StringComparison.OrdinalIgnoreCase),
        _ => throw new ArgumentException($"Unknown mode '{mode}'; use auto, min or max."),
    };
}
