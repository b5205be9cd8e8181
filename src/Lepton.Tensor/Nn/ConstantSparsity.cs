// TF-MOT's ConstantSparsity: one target sparsity, masks updated every `frequency` steps from
// `beginStep` to `endStep` (or forever).
namespace Lepton.Nn;

/// <summary>Prunes to a constant sparsity every <see cref="PruningSchedule.Frequency"/> steps (TF-MOT's ConstantSparsity).</summary>
/// <example><code>var schedule = new ConstantSparsity(0.5, beginStep: 0, frequency: 10);</code></example>
public sealed class ConstantSparsity : PruningSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="targetSparsity">The fraction of weights zeroed, in [0, 1).</param>
    /// <param name="beginStep">The first step that prunes, at least 0.</param>
    /// <param name="endStep">The last step that prunes, at least <paramref name="beginStep"/>, or -1 for no end.</param>
    /// <param name="frequency">Prune every this many steps, above 0.</param>
    public ConstantSparsity(double targetSparsity, long beginStep, long endStep = -1, int frequency = 100)
        : base(beginStep, endStep, frequency, allowNoEnd: true)
    {
        TargetSparsity = CheckSparsity(nameof(ConstantSparsity), targetSparsity, nameof(targetSparsity));
    }

    /// <summary>The fraction of weights zeroed.</summary>
    public double TargetSparsity { get; }

    /// <inheritdoc />
    public override double Sparsity(long step) => TargetSparsity;
}
