// The shards of a data-parallel epoch: disjoint, covering, equal in steps, and block by block the global batches one
// process would take.
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Lepton.Data;

namespace Lepton.Tests.DataParallel;

public class DistributedSamplerTests
{
    [Property(MaxTest = 200)]
    public Property TrainingShardsAreTheGlobalBatchesCutIntoEqualBlocks(PositiveInt examples, PositiveInt batch, PositiveInt ranks)
    {
        int n = examples.Get % 300 + 1, b = batch.Get % 17 + 1, w = ranks.Get % 5 + 1;
        var order = Enumerable.Range(0, n).Select(i => (i * 7919) % n).Distinct().ToArray();
        order = order.Length == n ? order : Enumerable.Range(0, n).Reverse().ToArray();
        var shards = Enumerable.Range(0, w).Select(r => new DistributedSampler(r, w).Shard(order, b, dropLast: false)).ToArray();

        // Every rank takes the same number of batches, equal in size step by step.
        var steps = shards.Select(s => Batches(s, b)).ToArray();
        bool equalSteps = steps.All(s => s.Count == steps[0].Count && s.Zip(steps[0], (x, y) => x.Length == y.Length).All(e => e));

        // Step k's blocks, in rank order, are the k-th global batch of w x b, padded from the start of the order.
        bool global = true;
        for (int k = 0; k < steps[0].Count; k++)
        {
            var joined = steps.SelectMany(s => s[k]).ToArray();
            int start = k * b * w, length = Math.Min(b * w, n - start);
            global &= joined.Take(length).SequenceEqual(order.Skip(start).Take(length));
            global &= joined.Skip(length).SequenceEqual(Enumerable.Range(0, joined.Length - length).Select(i => order[i % n]));
        }

        var loader = new DataLoader(Data(n), b, sampler: new DistributedSampler(0, w));
        return (equalSteps && global && loader.Count == steps[0].Count && shards.Sum(s => s.Length) >= n)
            .Label($"n={n} b={b} w={w}");
    }

    [Property(MaxTest = 200)]
    public Property EvaluationShardsSplitTheDataWithoutRepeats(PositiveInt examples, PositiveInt batch, PositiveInt ranks)
    {
        int n = examples.Get % 300 + 1, b = batch.Get % 17 + 1, w = ranks.Get % 5 + 1;
        var order = Enumerable.Range(0, n).ToArray();
        var all = Enumerable.Range(0, w).SelectMany(r => new DistributedSampler(r, w, padToEqual: false).Shard(order, b, dropLast: false)).ToArray();
        return all.SequenceEqual(order).Label($"n={n} b={b} w={w}");
    }

    [Fact]
    public void DropLastKeepsOnlyWholeGlobalBatches()
    {
        var order = Enumerable.Range(0, 70).ToArray();
        var shard = new DistributedSampler(1, 2).Shard(order, 16, dropLast: true);
        Assert.Equal([.. Enumerable.Range(16, 16), .. Enumerable.Range(48, 16)], shard);
        Assert.Equal(2, new DataLoader(Data(70), 16, dropLast: true, sampler: new DistributedSampler(1, 2)).Count);
    }

    [Fact]
    public void EveryRankShufflesAlikeAndTakesItsOwnExamples()
    {
        var data = Data(40);
        var seen = new List<float>[2];
        for (int r = 0; r < 2; r++)
        {
            seen[r] = [];
            var loader = new DataLoader(data, 4, shuffle: true, seed: 9, sampler: new DistributedSampler(r, 2), device: Device.Cpu);
            foreach (var (x, y) in loader.Batches())
            {
                seen[r].AddRange(y.ToArray());
                x.Dispose();
                y.Dispose();
            }
        }

        var whole = new List<float>();
        foreach (var (x, y) in new DataLoader(data, 8, shuffle: true, seed: 9, device: Device.Cpu).Batches())
        {
            whole.AddRange(y.ToArray());
            x.Dispose();
            y.Dispose();
        }

        Assert.Empty(seen[0].Intersect(seen[1]));
        var interleaved = Enumerable.Range(0, 5).SelectMany(k => seen[0].Skip(4 * k).Take(4).Concat(seen[1].Skip(4 * k).Take(4)));
        Assert.Equal(whole, interleaved);
    }

    [Fact]
    public void BadRanksAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>("rank", () => new DistributedSampler(2, 2));
        Assert.Throws<ArgumentOutOfRangeException>("worldSize", () => new DistributedSampler(0, 0));
    }

    private static List<int[]> Batches(int[] shard, int b) => shard.Chunk(b).ToList();

    private static TensorDataset Data(int n)
    {
        var x = new float[n];
        var y = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        return new TensorDataset(x, [n, 1], DType.Float32, y, [n], DType.Float32);
    }
}
