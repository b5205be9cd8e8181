// DQN: double-DQN and plain targets computed exactly, the Huber loss and its gradient, the soft target
// update as an exact average, prioritized replay's priorities refreshed by training, and bad input.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class DqnTests
{
    private static readonly float[] Rewards = [1f, 0.5f, -1f];
    private static readonly float[] Terminated = [0f, 1f, 0f];
    private static readonly float[] NextQOnline = [1f, 3f, 2f, 0f, 5f, 4f];
    private static readonly float[] NextQTarget = [10f, 20f, 30f, 40f, 7f, 9f];

    [Fact]
    public void DoubleDqnTargetsTakeTheOnlineArgmaxAndTheTargetValue()
    {
        var targets = DqnAgent.Targets(Rewards, Terminated, NextQOnline, NextQTarget, 0.99f, doubleDqn: true);
        Assert.Equal([1f + (0.99f * 20f), 0.5f, -1f + (0.99f * 7f)], targets); // online argmax: 1, (terminal), 0
    }

    [Fact]
    public void PlainDqnTargetsTakeTheTargetMaximum()
    {
        var targets = DqnAgent.Targets(Rewards, Terminated, [], NextQTarget, 0.9f, doubleDqn: false);
        Assert.Equal([1f + (0.9f * 20f), 0.5f, -1f + (0.9f * 9f)], targets);
        Assert.Contains("DqnAgent", Assert.Throws<ArgumentException>(() => DqnAgent.Targets(Rewards, Terminated, [1f], NextQTarget, 0.9f, doubleDqn: true)).Message);
    }

    [Fact]
    public void HuberIsQuadraticInsideDeltaAndLinearOutside()
    {
        var error = Tensor.FromArray([-3f, -0.5f, 0f, 0.4f, 2f], [5]);
        error.RequiresGrad = true;
        var loss = DqnAgent.Huber(error, 1f);
        Assert.Equal([2.5f, 0.125f, 0f, 0.08f, 1.5f], loss.ToArray(), new FloatTolerance(1e-6f));
        loss.Sum().Backward();
        Assert.Equal([-1f, -0.5f, 0f, 0.4f, 1f], error.Grad!.ToArray(), new FloatTolerance(1e-6f));
        Assert.Equal([4f, 0.25f * 2f], DqnAgent.Huber(Tensor.FromArray([-3f, 1f], [2]), 2f).ToArray(), new FloatTolerance(1e-6f)); // 2 (3 - 1), 0.5 * 1
    }

    [Fact]
    public void SoftTargetUpdateAveragesTheNetworks()
    {
        using var agent = new DqnAgent(3, 2, new DqnOptions { Tau = 0.25f, TargetUpdateInterval = 1_000, BatchSize = 8, HiddenUnits = [16], Seed = 4 });
        for (int i = 0; i < 20; i++)
        {
            agent.Buffer.Add([i, 1f, -i], i % 2, 1f, [i + 1f, 1f, -i], false);
        }

        agent.TrainStep();
        var online = agent.Online.Weights.Select(w => w.Value.ToArray()).ToArray();
        var before = agent.Target.Weights.Select(w => w.Value.ToArray()).ToArray();
        Assert.NotEqual(online[0], before[0]); // training moved the online network only
        agent.UpdateTarget();
        var after = agent.Target.Weights.Select(w => w.Value.ToArray()).ToArray();
        for (int w = 0; w < online.Length; w++)
        {
            var expected = online[w].Zip(before[w], (o, t) => (0.25f * o) + (0.75f * t)).ToArray();
            Assert.Equal(expected, after[w], new FloatTolerance(1e-6f));
        }
    }

    [Fact]
    public void TrainingRefreshesPrioritiesAndAnnealsBeta()
    {
        using var agent = new DqnAgent(2, 2, new DqnOptions { Prioritized = true, BatchSize = 16, HiddenUnits = [8], Seed = 2 });
        for (int i = 0; i < 16; i++)
        {
            agent.Buffer.Add([i * 0.1f, 1f], i % 2, i, [i * 0.1f, 1f], true);
        }

        var buffer = Assert.IsType<PrioritizedReplayBuffer>(agent.Buffer);
        Assert.Equal(buffer.Probability(0), buffer.Probability(15), 12); // all new: equal priorities
        agent.TrainStep();
        Assert.True(buffer.Probability(15) > 3 * buffer.Probability(0), $"{buffer.Probability(15)} vs {buffer.Probability(0)}"); // reward 15 vs 0: a far larger TD error
        Assert.Equal(0.4f, buffer.Beta, 6);
    }

    [Fact]
    public void EpsilonFallsLinearlyAndBadInputIsNamed()
    {
        using var agent = new DqnAgent(4, 2, new DqnOptions { ExplorationSteps = 100, ExplorationStart = 1f, ExplorationEnd = 0.1f, HiddenUnits = [8], LearningStarts = 10_000 });
        var envs = new SyncVectorEnvironment<int>(2, () => new CartPole());
        Assert.Equal(1.0, agent.Epsilon, 6);
        var iteration = agent.Iterate(envs, 25);
        Assert.Equal(50, iteration.EnvironmentSteps);
        Assert.Equal(0.55, iteration.Epsilon, 6);
        Assert.True(double.IsNaN(iteration.Loss)); // before LearningStarts: no training
        Assert.Equal(50, agent.Buffer.Count);
        agent.Iterate(envs, 50);
        Assert.Equal(0.1, agent.Epsilon, 6);

        var shape = Assert.Throws<ArgumentException>(() => agent.Greedy(new float[6]));
        Assert.Contains("DqnAgent", shape.Message);
        Assert.Contains("6 floats", shape.Message);
        var wrongEnv = Assert.Throws<ArgumentException>(() => agent.Iterate(new SyncVectorEnvironment<int>(1, () => new Acrobot()), 1));
        Assert.Contains("Acrobot-v1", wrongEnv.Message);
        Assert.Contains("Gamma", Assert.Throws<ArgumentOutOfRangeException>(() => new DqnAgent(4, 2, new DqnOptions { Gamma = 1.5f })).Message);
    }
}
