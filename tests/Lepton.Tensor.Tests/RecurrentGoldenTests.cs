// Tensor.Lstm / Tensor.Gru and the LSTM / GRU layers against PyTorch's nn.LSTM and nn.GRU
// (tests/golden/rnn_golden.json, written by make_rnn_golden.py): PyTorch weights load unchanged.
using System.Text.Json;
using Lepton.Nn.Layers;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class RecurrentGoldenTests : BackendTests
{
    private static readonly Lazy<JsonElement> Golden = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "rnn_golden.json"))).RootElement.Clone());

    [Fact]
    public void LstmMatchesPyTorch()
    {
        var c = Case("lstm");
        var (output, h, cState) = Tensor.Lstm(Read(c, "x", 2, 5, 3), Read(c, "weight_ih", 16, 3), Read(c, "weight_hh", 16, 4), Read(c, "bias_ih", 16), Read(c, "bias_hh", 16), Read(c, "h0", 2, 4), Read(c, "c0", 2, 4));
        Expect(c, "output", output);
        Expect(c, "h", h);
        Expect(c, "c", cState);

        // The layer holds the same weights, with one bias: bias_ih + bias_hh.
        var layer = new LSTM(4, returnSequences: true, returnState: true) { Device = Device };
        layer.Call(Read(c, "x", 2, 5, 3));
        layer.Kernel.Assign(Read(c, "weight_ih", 16, 3));
        layer.RecurrentKernel.Assign(Read(c, "weight_hh", 16, 4));
        layer.Bias!.Assign(Read(c, "bias_ih", 16) + Read(c, "bias_hh", 16));
        var outs = layer.CallWithState([Read(c, "x", 2, 5, 3), Read(c, "h0", 2, 4), Read(c, "c0", 2, 4)]);
        Expect(c, "output", outs[0]);
        Expect(c, "h", outs[1]);
        Expect(c, "c", outs[2]);
    }

    [Fact]
    public void GruMatchesPyTorch()
    {
        var c = Case("gru");
        var (output, h) = Tensor.Gru(Read(c, "x", 2, 5, 3), Read(c, "weight_ih", 12, 3), Read(c, "weight_hh", 12, 4), Read(c, "bias_ih", 12), Read(c, "bias_hh", 12), Read(c, "h0", 2, 4));
        Expect(c, "output", output);
        Expect(c, "h", h);

        // The layer's [2, 3 * units] bias holds bias_ih then bias_hh, as Keras's reset_after GRU does.
        var layer = new GRU(4, returnSequences: true) { Device = Device };
        layer.Call(Read(c, "x", 2, 5, 3));
        layer.Kernel.Assign(Read(c, "weight_ih", 12, 3));
        layer.RecurrentKernel.Assign(Read(c, "weight_hh", 12, 4));
        layer.Bias!.Assign(Tensor.Stack([Read(c, "bias_ih", 12), Read(c, "bias_hh", 12)]));
        Expect(c, "output", layer.Call([Read(c, "x", 2, 5, 3), Read(c, "h0", 2, 4)]));
    }

    private static JsonElement Case(string name) =>
        Golden.Value.GetProperty("cases").EnumerateArray().First(e => e.GetProperty("name").GetString() == name);

    private Tensor Read(JsonElement c, string key, params int[] shape) =>
        T([.. c.GetProperty(key).EnumerateArray().Select(e => e.GetSingle())], shape);

    private static void Expect(JsonElement c, string key, Tensor actual) =>
        Check.Close([.. c.GetProperty(key).EnumerateArray().Select(e => e.GetDouble())], actual.ToArray(), 1e-5, 0, $"{c.GetProperty("name").GetString()} {key}");
}

public sealed class RecurrentGoldenTestsCpu : RecurrentGoldenTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class RecurrentGoldenTestsIlgpuCpu : RecurrentGoldenTests
{
    protected override Device Device => Device.IlgpuCpu;
}
