// PPO's hyper-parameters with defaults that solve CartPole-v1 on a few parallel environments; each is
// checked when the agent is made, and errors name the option and its value.
namespace Lepton.Rl;

/// <summary>Settings of a <see cref="PpoAgent"/>.</summary>
/// <example><code>var options = new PpoOptions { StepsPerRollout = 64, Epochs = 4, Seed = 7 };</code></example>
public sealed class PpoOptions
{
    /// <summary>Steps each environment takes per rollout (the rollout holds this times the number of environments).</summary>
    public int StepsPerRollout { get; init; } = 32;

    /// <summary>Passes over each rollout.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Transitions per gradient step.</summary>
    public int MinibatchSize { get; init; } = 128;

    /// <summary>The discount.</summary>
    public float Gamma { get; init; } = 0.98f;

    /// <summary>The GAE parameter.</summary>
    public float Lambda { get; init; } = 0.8f;

    /// <summary>The clip range of the probability ratio.</summary>
    public float ClipRange { get; init; } = 0.2f;

    /// <summary>The weight of the value loss.</summary>
    public float ValueCoefficient { get; init; } = 0.5f;

    /// <summary>The weight of the entropy bonus.</summary>
    public float EntropyCoefficient { get; init; }

    /// <summary>Adam's learning rate.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>When above 0, the learning rate decays linearly to 0 over this many environment steps.</summary>
    public long AnnealSteps { get; init; }

    /// <summary>The largest global L2 norm of the gradients (clipped above it); 0 turns clipping off.</summary>
    public float MaxGradNorm { get; init; } = 0.5f;

    /// <summary>Whether advantages are normalized to mean 0 and standard deviation 1 in each minibatch.</summary>
    public bool NormalizeAdvantages { get; init; } = true;

    /// <summary>Widths of the hidden layers of the policy and of the value network.</summary>
    public IReadOnlyList<int> HiddenUnits { get; init; } = [64, 64];

    /// <summary>The hidden layers' activation.</summary>
    public string Activation { get; init; } = "tanh";

    /// <summary>Seeds the weights, the action sampling, the shuffling and the environments' first reset.</summary>
    public int Seed { get; init; }

    internal void Check()
    {
        Positive(StepsPerRollout, nameof(StepsPerRollout));
        Positive(Epochs, nameof(Epochs));
        Positive(MinibatchSize, nameof(MinibatchSize));
        Unit(Gamma, nameof(Gamma));
        Unit(Lambda, nameof(Lambda));
        if (!(ClipRange > 0f) || !(LearningRate > 0f) || !(ValueCoefficient >= 0f) || !(EntropyCoefficient >= 0f) || !(MaxGradNorm >= 0f) || AnnealSteps < 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(PpoOptions),
                $"PpoAgent: ClipRange ({ClipRange}) and LearningRate ({LearningRate}) must be above 0; ValueCoefficient ({ValueCoefficient}), EntropyCoefficient ({EntropyCoefficient}), MaxGradNorm ({MaxGradNorm}) and AnnealSteps ({AnnealSteps}) at least 0.");
        }

        if (HiddenUnits.Any(u => u < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(HiddenUnits), $"PpoAgent: HiddenUnits must all be at least 1, got [{string.Join(", ", HiddenUnits)}].");
        }
    }

    private static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, $"PpoAgent: {name} must be at least 1, got {value}.");
        }
    }

    private static void Unit(float value, string name)
    {
        if (!(value is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(name, value, $"PpoAgent: {name} must be in [0, 1], got {value}.");
        }
    }
}
