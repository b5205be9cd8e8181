// When magnitude pruning updates its masks and to what sparsity, as TF-MOT's PruningSchedule: a
// function of the training step (optimizer iterations) giving (prune now?, target sparsity).
using System.Globalization;

namespace Lepton.Nn;

/// <summary>
/// A pruning schedule: at which training steps <see cref="Pruning.LowMagnitude"/> recomputes its masks and which
/// fraction of the weights it zeroes then. The step is the optimizer's <c>Iterations</c> before the step runs.
/// </summary>
public abstract class PruningSchedule
{
    /// <summary>Checks and stores the step range shared by every schedule (TF-MOT's rules).</summary>
    /// <param name="beginStep">The first step that prunes, at least 0.</param>
    /// <param name="endStep">The last step that prunes, at least <paramref name="beginStep"/>, or -1 where allowed (no end).</param>
    /// <param name="frequency">Prune every this many steps from <paramref name="beginStep"/>, above 0.</param>
    /// <param name="allowNoEnd">Whether <paramref name="endStep"/> may be -1.</param>
    private protected PruningSchedule(long beginStep, long endStep, int frequency, bool allowNoEnd)
    {
        string who = GetType().Name;
        if (beginStep < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(beginStep), beginStep, $"{who}: beginStep must be at least 0.");
        }

        if (endStep == -1 && !allowNoEnd)
        {
            throw new ArgumentOutOfRangeException(nameof(endStep), endStep, $"{who}: endStep must be given (-1, no end, is only allowed for ConstantSparsity).");
        }

        if (endStep != -1 && endStep < beginStep)
        {
            throw new ArgumentOutOfRangeException(nameof(endStep), endStep, $"{who}: endStep {endStep} ends before beginStep {beginStep}; use -1 for no end or a step at or after beginStep.");
        }

        if (frequency <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(frequency), frequency, $"{who}: frequency must be above 0 (masks are updated every frequency steps).");
        }

        BeginStep = beginStep;
        EndStep = endStep;
        Frequency = frequency;
    }

    /// <summary>The first step that prunes.</summary>
    public long BeginStep { get; }

    /// <summary>The last step that prunes, or -1 for no end.</summary>
    public long EndStep { get; }

    /// <summary>Masks are updated every this many steps from <see cref="BeginStep"/>.</summary>
    public int Frequency { get; }

    /// <summary>
    /// Whether the masks are updated at <paramref name="step"/>: BeginStep &lt;= step &lt;= EndStep (no upper bound
    /// when EndStep is -1) and (step - BeginStep) % Frequency == 0.
    /// </summary>
    /// <param name="step">The training step (optimizer iterations so far).</param>
    /// <example><code>bool now = schedule.ShouldPrune(model.Optimizer!.Iterations);</code></example>
    public bool ShouldPrune(long step) =>
        step >= BeginStep && (EndStep == -1 || step <= EndStep) && (step - BeginStep) % Frequency == 0;

    /// <summary>The target sparsity (fraction of zeros) at <paramref name="step"/>.</summary>
    /// <param name="step">The training step (optimizer iterations so far).</param>
    /// <example><code>double s = new PolynomialDecay(0, 0.8, 0, 1000).Sparsity(500); // 0.7</code></example>
    public abstract double Sparsity(long step);

    /// <summary>Checks a sparsity is a fraction in [0, 1).</summary>
    private protected static double CheckSparsity(string who, double sparsity, string argument) =>
        sparsity is >= 0 and < 1
            ? sparsity
            : throw new ArgumentOutOfRangeException(argument, sparsity, $"{who}: {argument} must be in [0, 1), got {sparsity.ToString(CultureInfo.InvariantCulture)}.");
}
