// Ops against values PyTorch produced (tests/golden/golden.json, written by make_golden.py):
// outputs and gradients of sum(y * w) with w = linspace(-1, 1), for the conventions most easily
// got wrong. The JSON is read, never regenerated, by the tests.
using System.Text.Json;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class GoldenTests : BackendTests
{
    private static readonly Lazy<Dictionary<string, JsonElement>> Cases = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.Clone());
    });

    public static TheoryData<string> Names => new(Cases.Value.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        var c = Cases.Value[name];
        var inputs = c.GetProperty("inputs").EnumerateArray().Select(Read).ToArray();
        var grads = c.GetProperty("grads").EnumerateArray().ToArray();
        var tensors = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            tensors[i] = T(inputs[i]);
            tensors[i].RequiresGrad = grads[i].ValueKind != JsonValueKind.Null;
        }

        var y = Op(name, tensors);
        var expected = Read(c.GetProperty("output"));
        Check.Close(expected, y, 2e-5, 2e-5, name);
        var weights = Enumerable.Range(0, expected.Length).Select(i => expected.Length == 1 ? -1f : (float)(-1 + (2.0 * i / (expected.Length - 1)))).ToArray();
        (y * T(weights, y.Shape)).Sum().Backward();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (grads[i].ValueKind != JsonValueKind.Null)
            {
                var g = grads[i].EnumerateArray().Select(e => e.GetDouble()).ToArray();
                Check.Close(g, tensors[i].Grad!.ToArray(), 2e-5, 2e-4, $"{name} gradient {i}");
            }
        }
    }

    [Fact]
    public void BatchNormRunningStatisticsMatchPyTorch()
    {
        var c = Cases.Value["batch_norm_train"];
        var x = T(Read(c.GetProperty("inputs")[0]));
        var mean = Tensor.Zeros([3], device: Device);
        var variance = Tensor.Ones([3], device: Device);
        x.BatchNorm(mean, variance, training: true, momentum: 0.1f);
        var extra = c.GetProperty("extra");
        Check.Close([.. extra.GetProperty("running_mean").EnumerateArray().Select(e => e.GetDouble())], mean.ToArray(), 1e-6, 1e-5, "running mean");
        Check.Close([.. extra.GetProperty("running_var").EnumerateArray().Select(e => e.GetDouble())], variance.ToArray(), 1e-6, 1e-5, "running var");
    }

    private static Tensor Op(string name, Tensor[] t) => name switch
    {
        "conv2d_stride2_pad1_dil2_groups2" => t[0].Conv2d(t[1], t[2], (2, 2), (1, 1), (2, 2), groups: 2),
        "conv2d_1x1" => t[0].Conv2d(t[1]),
        "max_pool2d_k3_s2_p1" => t[0].MaxPool2d((3, 3), (2, 2), (1, 1)),
        "avg_pool2d_k3_s2_p1" => t[0].AvgPool2d((3, 3), (2, 2), (1, 1)),
        "avg_pool2d_k3_s2_p1_exclude_pad" => t[0].AvgPool2d((3, 3), (2, 2), (1, 1), countIncludePad: false),
        "log_softmax_dim0" => t[0].LogSoftmax(0),
        "softmax_dim1" => t[0].Softmax(1),
        "cross_entropy_smoothing" => Tensor.CrossEntropy(t[0], Tensor.FromArray(t[1].ToInt32Array(), t[1].Shape, t[1].Device), labelSmoothing: 0.2f),
        "gelu" => t[0].Gelu(),
        "softplus" => t[0].Softplus(),
        "bce_with_logits" => Tensor.BinaryCrossEntropyWithLogits(t[0], t[1]),
        "batch_norm_train" => t[0].BatchNorm(null, null, t[1], t[2], training: true),
        "matmul_broadcast_batch" => t[0].MatMul(t[1]),
        "logsumexp_dims" => t[0].LogSumExp([0, 2]),
        "var_unbiased" => t[0].Var([1], keepDim: true),
        _ => throw new ArgumentException($"no op for golden case {name}"),
    };

    private static Nd Read(JsonElement e) =>
        new([.. e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble())], [.. e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32())]);
}

public sealed class GoldenTestsCpu : GoldenTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class GoldenTestsIlgpuCpu : GoldenTests
{
    protected override Device Device => Device.IlgpuCpu;
}
