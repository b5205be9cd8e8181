// What evaluation needs from an agent: the greedy action for each of a batch of observations.
// Both DQN (argmax Q) and PPO (most probable action) provide it.
namespace Lepton.Rl;

/// <summary>An agent that acts in environments with a <see cref="Discrete"/> action space.</summary>
/// <example><code>int[] actions = agent.Greedy(observations);</code></example>
public interface IDiscreteAgent
{
    /// <summary>The floats in one observation.</summary>
    int ObservationSize { get; }

    /// <summary>The greedy action for each observation.</summary>
    /// <param name="observations">[B * ObservationSize] observations, row-major.</param>
    /// <returns>[B] actions.</returns>
    int[] Greedy(ReadOnlySpan<float> observations);
}
