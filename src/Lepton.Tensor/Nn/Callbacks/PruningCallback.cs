// The callback Pruning.LowMagnitude returns: at each training step its schedule prunes, it recomputes
// the masks (TF-MOT's UpdatePruningStep with the wrapper's mask update, in one place).
namespace Lepton.Nn.Callbacks;

/// <summary>
/// Updates a model's pruning masks during <c>Fit</c>: when training starts and after each batch, if the schedule prunes
/// at the optimizer's step (its iterations so far), the smallest-magnitude fraction of each pruned kernel is masked.
/// Made by <see cref="Pruning.LowMagnitude"/>.
/// </summary>
/// <example><code>model.Fit(x, y, epochs: 2, callbacks: [Pruning.LowMagnitude(model, new ConstantSparsity(0.5, 0))]);</code></example>
public sealed class PruningCallback : Callback
{
    private readonly Model target;
    private readonly Weight[] weights;
    private long lastStep = -1;

    internal PruningCallback(Model model, PruningSchedule schedule, IReadOnlyList<Weight> weights, bool globalThreshold)
    {
        target = model;
        Schedule = schedule;
        this.weights = [.. weights];
        GlobalThreshold = globalThreshold;
    }

    /// <summary>When and how much the masks prune.</summary>
    public PruningSchedule Schedule { get; }

    /// <summary>Whether one magnitude threshold covers all pruned kernels together (otherwise each has its own).</summary>
    public bool GlobalThreshold { get; }

    /// <summary>The names of the pruned weights.</summary>
    public IReadOnlyList<string> PrunedWeights => [.. weights.Select(w => w.Name)];

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        if (Model is not null && !ReferenceEquals(Model, target))
        {
            throw new InvalidOperationException($"PruningCallback: it was made for model '{target.Name}' but is used in Fit of model '{Model.Name}'.");
        }

        Update();
    }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Update();

    /// <summary>Recomputes the masks to <paramref name="sparsity"/> now, whatever the schedule says (for custom training loops).</summary>
    /// <param name="sparsity">The fraction of weights to zero, in [0, 1).</param>
    /// <example><code>pruning.UpdateMasks(0.5);</code></example>
    public void UpdateMasks(double sparsity)
    {
        if (sparsity is not (>= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "PruningCallback.UpdateMasks: sparsity must be in [0, 1).");
        }

        Pruning.UpdateMasks(weights, sparsity, GlobalThreshold, target.Optimizer);
    }

    private void Update()
    {
        long step = target.Optimizer?.Iterations ?? 0;
        if (step != lastStep && Schedule.ShouldPrune(step))
        {
            lastStep = step;
            Pruning.UpdateMasks(weights, Schedule.Sparsity(step), GlobalThreshold, target.Optimizer);
        }
    }
}
