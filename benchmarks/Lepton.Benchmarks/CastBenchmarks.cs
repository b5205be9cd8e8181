// Element-type casts of 16M values on the CPU backend, beside a float32 copy of the same tensor: the copy is the
// memory bandwidth a cast can hope for (GB/s counts the bytes read and written).
using BenchmarkDotNet.Attributes;

namespace Lepton.Benchmarks;

public class CastBenchmarks : IHasBytes
{
    private const int Count = 16 << 20;
    private Tensor source = null!;

    /// <summary>"from->to", or "copy" for a float32 copy.</summary>
    [Params("copy", "float32->bfloat16", "bfloat16->float32", "float32->float16", "float16->float32", "float32->int8", "int8->float32")]
    public string Cast { get; set; } = "copy";

    [GlobalSetup]
    public void Setup()
    {
        using var values = Tensor.RandN([Count], new Generator(1));
        source = values.To(From).DetachFromScope();
    }

    [GlobalCleanup]
    public void Cleanup() => source.Dispose();

    [Benchmark]
    public DType Run()
    {
        using var result = Cast == "copy" ? source.Clone() : source.To(To);
        return result.DType;
    }

    public double Bytes(string method) => (double)Count * (From.Size() + To.Size());

    private DType From => Cast == "copy" ? DType.Float32 : DTypeExtensions.Parse(Cast.Split("->")[0])!.Value;

    private DType To => Cast == "copy" ? DType.Float32 : DTypeExtensions.Parse(Cast.Split("->")[1])!.Value;
}
