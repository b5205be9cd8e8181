// Data-parallel measurements, run under mpirun:
//   --allreduce                        our in-place float32 all-reduce, 1 KB to 64 MB (timed as benchmarks/mpi/allreduce.c)
//   --data-parallel MODEL STEPS MB [B] Fit STEPS steps of a sample's model with MB-megabyte gradient buckets and B
//                                      examples per rank (default 64 / ranks): time per step, all-reduce time left
//                                      exposed after backward, and how much backward hid
using System.Diagnostics;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Optimizers;
using Lepton.Samples;

namespace Lepton.Benchmarks;

internal static class DataParallel
{
    public static void AllReduce()
    {
        using var dist = Distributed.Initialize();
        for (long bytes = 1024; bytes <= 64 << 20; bytes *= 4)
        {
            using var data = Tensor.Ones([(int)(bytes / sizeof(float))], device: Device.Cpu);
            double mean = MeanSeconds(dist, () => dist.AllReduce(data), bytes <= 1 << 20 ? 200 : 5);
            if (dist.IsPrimary)
            {
                Console.WriteLine($"{bytes} {mean * 1e6:F3}");
            }
        }
    }

    public static void Training(string modelName, int steps, double bucketMegabytes, int? batchPerRank = null)
    {
        using var dist = Distributed.Initialize();
        Generator.ManualSeed(1);
        var (model, shape) = modelName switch
        {
            "mnist-seed" => ((Model)Architectures.MnistSeed(logits: true), new[] { 1, 28, 28 }),
            "cifar-seed" => (Architectures.CifarSeed(), new[] { 3, 32, 32 }),
            _ => throw new ArgumentException($"Unknown model '{modelName}'; use mnist-seed or cifar-seed."),
        };
        model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        model.GradientBucketBytes = (long)(bucketMegabytes * (1 << 20));
        int batch = batchPerRank ?? 64 / dist.WorldSize;
        var g = new Generator(2);
        int examples = steps * batch * dist.WorldSize;
        using var x = Tensor.RandN([examples, .. shape], g);
        using var y = Tensor.RandInt(0, 10, [examples], g);
        var loader = new DataLoader(new TensorDataset(x, y), batch, shuffle: true, seed: 1, device: Device.Cpu);

        model.Fit(loader, epochs: 1, verbose: 0);
        var clock = Stopwatch.StartNew();
        model.Fit(loader, epochs: 1, verbose: 0);
        double perStep = clock.Elapsed.TotalSeconds / steps;
        double exposed = model.LastExposedCommunicationSeconds / steps;

        // The same gradients' all-reduce alone, with nothing to hide it behind.
        long parameters = model.TrainableWeights.Sum(w => (long)w.Value.Numel);
        using var gradients = Tensor.Ones([(int)parameters], device: Device.Cpu);
        double alone = MeanSeconds(dist, () => dist.AllReduce(gradients), 20);
        if (dist.IsPrimary)
        {
            Console.WriteLine(
                $"| {modelName} | {dist.WorldSize} x batch {batch} | {bucketMegabytes:G} MB | {perStep * 1e3:F2} ms | {parameters * 4 / 1048576.0:F2} MB | " +
                $"{alone * 1e3:F2} ms | {exposed * 1e3:F2} ms | {Math.Clamp(1 - (exposed / alone), 0, 1):P0} |");
        }
    }

    /// <summary>The mean time of <paramref name="collective"/> over enough repetitions for about 0.2 s (the count agreed by all ranks).</summary>
    private static double MeanSeconds(Distributed dist, Action collective, int warmup)
    {
        // Warm up long enough for the JIT's tiers to settle (the C program has nothing to settle), then take the repetition
        // count from ten calls; every rank makes the same number of calls, or the collectives would not pair up.
        for (int i = 0; i < warmup; i++)
        {
            collective();
        }

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 10; i++)
        {
            collective();
        }

        using var reps = Tensor.Full([1], (float)Math.Clamp(0.2 / Math.Max(clock.Elapsed.TotalSeconds / 10, 1e-7), 5, 20000), device: Device.Cpu);
        dist.Broadcast(reps);
        int count = (int)reps.Item();
        dist.Barrier();
        clock.Restart();
        for (int i = 0; i < count; i++)
        {
            collective();
        }

        return clock.Elapsed.TotalSeconds / count;
    }
}
