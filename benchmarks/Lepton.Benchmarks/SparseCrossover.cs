// Where the sparse (CSR) inference kernel starts beating the dense GEMM: a Dense layer and a 1x1 convolution,
// eager inference at batch 1 and 64, over kernel sparsities. Run with: dotnet run -c Release -- --sparse-crossover
using System.Diagnostics;
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Benchmarks;

internal static class SparseCrossover
{
    private static readonly double[] Sparsities = [0.5, 0.6, 0.7, 0.8, 0.85, 0.875, 0.9, 0.95, 0.98];

    public static void Run(string? only = null)
    {
        filter = only;
        Console.WriteLine($"threads {Environment.ProcessorCount}; median of timed runs; dense / sparse > 1 means sparse wins");
        Console.WriteLine("| case | batch | " + string.Join(" | ", Sparsities.Select(s => $"{s * 100:0.#}%")) + " |");
        Console.WriteLine("|---|---:|" + string.Concat(Sparsities.Select(_ => "---:|")));
        Case("Dense 5408->128", () => new Dense(128, inputShape: [5408]), batch => [batch, 5408], [1, 64]);
        Case("Dense 576->64", () => new Dense(64, inputShape: [576]), batch => [batch, 576], [1, 64]);
        Case("Dense 512->512", () => new Dense(512, inputShape: [512]), batch => [batch, 512], [1, 64]);
        Case("Dense 1024->1024", () => new Dense(1024, inputShape: [1024]), batch => [batch, 1024], [1, 64]);
        Case("Conv1x1 64->64 16x16", () => new Conv2D(64, 1, inputShape: [64, 16, 16]), batch => [batch, 64, 16, 16], [1, 64]);
        Case("Conv1x1 256->256 8x8", () => new Conv2D(256, 1, inputShape: [256, 8, 8]), batch => [batch, 256, 8, 8], [1]);
    }

    private static string? filter;

    private static void Case(string name, Func<Layer> make, Func<int, int[]> inputShape, int[] batches)
    {
        if (filter is not null && !name.Contains(filter, StringComparison.Ordinal))
        {
            return;
        }

        foreach (int batch in batches)
        {
            var cells = new List<string>();
            foreach (double sparsity in Sparsities)
            {
                using var layer = make();
                var kernel = layer.Weights[0];
                var g = new Generator(7);
                using (Tensor.NoGrad())
                {
                    var keep = Tensor.Rand(kernel.Shape, g) >= (float)sparsity;
                    kernel.Assign(kernel.Value * keep.To(DType.Float32));
                }

                using var x = Tensor.RandN(inputShape(batch), g);
                double dense = Time(layer, x, false), sparse = Time(layer, x, true);
                cells.Add(Environment.GetEnvironmentVariable("SPARSE_US") is null ? $"{dense / sparse:F2}" : $"{dense:F0}/{sparse:F0}");
            }

            Console.WriteLine($"| {name} | {batch} | {string.Join(" | ", cells)} |");
        }

        SparseKernel.Forced = null;
    }

    /// <summary>Median microseconds of one inference call, dense or sparse.</summary>
    private static double Time(Layer layer, Tensor x, bool sparse)
    {
        SparseKernel.Forced = sparse;
        using var noGrad = Tensor.NoGrad();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        for (int i = 0; i < 5 || (total.ElapsedMilliseconds < 300 && i < 2000); i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var scope = Tensor.NewScope();
            var y = layer.Call(x);
            _ = y.Numel;
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }
}
