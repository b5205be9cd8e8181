// Inference of the samples' seed CNNs, ours against ONNX Runtime running our ONNX export of the very
// same model (CPU execution provider, as many intra-op threads as our CPU backend uses), at batch 1
// and batch 64, side by side in one run:
//   dotnet run -c Release --project benchmarks/Lepton.Benchmarks -- --filter '*OnnxInference*' --job short
using BenchmarkDotNet.Attributes;
using Lepton.Backends.Cpu;
using Lepton.Nn;
using Lepton.Samples;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Lepton.Benchmarks;

public class OnnxInferenceBenchmarks : IDisposable
{
    private Model model = null!;
    private Tensor x = null!;
    private InferenceSession session = null!;
    private SessionOptions options = null!;
    private List<NamedOnnxValue> feed = null!;
    private string path = "";

    [Params("mnist-seed", "cifar-seed")]
    public string Model { get; set; } = "mnist-seed";

    [Params(1, 64)]
    public int Batch { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        Generator.ManualSeed(1);
        (model, int[] example) = Model == "mnist-seed" ? ((Model)Architectures.MnistSeed(), new[] { 1, 28, 28 }) : (Architectures.CifarSeed(), new[] { 3, 32, 32 });
        x = Tensor.Rand([Batch, .. example], new Generator(2)).DetachFromScope();
        path = Path.Combine(Path.GetTempPath(), $"lepton-bench-{Model}-{Guid.NewGuid():N}.onnx");
        model.ExportOnnx(path);
        options = new SessionOptions { IntraOpNumThreads = CpuBackend.Threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        session = new InferenceSession(path, options);
        feed = [NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), new DenseTensor<float>(x.ToArray(), [Batch, .. example]))];
        for (int i = 0; i < 3; i++)
        {
            Lepton();
            OnnxRuntime();
        }
    }

    /// <summary>Our Predict on the batch (captured and replayed after its first calls, as for any user).</summary>
    [Benchmark(Baseline = true)]
    public float Lepton()
    {
        using var y = model.Predict(x, batchSize: Batch);
        return y.Numel;
    }

    /// <summary>ONNX Runtime on our exported file, the same batch.</summary>
    [Benchmark]
    public float OnnxRuntime()
    {
        using var results = session.Run(feed);
        return results.Count;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        session?.Dispose();
        options?.Dispose();
        model?.Dispose();
        x?.Dispose();
        File.Delete(path);
        GC.SuppressFinalize(this);
    }
}
