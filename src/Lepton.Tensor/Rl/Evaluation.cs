// Greedy evaluation: runs a number of episodes side by side (one environment each, no auto-reset),
// asking the agent for all their actions in one batch per step, and returns each episode's return.
namespace Lepton.Rl;

/// <summary>Measures an agent's greedy returns.</summary>
public static class Evaluation
{
    /// <summary>Plays <paramref name="episodes"/> episodes greedily and returns their undiscounted returns.</summary>
    /// <param name="agent">The agent to evaluate.</param>
    /// <param name="factory">Makes one environment per episode.</param>
    /// <param name="episodes">The number of episodes, at least 1.</param>
    /// <param name="seed">Episode i is reset with seed + i.</param>
    /// <returns>[episodes] returns.</returns>
    /// <example><code>double mean = Evaluation.Run(agent, () =&gt; new CartPole(), 100, seed: 1000).Average();</code></example>
    public static double[] Run(IDiscreteAgent agent, Func<IEnvironment<int>> factory, int episodes, int seed)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(factory);
        if (episodes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(episodes), episodes, $"Evaluation: episodes must be at least 1, got {episodes}.");
        }

        var envs = new IEnvironment<int>[episodes];
        var returns = new double[episodes];
        var live = new List<int>(episodes);
        int size = agent.ObservationSize;
        var observations = new float[episodes * size];
        for (int i = 0; i < episodes; i++)
        {
            envs[i] = factory();
            envs[i].Reset(seed + i).CopyTo(observations, i * size);
            live.Add(i);
        }

        while (live.Count > 0)
        {
            var batch = new float[live.Count * size];
            for (int k = 0; k < live.Count; k++)
            {
                Array.Copy(observations, live[k] * size, batch, k * size, size);
            }

            int[] actions = agent.Greedy(batch);
            for (int k = live.Count - 1; k >= 0; k--)
            {
                int i = live[k];
                var step = envs[i].Step(actions[k]);
                returns[i] += step.Reward;
                step.Observation.CopyTo(observations, i * size);
                if (step.Done)
                {
                    live.RemoveAt(k);
                }
            }
        }

        return returns;
    }
}
