// SyncVectorEnvironment: N environments stepped together match N separately stepped twins, episodes that
// end are reset in the same step with their final observation and statistics handed back.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class VectorEnvironmentTests
{
    [Fact]
    public void AutoResetKeepsTheFinalObservationAndMatchesSeparateEnvironments()
    {
        var envs = new SyncVectorEnvironment<int>(3, () => new CartPole(maxEpisodeSteps: 5));
        var twins = new[] { new CartPole(5), new CartPole(5), new CartPole(5) };
        var obs = envs.Reset(seed: 10);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(twins[i].Reset(10 + i), obs[(i * 4)..((i + 1) * 4)]);
        }

        int[] actions = [0, 1, 1];
        for (int t = 1; t <= 5; t++)
        {
            var step = envs.Step(actions);
            for (int i = 0; i < 3; i++)
            {
                var twin = twins[i].Step(actions[i]);
                Assert.Equal(twin.Reward, step.Rewards[i]);
                Assert.Equal(twin.Truncated, step.Truncated[i]);
                Assert.Equal(twin.Terminated, step.Terminated[i]);
                if (t < 5)
                {
                    Assert.Null(step.FinalObservations[i]);
                    Assert.Equal(twin.Observation, step.Observations[(i * 4)..((i + 1) * 4)]);
                }
                else
                {
                    Assert.True(step.Truncated[i]);
                    Assert.Equal(twin.Observation, step.FinalObservations[i]);
                    Assert.Equal(twins[i].Reset(), step.Observations[(i * 4)..((i + 1) * 4)]); // the reset continues the seeded sequence
                }
            }

            Assert.Equal(t == 5 ? 3 : 0, step.CompletedEpisodes.Count);
            if (t == 5)
            {
                Assert.Equal([0, 1, 2], step.CompletedEpisodes.Select(e => e.Environment));
                Assert.All(step.CompletedEpisodes, e => Assert.Equal((5.0, 5), (e.Return, e.Length)));
            }
        }

        var next = envs.Step(actions); // the new episodes run on
        Assert.All(next.FinalObservations, Assert.Null);
    }

    [Fact]
    public void EpisodesEndingAtDifferentStepsResetIndependently()
    {
        var envs = new SyncVectorEnvironment<int>([new CartPole(2), new CartPole(3)]);
        envs.Reset(seed: 0);
        var first = envs.Step([0, 0]);
        var second = envs.Step([0, 0]);
        var third = envs.Step([0, 0]);
        Assert.Empty(first.CompletedEpisodes);
        Assert.Equal([true, false], second.Truncated);
        Assert.NotNull(second.FinalObservations[0]);
        Assert.Null(second.FinalObservations[1]);
        Assert.Equal([false, true], third.Truncated);
        Assert.Equal(3, Assert.Single(third.CompletedEpisodes).Length);
    }

    [Fact]
    public void BadInputNamesTheVectorAndTheValue()
    {
        var envs = new SyncVectorEnvironment<int>(2, () => new CartPole());
        Assert.Contains("before Reset", Assert.Throws<InvalidOperationException>(() => envs.Step([0, 0])).Message);
        envs.Reset(seed: 1);
        var count = Assert.Throws<ArgumentException>(() => envs.Step([0, 1, 0]));
        Assert.Contains("CartPole-v1", count.Message);
        Assert.Contains("got 3", count.Message);
        Assert.Contains("action 5", Assert.Throws<ArgumentOutOfRangeException>(() => envs.Step([0, 5])).Message);
        var mixed = Assert.Throws<ArgumentException>(() => new SyncVectorEnvironment<int>([new CartPole(), new Acrobot()]));
        Assert.Contains("Acrobot-v1", mixed.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyncVectorEnvironment<int>(0, () => new CartPole()));
    }
}
