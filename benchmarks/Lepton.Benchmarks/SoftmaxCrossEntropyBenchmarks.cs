// Softmax cross-entropy from logits with integer labels, forward and backward, at a small
// classifier head (64 x 10) and an ImageNet-sized one (256 x 1000).
using BenchmarkDotNet.Attributes;

namespace Lepton.Benchmarks;

public class SoftmaxCrossEntropyBenchmarks
{
    private Tensor logits = null!;
    private Tensor labels = null!;

    [Params("64x10", "256x1000")]
    public string Shape { get; set; } = "64x10";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Shape.Split('x');
        int n = int.Parse(parts[0]), c = int.Parse(parts[1]);
        var g = new Generator(1);
        logits = Tensor.RandN([n, c], g).RequiresGrad_();
        labels = Tensor.RandInt(0, c, [n], g);
    }

    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = Tensor.NewScope();
        var loss = Tensor.CrossEntropy(logits, labels);
        loss.Backward();
        logits.ZeroGrad();
        return loss.Item();
    }

    [Benchmark]
    public float Forward()
    {
        using var scope = Tensor.NewScope();
        return Tensor.CrossEntropy(logits, labels).Item();
    }
}
