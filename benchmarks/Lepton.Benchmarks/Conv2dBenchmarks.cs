// Conv2d forward and both backward passes for the MNIST CNN's first layer, and the CPU's fused kernels for it:
// x [64, 1, 28, 28], w [32, 1, 3, 3] -> y [64, 32, 26, 26], 2x2 max-pooled to [64, 32, 13, 13].
using BenchmarkDotNet.Attributes;
using Lepton.Backends;

namespace Lepton.Benchmarks;

public class Conv2dBenchmarks : IHasFlops
{
    private readonly Conv2dGeometry geometry = new(64, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1);
    private readonly Pool2dGeometry pooling = new(64, 32, 26, 26, 2, 2, 2, 2, 0, 0, 0, 0);
    private Tensor x = null!;
    private Tensor w = null!;
    private Tensor y = null!;
    private Tensor dy = null!;
    private Tensor dx = null!;
    private Tensor dw = null!;
    private Tensor bias = null!;
    private Tensor pooled = null!;
    private Tensor indices = null!;
    private Tensor pooledGrad = null!;

    private IBackend Backend => Device.Cpu.Backend;

    /// <summary>The CPU's fused kernels; those for pooling need AVX-512 here and throw NotSupportedException without it.</summary>
    private IFusedKernels Fused => (IFusedKernels)Device.Cpu.Backend;

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
        bias = Tensor.RandN([32], g);
        pooled = Tensor.Zeros([64, 32, 13, 13]);
        indices = Tensor.Zeros([64, 32, 13, 13], DType.Int32);
        pooledGrad = Tensor.RandN([64, 32, 13, 13], g);
        Fused.Conv2dBiasReluForward(geometry, x.Buffer, w.Buffer, bias.Buffer, y.Buffer);
        Backend.MaxPool2dForward(pooling, y.Buffer, pooled.Buffer, indices.Buffer);
    }

    [Benchmark]
    public void Forward() => Backend.Conv2dForward(geometry, x.Buffer, w.Buffer, y.Buffer);

    [Benchmark]
    public void BackwardData() => Backend.Conv2dBackwardData(geometry, dy.Buffer, w.Buffer, dx.Buffer);

    [Benchmark]
    public void BackwardFilter() => Backend.Conv2dBackwardFilter(geometry, x.Buffer, dy.Buffer, dw.Buffer);

    [Benchmark]
    public void BiasReluForward() => Fused.Conv2dBiasReluForward(geometry, x.Buffer, w.Buffer, bias.Buffer, y.Buffer);

    [Benchmark]
    public void BiasReluMaxPoolForward() =>
        Fused.Conv2dBiasReluMaxPoolForward(geometry, pooling, x.Buffer, w.Buffer, bias.Buffer, pooled.Buffer, indices.Buffer);

    [Benchmark]
    public void PooledBackwardFilter() =>
        Fused.Conv2dPooledBackward(geometry, pooling, x.Buffer, w.Buffer, pooledGrad.Buffer, indices.Buffer, null, dw.Buffer);

    /// <summary>Every method does the convolution's N*K*P*Q*C*R*S multiply-adds (pooling, bias and ReLU add a few per output).</summary>
    public double Flops(string method) => 2.0 * 64 * 32 * 26 * 26 * 1 * 3 * 3;
}
