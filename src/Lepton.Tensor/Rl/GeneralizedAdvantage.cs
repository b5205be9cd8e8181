// Generalized advantage estimation (Schulman et al. 2016) over a rollout of T steps of N environments:
// A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}, with delta_t = r_t + gamma (1 - done_t) V_{t+1} - V_t.
namespace Lepton.Rl;

/// <summary>GAE(lambda) advantages and the returns the value function is trained towards.</summary>
public static class GeneralizedAdvantage
{
    /// <summary>
    /// Computes advantages and returns for a rollout stored time-major: element <c>t * envs + e</c> is step t of
    /// environment e. <paramref name="dones"/>[t, e] says the episode ended at step t, so step t + 1 starts a new one and
    /// nothing is bootstrapped across (fold the value of a truncated episode's final observation into its reward).
    /// </summary>
    /// <param name="rewards">[T * envs] rewards.</param>
    /// <param name="values">[T * envs] value estimates of the observations acted on.</param>
    /// <param name="dones">[T * envs] end-of-episode flags after each step.</param>
    /// <param name="lastValues">[envs] value estimates of the observations after the last step.</param>
    /// <param name="gamma">The discount, in [0, 1].</param>
    /// <param name="lambda">The GAE parameter, in [0, 1]: 0 is one-step TD, 1 is Monte Carlo.</param>
    /// <returns>Advantages and returns (advantage + value), [T * envs] each.</returns>
    /// <example><code>var (advantages, returns) = GeneralizedAdvantage.Compute(r, v, done, vLast, 0.99f, 0.95f);</code></example>
    public static (float[] Advantages, float[] Returns) Compute(
        ReadOnlySpan<float> rewards, ReadOnlySpan<float> values, ReadOnlySpan<bool> dones, ReadOnlySpan<float> lastValues, float gamma, float lambda)
    {
        int envs = lastValues.Length;
        if (envs == 0 || rewards.Length % envs != 0 || values.Length != rewards.Length || dones.Length != rewards.Length)
        {
            throw new ArgumentException(
                $"GeneralizedAdvantage: rewards ({rewards.Length}), values ({values.Length}) and dones ({dones.Length}) must all hold T * envs elements, with envs = lastValues.Length ({envs}) above 0.");
        }

        if (!(gamma is >= 0f and <= 1f) || !(lambda is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(gamma), $"GeneralizedAdvantage: gamma ({gamma}) and lambda ({lambda}) must be in [0, 1].");
        }

        int steps = rewards.Length / envs;
        var advantages = new float[rewards.Length];
        var returns = new float[rewards.Length];
        for (int e = 0; e < envs; e++)
        {
            double next = 0, nextValue = lastValues[e];
            for (int t = steps - 1; t >= 0; t--)
            {
                int i = (t * envs) + e;
                double live = dones[i] ? 0.0 : 1.0;
                double delta = rewards[i] + (gamma * nextValue * live) - values[i];
                next = delta + (gamma * lambda * live * next);
                advantages[i] = (float)next;
                returns[i] = (float)(next + values[i]);
                nextValue = values[i];
            }
        }

        return (advantages, returns);
    }
}
