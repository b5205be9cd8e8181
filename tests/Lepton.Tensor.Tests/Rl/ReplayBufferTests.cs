// Replay buffers: the ring keeps the newest transitions, uniform sampling reaches every slot evenly,
// prioritized sampling follows p^alpha within binomial bounds, and its importance weights are exact.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class ReplayBufferTests
{
    [Fact]
    public void UniformSamplingCoversEverySlotEvenly()
    {
        var buffer = Filled(new ReplayBuffer(50, 2, seed: 3), 50);
        var counts = new int[50];
        for (int draw = 0; draw < 200; draw++)
        {
            var batch = buffer.Sample(50);
            for (int k = 0; k < batch.Count; k++)
            {
                int slot = batch.Indices[k];
                counts[slot]++;
                Assert.Equal(new float[] { slot, -slot }, batch.Observations[(2 * k)..((2 * k) + 2)]);
                Assert.Equal(slot % 3, batch.Actions[k]);
                Assert.Equal(slot * 0.5f, batch.Rewards[k]);
                Assert.Equal(slot + 1f, batch.NextObservations[2 * k]);
                Assert.Equal(slot % 7 == 0 ? 1f : 0f, batch.Terminated[k]);
                Assert.Equal(1f, batch.Weights[k]);
            }
        }

        // 10000 draws over 50 slots: each count is Binomial(10000, 0.02), mean 200, sd 14; allow 5 sd.
        Assert.All(counts, c => Assert.InRange(c, 130, 270));
    }

    [Fact]
    public void TheRingOverwritesTheOldestTransitions()
    {
        var buffer = Filled(new ReplayBuffer(3, 2, seed: 1), 5);
        Assert.Equal(3, buffer.Count);
        var seen = new HashSet<float>();
        for (int i = 0; i < 20; i++)
        {
            seen.UnionWith(buffer.Sample(4).Rewards);
        }

        Assert.Equal(new HashSet<float> { 1f, 1.5f, 2f }, seen); // transitions 2, 3, 4 (rewards 0.5 * i)
    }

    [Fact]
    public void PrioritizedSamplingFollowsPrioritiesWithinStatisticalBounds()
    {
        var buffer = Filled(new PrioritizedReplayBuffer(8, 2, alpha: 0.7f, beta: 0.5f, seed: 5), 4);
        float[] errors = [0.5f, 1f, 2f, 4f];
        buffer.UpdatePriorities([0, 1, 2, 3], errors);
        double[] p = [.. errors.Select(e => Math.Pow(e + 1e-6f, (double)0.7f))]; // priorities |e| + epsilon, in float as stored
        double total = p.Sum();
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(p[i] / total, buffer.Probability(i), 12);
        }

        var counts = new int[4];
        const int draws = 400, batch = 50;
        for (int d = 0; d < draws; d++)
        {
            foreach (int slot in buffer.Sample(batch).Indices)
            {
                counts[slot]++;
            }
        }

        for (int i = 0; i < 4; i++)
        {
            double n = draws * batch, expected = n * p[i] / total, sd = Math.Sqrt(n * (p[i] / total) * (1 - (p[i] / total)));
            Assert.InRange(counts[i], expected - (5 * sd), expected + (5 * sd));
        }
    }

    [Fact]
    public void ImportanceWeightsAreExact()
    {
        var buffer = Filled(new PrioritizedReplayBuffer(16, 2, alpha: 0.6f, beta: 0.4f, seed: 2), 6);
        float[] errors = [0.1f, 0.7f, 3f, 0.2f, 1.5f, 0.05f];
        buffer.UpdatePriorities([0, 1, 2, 3, 4, 5], errors);
        buffer.Beta = 0.8f;
        double[] p = [.. errors.Select(e => Math.Pow(e + 1e-6f, (double)0.6f))];
        double n = 6, total = p.Sum();
        double maxWeight = p.Max(pi => Math.Pow(n * pi / total, -(double)0.8f));
        var sample = buffer.Sample(64);
        for (int k = 0; k < sample.Count; k++)
        {
            double expected = Math.Pow(n * p[sample.Indices[k]] / total, -(double)0.8f) / maxWeight;
            Assert.Equal(expected, sample.Weights[k], 6);
        }

        Assert.Contains(1f, sample.Weights); // the least likely slot (5) is drawn and gets the largest weight
    }

    [Fact]
    public void NewTransitionsTakeTheHighestPrioritySeen()
    {
        var buffer = Filled(new PrioritizedReplayBuffer(8, 2, alpha: 1f, seed: 1), 2);
        buffer.UpdatePriorities([0, 1], [3f, 0.5f]);
        buffer.Add([9f, 9f], 0, 0f, [9f, 9f], false);
        Assert.Equal(buffer.Probability(0), buffer.Probability(2), 12);
    }

    [Fact]
    public void BadInputNamesTheBufferAndTheValue()
    {
        var buffer = new ReplayBuffer(4, 3);
        Assert.Contains("empty", Assert.Throws<InvalidOperationException>(() => buffer.Sample(1)).Message);
        var shape = Assert.Throws<ArgumentException>(() => buffer.Add([1f, 2f], 0, 0f, [1f, 2f, 3f], false));
        Assert.Contains("ReplayBuffer", shape.Message);
        Assert.Contains("got 2", shape.Message);
        var prioritized = Filled(new PrioritizedReplayBuffer(4, 2), 2);
        Assert.Contains("slot 3", Assert.Throws<ArgumentOutOfRangeException>(() => prioritized.UpdatePriorities([3], [1f])).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => prioritized.UpdatePriorities([0], [float.NaN])).Message);
        Assert.Contains("1.5", Assert.Throws<ArgumentOutOfRangeException>(() => prioritized.Beta = 1.5f).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrioritizedReplayBuffer(4, 2, alpha: -0.1f));
    }

    /// <summary>Adds transitions i = 0..count-1: obs [i, -i], action i % 3, reward i / 2, next obs [i + 1, 0], terminal when i % 7 == 0.</summary>
    private static T Filled<T>(T buffer, int count)
        where T : ReplayBuffer
    {
        for (int i = 0; i < count; i++)
        {
            buffer.Add([i, -i], i % 3, i * 0.5f, [i + 1f, 0f], i % 7 == 0);
        }

        return buffer;
    }
}
