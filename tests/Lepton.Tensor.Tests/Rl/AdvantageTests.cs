// GAE(lambda) against a float64 reference written as the explicit discounted sum of TD errors up to the
// end of each episode, on a rollout of two environments with episode ends in the middle.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class AdvantageTests
{
    [Fact]
    public void GaeMatchesTheExplicitSumOfDiscountedTdErrors()
    {
        const int steps = 6, envs = 2;
        const double gamma = 0.97, lambda = 0.9;
        float[] rewards = [1f, -1f, 0.5f, 2f, 1f, 0f, -0.5f, 1f, 3f, 1f, 1f, -2f];
        float[] values = [0.3f, -0.2f, 1.1f, 0.4f, -0.7f, 0.9f, 0.2f, 0.1f, 0.5f, -0.3f, 0.8f, 0.6f];
        bool[] dones = [false, false, false, true, true, false, false, false, false, false, false, true];
        float[] last = [0.25f, -0.4f];
        var (advantages, returns) = GeneralizedAdvantage.Compute(rewards, values, dones, last, (float)gamma, (float)lambda);

        for (int e = 0; e < envs; e++)
        {
            for (int t = 0; t < steps; t++)
            {
                // A_t = sum_{l >= 0} (gamma lambda)^l delta_{t+l}, stopping after the step where the episode ends.
                double expected = 0, factor = 1;
                for (int u = t; u < steps; u++)
                {
                    int i = (u * envs) + e;
                    double nextValue = dones[i] ? 0 : u + 1 < steps ? values[i + envs] : last[e];
                    double delta = rewards[i] + (gamma * nextValue) - values[i];
                    expected += factor * delta;
                    factor *= gamma * lambda;
                    if (dones[i])
                    {
                        break;
                    }
                }

                int k = (t * envs) + e;
                Assert.Equal(expected, advantages[k], 5);
                Assert.Equal(expected + values[k], returns[k], 5);
            }
        }

        // Hand-checked corner: env 0's episode ends at step 2, so A = r - V = 1 - (-0.7).
        Assert.Equal(1.7f, advantages[4], 6);
    }

    [Fact]
    public void LambdaOneGivesMonteCarloReturnsAndZeroGivesOneStepTd()
    {
        float[] rewards = [1f, 1f, 1f];
        float[] values = [0.5f, 0.25f, 2f];
        bool[] dones = [false, false, false];
        var (_, monteCarlo) = GeneralizedAdvantage.Compute(rewards, values, dones, [4f], 0.5f, 1f);
        Assert.Equal([1 + 0.5f + 0.25f + (0.125f * 4), 1 + 0.5f + (0.25f * 4), 1 + (0.5f * 4)], monteCarlo);
        var (td, _) = GeneralizedAdvantage.Compute(rewards, values, dones, [4f], 0.5f, 0f);
        Assert.Equal([1 + (0.5f * 0.25f) - 0.5f, 1 + (0.5f * 2f) - 0.25f, 1 + (0.5f * 4f) - 2f], td);
        Assert.Contains("lastValues", Assert.Throws<ArgumentException>(() => GeneralizedAdvantage.Compute(rewards, values, dones, [1f, 2f], 0.5f, 1f)).Message);
    }
}
