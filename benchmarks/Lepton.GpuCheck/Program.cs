// The GPU self-check: runs every parity case of the test suite (float32 and int8) on a device against the CPU
// backend, then times the main kernels, int8 convolution and dense beside the float32 ones of the same shapes, and
// prints achieved GFLOP/s and GB/s next to the device's peak.
//   Lepton.GpuCheck [--device cuda:0|ilgpu-cpu] [--quick] [--parity-only] [--output results.md]
using System.Diagnostics;
using System.Text;
using Lepton;
using Lepton.Backends;
using Lepton.Backends.Ilgpu;
using Lepton.Tests.Support;

string deviceName = Arg("--device") ?? "cuda:0";
bool quick = args.Contains("--quick");
string? output = Arg("--output");
var report = new StringBuilder();

Device device;
try
{
    device = Device.Parse(deviceName);
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var backend = (IlgpuBackend)device.Backend;
Line($"# Lepton.Tensor GPU self-check, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Line();
Line($"Device: {backend.AcceleratorInfo}");
Line($"Peak: {Format(backend.PeakGflops, "GFLOP/s FP32")}, {Format(backend.PeakGBps, "GB/s memory")}");
Line();
Line("## Parity with the CPU backend");
Line();
Line("| check | result | ms |");
Line("|---|---|---:|");
int failures = 0;
foreach (var (name, run) in ParityChecks.Cases())
{
    var clock = Stopwatch.StartNew();
    string result;
    try
    {
        run(new ParityChecks(device));
        result = "pass";
    }
    catch (Exception e)
    {
        failures++;
        result = "FAIL: " + e.Message.ReplaceLineEndings(" ");
    }

    Line($"| {name} | {result} | {clock.Elapsed.TotalMilliseconds:F0} |");
}

foreach (var (name, run) in QuantizedParityChecks.Cases())
{
    var clock = Stopwatch.StartNew();
    string result;
    try
    {
        run(new QuantizedParityChecks(device));
        result = "pass";
    }
    catch (Exception e)
    {
        failures++;
        result = "FAIL: " + e.Message.ReplaceLineEndings(" ");
    }

    Line($"| {name} | {result} | {clock.Elapsed.TotalMilliseconds:F0} |");
}

Line();
Line($"{failures} of {ParityChecks.Cases().Count() + QuantizedParityChecks.Cases().Count()} parity checks failed.");
var int8Parity = new List<string>();
if (!args.Contains("--parity-only"))
{
    Timings();
    Line();
    Line("## Int8 outputs of the timed shapes against the CPU backend (bit for bit)");
    Line();
    Line("| kernel | shape | result |");
    Line("|---|---|---|");
    foreach (var row in int8Parity)
    {
        failures += row.Contains("FAIL", StringComparison.Ordinal) ? 1 : 0;
        Line(row);
    }
}

Line();
Line("## First-use compile time per kernel");
Line();
Line("| kernel | ms |");
Line("|---|---:|");
foreach (var (kernel, ms) in backend.CompileMilliseconds.OrderByDescending(k => k.Value))
{
    Line($"| {kernel} | {ms:F0} |");
}

Line($"| **all {backend.CompileMilliseconds.Count} kernels** | **{backend.CompileMilliseconds.Values.Sum():F0}** |");
if (output is not null)
{
    File.WriteAllText(output, report.ToString());
}

return failures == 0 ? 0 : 1;

void Timings()
{
    Line();
    Line("## Kernel timings (median of repeats after a warm-up launch)");
    Line();
    Line("| kernel | shape | ms | GFLOP/s | % FP32 peak | GB/s | % memory peak |");
    Line("|---|---|---:|---:|---:|---:|---:|");
    foreach (int n in quick ? new[] { 64, 128 } : [1024, 2048, 4096, 8192])
    {
        var a = Random(n * n, 1);
        var b = Random(n * n, 2);
        var c = backend.Allocate(n * n);
        var args = new GemmArgs(false, false, n, n, n, 1f, a, 0, n, 0, b, 0, n, 0, 0f, c, 0, n, 0);
        double ms = Time(() => backend.Gemm(args), n >= 4096 ? 5 : 20);
        Row("SGEMM", $"{n}x{n}x{n}", ms, 2.0 * n * n * n, 3.0 * 4 * n * n);
        Free(a, b, c);
        Int8Dense(n, n, n);
    }

    int batch = quick ? 2 : 64;
    (string Name, Conv2dGeometry G)[] layers =
    [
        ("conv1 3->32", new Conv2dGeometry(batch, 3, 32, 32, 32, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
        ("conv2 32->64", new Conv2dGeometry(batch, 32, 15, 15, 64, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
        ("conv3 64->64", new Conv2dGeometry(batch, 64, 6, 6, 64, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1)),
    ];
    foreach (var (name, g) in layers)
    {
        int xs = g.N * g.C * g.H * g.W, ws = g.K * g.C * g.R * g.S, ys = g.N * g.K * g.P * g.Q;
        var x = Random(xs, 3);
        var w = Random(ws, 4);
        var y = backend.Allocate(ys);
        var dy = Random(ys, 5);
        var dx = backend.Allocate(xs);
        var dw = backend.Allocate(ws);
        double flops = 2.0 * g.N * g.K * g.CPerGroup * g.R * g.S * g.P * g.Q;
        string shape = $"N{g.N} {g.C}x{g.H}x{g.W} -> {g.K}x{g.P}x{g.Q}";
        foreach (var algorithm in Enum.GetValues<ConvolutionAlgorithm>())
        {
            backend.Convolution = algorithm;
            Row($"CIFAR {name} forward, {algorithm}", shape, Time(() => backend.Conv2dForward(g, x, w, y), 20), flops, 4.0 * (xs + ws + ys));
            Row($"CIFAR {name} backward filter, {algorithm}", shape, Time(() => backend.Conv2dBackwardFilter(g, x, dy, dw), 20), flops, 4.0 * (xs + ws + ys));
        }

        backend.Convolution = ConvolutionAlgorithm.Im2Col;
        Row($"CIFAR {name} backward data", shape, Time(() => backend.Conv2dBackwardData(g, dy, w, dx), 20), flops, 4.0 * (xs + ws + ys));
        Free(x, w, y, dy, dx, dw);
        Int8Conv($"CIFAR {name} int8 forward", g);
    }

    foreach (int rows in quick ? new[] { 64 } : [256, 4096])
    {
        int cols = 1000;
        var logits = Random(rows * cols, 6);
        var labels = backend.AllocateBytes(4L * rows);
        int[] labelValues = [.. Enumerable.Range(0, rows).Select(i => i * 7 % cols)];
        backend.UploadBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(labelValues.AsSpan()), labels, 0);
        var loss = backend.Allocate(rows);
        var probabilities = backend.Allocate(rows * cols);
        var dloss = Random(rows, 7);
        var dlogits = backend.Allocate(rows * cols);
        double ms = Time(() =>
        {
            backend.SoftmaxCrossEntropy(logits, labels, rows, cols, 0f, loss, probabilities);
            backend.SoftmaxCrossEntropyBackward(probabilities, labels, dloss, rows, cols, 0f, dlogits);
        }, 20);

        // Forward reads the logits and writes the probabilities; backward reads them and writes the gradient.
        Row("softmax cross-entropy fwd+bwd", $"{rows}x{cols}", ms, 0, 4.0 * 4 * rows * cols);
        Free(logits, labels, loss, probabilities, dloss, dlogits);
    }

    int count = quick ? 1 << 16 : 1 << 24;
    var ea = Random(count, 8);
    var eb = Random(count, 9);
    var ey = backend.Allocate(count);
    double addMs = Time(() => backend.Binary(default(AddOp), StridedView.Dense(ea, [count]), StridedView.Dense(eb, [count]), ey, [count]), 20);
    Row("element-wise add", $"{count}", addMs, count, 3.0 * 4 * count);
    Free(ea, eb, ey);
}

// Int8 convolution and dense layers of the float32 shapes above: the int8 row's GFLOP/s column counts integer
// operations (2 per multiply-add) and has no peak to compare with. Each output is then compared with the CPU backend's.
void Int8Conv(string kernel, Conv2dGeometry g)
{
    var rng = new Random(g.K);
    int xs = g.N * g.C * g.H * g.W, ws = g.K * g.CPerGroup * g.R * g.S, ys = g.N * g.K * g.P * g.Q;
    var inputs = new[] { Bytes(rng, xs), Bytes(rng, ws), Multipliers(rng, g.K) };
    var (x, w, m) = (Upload(inputs[0]), Upload(inputs[1]), Upload(inputs[2]));
    var y = backend.AllocateBytes(ys);
    var epilogue = new QuantizedEpilogue(null, m, 3, true);
    double ms = Time(() => backend.QuantizedConv2d(g, x, 7, w, epilogue, y), 20);
    Row(kernel, $"N{g.N} {g.C}x{g.H}x{g.W} -> {g.K}x{g.P}x{g.Q}", ms, 2.0 * g.N * g.K * g.CPerGroup * g.R * g.S * g.P * g.Q, xs + ws + ys, int8: true);
    Int8Parity(kernel, $"N{g.N} {g.C}x{g.H}x{g.W} -> {g.K}", y, ys, inputs, (k, b, output) => k.QuantizedConv2d(g, b[0], 7, b[1], new QuantizedEpilogue(null, b[2], 3, true), output));
    Free(x, w, m, y);
}

void Int8Dense(int rows, int depth, int units)
{
    var rng = new Random(rows);
    var inputs = new[] { Bytes(rng, rows * depth), Bytes(rng, units * depth), Multipliers(rng, units) };
    var (x, w, m) = (Upload(inputs[0]), Upload(inputs[1]), Upload(inputs[2]));
    var y = backend.AllocateBytes((long)rows * units);
    var epilogue = new QuantizedEpilogue(null, m, 3, false);
    double ms = Time(() => backend.QuantizedDense(x, 7, w, rows, depth, units, epilogue, y), rows >= 4096 ? 5 : 20);
    Row($"int8 dense{(backend.UsesDp4a ? " (dp4a)" : string.Empty)}", $"{rows}x{depth}x{units}", ms, 2.0 * rows * depth * units, (1.0 * rows * depth) + (units * depth) + (rows * units), int8: true);
    if ((long)rows * depth * units <= 1L << 30)
    {
        Int8Parity("int8 dense", $"{rows}x{depth}x{units}", y, (long)rows * units, inputs, (k, b, output) => k.QuantizedDense(b[0], 7, b[1], rows, depth, units, new QuantizedEpilogue(null, b[2], 3, false), output));
    }

    Free(x, w, m, y);
}

void Int8Parity(string kernel, string shape, DeviceBuffer onDevice, long bytes, byte[][] inputs, Action<IQuantizedKernels, DeviceBuffer[], DeviceBuffer> call)
{
    var cpu = Device.Cpu.Backend;
    if (cpu is not IQuantizedKernels kernels)
    {
        int8Parity.Add($"| {kernel} | {shape} | not checked: the CPU backend has no int8 kernels |");
        return;
    }

    var buffers = Array.ConvertAll(inputs, data =>
    {
        var b = cpu.AllocateBytes(data.Length);
        cpu.UploadBytes(data, b, 0);
        return b;
    });
    var expected = new byte[bytes];
    var actual = new byte[bytes];
    var output = cpu.AllocateBytes(bytes);
    call(kernels, buffers, output);
    cpu.DownloadBytes(output, 0, expected);
    backend.DownloadBytes(onDevice, 0, actual);
    int differ = 0;
    for (long i = 0; i < bytes; i++)
    {
        differ += expected[i] == actual[i] ? 0 : 1;
    }

    int8Parity.Add($"| {kernel} | {shape} | {(differ == 0 ? "pass" : $"FAIL: {differ} of {bytes} bytes differ")} |");
    cpu.Pool.Return(output);
    foreach (var b in buffers)
    {
        cpu.Pool.Return(b);
    }
}

byte[] Bytes(Random rng, int length)
{
    var bytes = new byte[length];
    rng.NextBytes(bytes);
    return bytes;
}

// Multipliers that spread a layer's outputs over the uint8 range, as float32 bytes.
byte[] Multipliers(Random rng, int channels) =>
    QuantizedParityChecks.Bytes(Enumerable.Range(0, channels).Select(_ => (float)(1e-4 + (rng.NextDouble() * 4e-4))).ToArray());

DeviceBuffer Upload(byte[] data)
{
    var buffer = backend.AllocateBytes(data.Length);
    backend.UploadBytes(data, buffer, 0);
    return buffer;
}

DeviceBuffer Random(int length, ulong seed)
{
    var buffer = backend.Allocate(length);
    backend.RandomNormal(buffer, length, seed, 0, 0f, 1f);
    return buffer;
}

void Free(params DeviceBuffer[] buffers)
{
    foreach (var b in buffers)
    {
        backend.Pool.Return(b);
    }
}

double Time(Action launch, int repeats)
{
    launch();
    backend.Synchronize();
    var samples = new double[quick ? 3 : repeats];
    for (int r = 0; r < samples.Length; r++)
    {
        var clock = Stopwatch.StartNew();
        launch();
        backend.Synchronize();
        samples[r] = clock.Elapsed.TotalMilliseconds;
    }

    Array.Sort(samples);
    return samples[samples.Length / 2];
}

void Row(string kernel, string shape, double ms, double flops, double bytes, bool int8 = false)
{
    double gflops = flops / (ms * 1e6), gbps = bytes / (ms * 1e6);
    string Percent(double value, double? peak) => peak is double p ? $"{100 * value / p:F1}" : "-";
    Line($"| {kernel} | {shape} | {ms:F3} | {(flops > 0 ? gflops.ToString("F0") : "-")} | {(flops > 0 && !int8 ? Percent(gflops, backend.PeakGflops) : "-")} | {gbps:F0} | {Percent(gbps, backend.PeakGBps)} |");
}

static string Format(double? value, string unit) => value is double v ? $"{v:F0} {unit}" : $"unknown {unit}";

string? Arg(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

void Line(string text = "")
{
    Console.WriteLine(text);
    report.AppendLine(text);
}
