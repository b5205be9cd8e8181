// Conv2d forward and both backward passes for the MNIST CNN's first layer:
// x [64, 1, 28, 28], w [32, 1, 3, 3] -> y [64, 32, 26, 26].
using BenchmarkDotNet.Attributes;
using Lepton.Backends;

namespace Lepton.Benchmarks;

public class Conv2dBenchmarks : IHasFlops
{
    private readonly Conv2dGeometry geometry = new(64, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    private Tensor x = null!;
    private Tensor w = null!;
    private Tensor y = null!;
    private Tensor dy = null!;
    private Tensor dx = null!;
    private Tensor dw = null!;

    private IBackend Backend => Device.Cpu.Backend;

    [GlobalSetup]
    public void Setup()
    {
        var g = new Generator(1);
        x = Tensor.RandN([64, 1, 28, 28], g);
        w = Tensor.RandN([32, 1, 3, 3], g);
        y = Tensor.Zeros([64, 32, 26, 26]);
        dy = Tensor.RandN([64, 32, 26, 26], g);
        dx = Tensor.Zeros([64, 1, 28, 28]);
        dw = Tensor.Zeros([32, 1, 3, 3]);
    }

    [Benchmark]
    public void Forward() => Backend.Conv2dForward(geometry, x.Buffer, w.Buffer, y.Buffer);

    [Benchmark]
    public void BackwardData() => Backend.Conv2dBackwardData(geometry, dy.Buffer, w.Buffer, dx.Buffer);

    [Benchmark]
    public void BackwardFilter() => Backend.Conv2dBackwardFilter(geometry, x.Buffer, dy.Buffer, dw.Buffer);

    /// <summary>Forward, backward-data and backward-filter each do N*K*P*Q*C*R*S multiply-adds.</summary>
    public double Flops(string method) => 2.0 * 64 * 32 * 26 * 26 * 1 * 3 * 3;
}
