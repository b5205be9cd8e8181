// What one environment step returns: Gymnasium's (observation, reward, terminated, truncated).
// Terminated means a terminal state of the task; truncated means a time limit cut the episode.
namespace Lepton.Rl;

/// <summary>The outcome of one step.</summary>
/// <param name="Observation">The observation after the step (a new array).</param>
/// <param name="Reward">The reward for the step.</param>
/// <param name="Terminated">Whether the task reached a terminal state (no value to bootstrap from).</param>
/// <param name="Truncated">Whether a time limit ended the episode (the state itself is not terminal).</param>
/// <example><code>var (obs, reward, terminated, truncated) = env.Step(0);</code></example>
public readonly record struct StepResult(float[] Observation, float Reward, bool Terminated, bool Truncated)
{
    /// <summary>Whether the episode is over for either reason.</summary>
    public bool Done => Terminated || Truncated;
}
