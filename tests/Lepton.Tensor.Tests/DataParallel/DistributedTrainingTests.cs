// Data-parallel training under mpirun: two ranks with half the batch train exactly as one process with the whole
// batch; a failed rank ends the job instead of hanging it; bad input is reported on every rank.
using Lepton.DistributedWorker;
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Tests.DataParallel;

[Collection("mpirun")]
public class DistributedTrainingTests
{
    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    public void TwoRanksOfHalfTheBatchTrainAsOneProcessOfTheWholeBatch(string optimizer)
    {
        using var initial = Scenarios.CreateModel(optimizer);
        using var reference = Scenarios.TrainEquivalence(optimizer, 64);
        using var parallel = Scenarios.CreateModel(optimizer);
        string output = TrainOnRanks($"equivalence {optimizer}", "cpu", parallel);
        Assert.Contains("rank 0 last step replayed: True", output);
        Assert.Contains("rank 1 last step replayed: True", output);
        AssertSameWeights(reference, parallel, 2e-5, "2 ranks x 32 against 1 x 64");
        for (int i = 0; i < reference.Weights.Count; i++)
        {
            var trained = reference.Weights[i].Value.ToArray();
            double moved = trained.Zip(initial.Weights[i].Value.ToArray(), (e, s) => Math.Abs((double)e - s)).Max();
            Assert.True(moved > 1e-3, $"{reference.Weights[i].Name} did not change in training ({moved:g3})");
        }
    }

    [Fact]
    public void GradientsOfOtherDevicesAreAveragedThroughHostMemory()
    {
        // ILGPU's CPU accelerator stands in for a GPU: its gradients reach MPI through host copies.
        using var reference = Scenarios.TrainStaged(Device.Cpu, 16);
        using var parallel = Scenarios.CreateMlp(Device.Cpu);
        TrainOnRanks("staged", "ilgpu-cpu", parallel);
        AssertSameWeights(reference, parallel, 1e-4, "2 ilgpu-cpu ranks x 8 against 1 cpu process x 16");
    }

    [Fact]
    public void TrainOnBatchAveragesGradientsOverTheRanks()
    {
        using var reference = Scenarios.TrainOnBatches(0, 1);
        using var parallel = Scenarios.CreateMlp(Device.Cpu);
        TrainOnRanks("trainonbatch", "cpu", parallel);
        AssertSameWeights(reference, parallel, 1e-5, "TrainOnBatch on 2 ranks x 32 against 1 x 64");
    }

    [Fact]
    public void CollectivesGiveExactResultsOnEveryTypeAndDevice()
    {
        var (code, output, _) = MpiJob.Run(2, "collectives");
        Assert.True(code == 0, output);
        Assert.Contains("rank 0 ok", output);
        Assert.Contains("rank 1 ok", output);
    }

    [Theory]
    [InlineData("kill", "exited on signal 9")]
    [InlineData("throw", "failed on rank 1 of 2: InvalidOperationException: a failure injected at step 5")]
    public void ARankThatFailsEndsTheWholeJobNamingIt(string how, string expected)
    {
        // The epoch would take minutes: the job must end within seconds of rank 1's failure, rank 0 never finishing.
        var (code, output, elapsed) = MpiJob.Run(2, $"fail {how}", TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, code);
        Assert.Contains(expected, output);
        Assert.Contains("rank 1", output);
        Assert.DoesNotContain("finished training", output);
        Assert.True(elapsed < TimeSpan.FromSeconds(45), $"the job took {elapsed.TotalSeconds:0.0} s to end");
    }

    [Theory]
    [InlineData("batch", "needs the same batch size on every rank; rank 1 has batch size 16 where rank 0 has 32")]
    [InlineData("model", "needs the same model on every rank; rank 1 has a different model")]
    [InlineData("seed", "needs the same shuffling seed on every rank; rank 1 has shuffling seed 4 where rank 0 has 3")]
    [InlineData("tiny", "needs at least one training example per rank (2 ranks); the data has 1")]
    public void RanksThatDisagreeGetTheSameClearErrorOnEveryRank(string what, string expected)
    {
        var (code, output, _) = MpiJob.Run(2, $"mismatch {what}");
        Assert.NotEqual(0, code);
        Assert.Contains($"rank 0 error: sequential: data-parallel Fit {expected}", output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"rank 1 error: sequential: data-parallel Fit {expected}", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void ACheckpointOfTwoRanksResumesOnOne()
    {
        string path = Path.Combine(Path.GetTempPath(), $"lepton-resume-{Guid.NewGuid():N}.lepton");
        try
        {
            var (code, output, _) = MpiJob.Run(2, $"checkpoint {path} 1");
            Assert.True(code == 0, output);
            Assert.Contains("rank 0 iterations 0 -> 10", output);
            Assert.Contains("rank 1 iterations 0 -> 10", output);

            // One rank of batch 32 takes 20 steps an epoch; it starts from the two-rank run's optimizer state.
            (code, output, _) = MpiJob.Run(1, $"checkpoint {path} 1");
            Assert.True(code == 0, output);
            Assert.Contains("rank 0 iterations 10 -> 30", output);
            using var resumed = Model.Load(path);
            Assert.Equal(30, resumed.Optimizer!.Iterations);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Runs a scenario that trains on two ranks and saves rank 0's weights, and loads them into <paramref name="model"/>.</summary>
    private static string TrainOnRanks(string scenario, string device, Model model)
    {
        string path = Path.Combine(Path.GetTempPath(), $"lepton-{scenario.Split(' ')[0]}-{Guid.NewGuid():N}.lepton");
        try
        {
            var (code, output, _) = MpiJob.Run(2, $"{scenario} {path}", device: device);
            Assert.True(code == 0, output);
            model.LoadWeights(path);
            return output;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void AssertSameWeights(Model expected, Model actual, double tolerance, string what)
    {
        for (int i = 0; i < expected.Weights.Count; i++)
        {
            var e = expected.Weights[i].Value.ToArray();
            var a = actual.Weights[i].Value.ToArray();
            double scale = 1 + e.Max(v => Math.Abs((double)v));
            double worst = e.Zip(a, (x, y) => Math.Abs((double)x - y)).Max();
            Assert.True(worst <= tolerance * scale, $"{expected.Weights[i].Name}: {what} differ by {worst:g3}");
        }
    }
}
