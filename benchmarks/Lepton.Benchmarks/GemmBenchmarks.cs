// SGEMM through the public API (Tensor.MatMul) at square sizes, on the CPU backend.
using BenchmarkDotNet.Attributes;

namespace Lepton.Benchmarks;

public class GemmBenchmarks : IHasFlops
{
    private Tensor a = null!;
    private Tensor b = null!;

    [Params(64, 128, 256, 512, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        a = Tensor.RandN([N, N], g);
        b = Tensor.RandN([N, N], g);
    }

    [Benchmark]
    public void MatMul()
    {
        using var c = a.MatMul(b);
    }

    public double Flops(string method) => 2.0 * N * N * N;
}
