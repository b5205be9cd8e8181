// PPO learns CartPole-v1 in a few seconds from a fixed seed (greedy returns far above a random policy's
// ~22), and the agent names itself and the value in its errors.
using System.Diagnostics;
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class PpoAgentTests
{
    [Fact]
    public void PpoLearnsCartPoleWellAboveRandom()
    {
        // A greedy policy's return swings from one iteration to the next (PPO's policy keeps moving), so the test keeps
        // the best of three evaluations, as a checkpoint callback would, and also asks the rollouts themselves to improve.
        const int Iterations = 40;
        var clock = Stopwatch.StartNew();
        var envs = new SyncVectorEnvironment<int>(8, () => new CartPole());
        using var agent = new PpoAgent(4, 2, new PpoOptions { Seed = 3 });
        double random = Evaluation.Run(new RandomAgent(), () => new CartPole(), 20, seed: 500).Average();
        double before = Evaluation.Run(agent, () => new CartPole(), 20, seed: 500).Average();
        var iterations = new List<PpoIteration>();
        double best = 0;
        for (int i = 1; i <= Iterations; i++)
        {
            iterations.Add(agent.Iterate(envs));
            if (i % 10 == 0 && i >= 20)
            {
                best = Math.Max(best, Evaluation.Run(agent, () => new CartPole(), 20, seed: 500).Average());
            }
        }

        var last = iterations[^1];
        double early = iterations.Take(5).Where(it => !double.IsNaN(it.MeanReturn)).Average(it => it.MeanReturn);
        double late = iterations.TakeLast(5).Where(it => !double.IsNaN(it.MeanReturn)).Average(it => it.MeanReturn);
        string report = $"best greedy return {best:F1} ({before:F1} before, random {random:F1}); rollout return {early:F1} in the first 5 iterations, {late:F1} in the last 5; {clock.Elapsed.TotalSeconds:F1} s";
        Assert.Equal(Iterations * 8 * 32, last.EnvironmentSteps);
        Assert.InRange(random, 10, 40);
        Assert.True(best > 150 && best > 1.5 * before, report);
        Assert.True(late > 3 * early, report);
        Assert.InRange(last.ClipFraction, 0.0, 0.5);
        Assert.True(last.Entropy is > 0.0 and < 0.7, $"entropy {last.Entropy}");
    }

    [Fact]
    public void BadInputNamesTheAgentAndTheValue()
    {
        using var agent = new PpoAgent(4, 2, new PpoOptions { HiddenUnits = [8] });
        var shape = Assert.Throws<ArgumentException>(() => agent.Greedy(new float[5]));
        Assert.Contains("PpoAgent", shape.Message);
        Assert.Contains("got 5 floats", shape.Message);
        Assert.Contains("Acrobot-v1", Assert.Throws<ArgumentException>(() => agent.Iterate(new SyncVectorEnvironment<int>(1, () => new Acrobot()))).Message);
        Assert.Contains("Lambda", Assert.Throws<ArgumentOutOfRangeException>(() => new PpoAgent(4, 2, new PpoOptions { Lambda = 2f })).Message);
        Assert.Contains("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => new PpoAgent(4, 2, new PpoOptions { Epochs = 0 })).Message);
    }

    private sealed class RandomAgent : IDiscreteAgent
    {
        private readonly Random random = new(1);

        public int ObservationSize => 4;

        public int[] Greedy(ReadOnlySpan<float> observations) => [.. Enumerable.Range(0, observations.Length / 4).Select(_ => random.Next(2))];
    }
}
