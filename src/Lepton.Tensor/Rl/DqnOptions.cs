// DQN's hyper-parameters: replay, exploration schedule, target network updates (periodic copy or
// Polyak averaging), double-DQN, Huber loss and optional prioritized replay; checked when the agent is made.
namespace Lepton.Rl;

/// <summary>Settings of a <see cref="DqnAgent"/>.</summary>
/// <example><code>var options = new DqnOptions { DoubleDqn = true, Tau = 0.005f, Seed = 3 };</code></example>
public sealed class DqnOptions
{
    /// <summary>Transitions the replay buffer keeps.</summary>
    public int BufferSize { get; init; } = 50_000;

    /// <summary>Transitions per gradient step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Environment steps taken before learning starts.</summary>
    public int LearningStarts { get; init; } = 1_000;

    /// <summary>Environment steps between rounds of gradient steps.</summary>
    public int TrainFrequency { get; init; } = 256;

    /// <summary>Gradient steps per round.</summary>
    public int GradientSteps { get; init; } = 128;

    /// <summary>The discount.</summary>
    public float Gamma { get; init; } = 0.99f;

    /// <summary>Adam's learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Gradient steps between target network updates.</summary>
    public int TargetUpdateInterval { get; init; } = 128;

    /// <summary>The target update's weight of the online network: 1 copies it, below 1 is Polyak averaging.</summary>
    public float Tau { get; init; } = 1f;

    /// <summary>Whether the online network picks the next action and the target network values it (van Hasselt et al. 2016).</summary>
    public bool DoubleDqn { get; init; } = true;

    /// <summary>The exploration rate at the start.</summary>
    public float ExplorationStart { get; init; } = 1f;

    /// <summary>The exploration rate after <see cref="ExplorationSteps"/>.</summary>
    public float ExplorationEnd { get; init; } = 0.04f;

    /// <summary>Environment steps over which epsilon falls linearly from start to end.</summary>
    public long ExplorationSteps { get; init; } = 8_000;

    /// <summary>The Huber loss's threshold between its quadratic and linear parts.</summary>
    public float HuberDelta { get; init; } = 1f;

    /// <summary>The largest global L2 norm of the gradients; 0 turns clipping off.</summary>
    public float MaxGradNorm { get; init; } = 10f;

    /// <summary>Whether to replay by priority (proportional variant).</summary>
    public bool Prioritized { get; init; }

    /// <summary>The priority exponent of prioritized replay.</summary>
    public float PriorityAlpha { get; init; } = 0.6f;

    /// <summary>The importance-sampling exponent at the start; it rises linearly to 1 over <see cref="ExplorationSteps"/> * 5.</summary>
    public float PriorityBetaStart { get; init; } = 0.4f;

    /// <summary>Widths of the hidden layers.</summary>
    public IReadOnlyList<int> HiddenUnits { get; init; } = [256, 256];

    /// <summary>Seeds the weights, exploration, replay sampling and the environments' first reset.</summary>
    public int Seed { get; init; }

    internal void Check()
    {
        foreach (var (name, value) in new[] { (nameof(BufferSize), BufferSize), (nameof(BatchSize), BatchSize), (nameof(TrainFrequency), TrainFrequency), (nameof(GradientSteps), GradientSteps), (nameof(TargetUpdateInterval), TargetUpdateInterval) })
        {
            if (value < 1)
            {
                throw new ArgumentOutOfRangeException(name, value, $"DqnAgent: {name} must be at least 1, got {value}.");
            }
        }

        foreach (var (name, value) in new[] { (nameof(Gamma), Gamma), (nameof(Tau), Tau), (nameof(ExplorationStart), ExplorationStart), (nameof(ExplorationEnd), ExplorationEnd), (nameof(PriorityAlpha), PriorityAlpha), (nameof(PriorityBetaStart), PriorityBetaStart) })
        {
            if (!(value is >= 0f and <= 1f))
            {
                throw new ArgumentOutOfRangeException(name, value, $"DqnAgent: {name} must be in [0, 1], got {value}.");
            }
        }

        if (!(LearningRate > 0f) || !(HuberDelta > 0f) || !(MaxGradNorm >= 0f) || LearningStarts < 0 || ExplorationSteps < 0 || Tau == 0f)
        {
            throw new ArgumentOutOfRangeException(
                nameof(DqnOptions),
                $"DqnAgent: LearningRate ({LearningRate}), HuberDelta ({HuberDelta}) and Tau ({Tau}) must be above 0; MaxGradNorm ({MaxGradNorm}), LearningStarts ({LearningStarts}) and ExplorationSteps ({ExplorationSteps}) at least 0.");
        }

        if (HiddenUnits.Any(u => u < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(HiddenUnits), $"DqnAgent: HiddenUnits must all be at least 1, got [{string.Join(", ", HiddenUnits)}].");
        }
    }
}
