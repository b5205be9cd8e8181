// The environment contract in Gymnasium's shape: Reset(seed) gives the first observation, Step(action)
// gives the next observation, the reward and whether the episode terminated or was truncated.
namespace Lepton.Rl;

/// <summary>
/// An episodic environment with actions of type <typeparamref name="TAction"/> (an <c>int</c> for a
/// <see cref="Discrete"/> action space, a <c>float[]</c> for a <see cref="Box"/>).
/// </summary>
/// <typeparam name="TAction">The action type.</typeparam>
/// <example><code>
/// IEnvironment&lt;int&gt; env = new CartPole();
/// var obs = env.Reset(seed: 1);
/// var step = env.Step(1);
/// while (!step.Terminated &amp;&amp; !step.Truncated) { step = env.Step(0); }
/// </code></example>
public interface IEnvironment<TAction>
{
    /// <summary>The environment's name and version, e.g. <c>CartPole-v1</c>; errors start with it.</summary>
    string Id { get; }

    /// <summary>What <see cref="Reset"/> and <see cref="Step"/> return as observations.</summary>
    Space ObservationSpace { get; }

    /// <summary>What <see cref="Step"/> accepts.</summary>
    Space ActionSpace { get; }

    /// <summary>Starts an episode and returns its first observation.</summary>
    /// <param name="seed">Reseeds the environment's random numbers; null continues the current sequence.</param>
    /// <returns>A new array of <see cref="Space.Size"/> floats.</returns>
    float[] Reset(int? seed = null);

    /// <summary>Advances the episode by one action.</summary>
    /// <param name="action">An element of <see cref="ActionSpace"/>; anything else throws, naming the environment and the action.</param>
    /// <returns>The next observation, the reward and the end-of-episode flags.</returns>
    StepResult Step(TAction action);
}
