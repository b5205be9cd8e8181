// Our side of the head-to-head harness (benchmarks/compare/run.py): each workload runs once and
// prints one JSON line. The peer side is torch_peer.py with the same subcommands; `sgemm-openblas`
// calls OpenBLAS's cblas_sgemm directly (never through the library) for the GEMM comparison.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

string command = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Lepton.Compare mnist-epoch|cifar-steps|infer-mnist|infer-cifar|int8-mnist|int8-cifar|lstm units|sgemm|sgemm-openblas [n]");
Generator.ManualSeed(1);
var result = command switch
{
    "mnist-epoch" => MnistEpoch(),
    "cifar-steps" => CifarSteps(200),
    "infer-mnist" => Inference(MnistCnn(), [1, 28, 28]),
    "infer-cifar" => Inference(CifarCnn(), [3, 32, 32]),
    "int8-mnist" => Int8(MnistCnn(), mnist: true),
    "int8-cifar" => Int8(CifarCnn(), mnist: false),
    "lstm" => LstmStep(int.Parse(args[1])),
    "sgemm" => Sgemm(int.Parse(args[1]), openBlas: false),
    "sgemm-openblas" => Sgemm(int.Parse(args[1]), openBlas: true),
    _ => throw new ArgumentException($"unknown workload {command}"),
};
result["threads"] = Lepton.Backends.Cpu.CpuBackend.Threads;
Console.WriteLine(JsonSerializer.Serialize(result));

static Sequential MnistCnn() => new([
    new InputLayer([1, 28, 28]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(),
    new Dense(128, activation: "relu"), new Dense(10),
]);

static Sequential CifarCnn() => new([
    new InputLayer([3, 32, 32]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2),
    new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2), new Conv2D(64, 3, activation: "relu"),
    new Flatten(), new Dense(64, activation: "relu"), new Dense(10),
]);

// One epoch of the seed MNIST CNN with Adam 1e-3, batch 64, on the standardized training set.
static Dictionary<string, object> MnistEpoch()
{
    var mnist = Mnist.Load();
    var model = MnistCnn();
    model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    var loader = new DataLoader(mnist.TrainSet, 64, shuffle: true, seed: 1, transforms: [new Normalize([0.1307f], [0.3081f])]);
    var losses = new List<double>();
    var clock = Stopwatch.StartNew();
    var history = model.Fit(loader, epochs: 1, callbacks: [new LossRecorder(losses)], verbose: 0);
    double seconds = clock.Elapsed.TotalSeconds;
    var test = model.Evaluate(new DataLoader(mnist.TestSet, 1000, transforms: [new Normalize([0.1307f], [0.3081f])]));
    return new()
    {
        ["workload"] = "mnist-epoch", ["seconds"] = seconds, ["params"] = model.CountParams(),
        ["first_loss"] = losses.Take(20).Average(), ["last_loss"] = losses.TakeLast(100).Average(), ["test_accuracy"] = test["accuracy"],
    };
}

// 200 training steps of the seed CIFAR-10 CNN with Adam 1e-3, batch 64, inputs in [0, 1].
static Dictionary<string, object> CifarSteps(int steps)
{
    var cifar = Cifar10.Load();
    var data = cifar.TrainSet.Take(0, steps * 64);
    var model = CifarCnn();
    model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true));
    var losses = new List<double>();
    var clock = Stopwatch.StartNew();
    model.Fit(new DataLoader(data, 64, shuffle: true, seed: 1), epochs: 1, callbacks: [new LossRecorder(losses)], verbose: 0);
    return new()
    {
        ["workload"] = "cifar-steps", ["seconds"] = clock.Elapsed.TotalSeconds, ["steps"] = steps, ["params"] = model.CountParams(),
        ["first_loss"] = losses.Take(20).Average(), ["last_loss"] = losses.TakeLast(20).Average(),
    };
}

// Median latency of batch-1 prediction and images/s at batch 256, no gradients.
static Dictionary<string, object> Inference(Model model, int[] shape, int batchSize = 256)
{
    var one = Tensor.RandN([1, .. shape]);
    var many = Tensor.RandN([batchSize, .. shape]);
    void Predict(Tensor x)
    {
        using (Tensor.NewScope())
        using (Tensor.NoGrad())
        {
            model.Call(x).ToArray();
        }
    }

    double Time(Tensor x, int reps)
    {
        // Steady state, as a served model sees it: at least 1 s and 3 calls of warm-up, long enough for
        // the JIT's tiering to replace the first-call code (timing the first 200 calls measured that code).
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 1.0; i++)
        {
            Predict(x);
        }

        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            var clock = Stopwatch.StartNew();
            Predict(x);
            times.Add(clock.Elapsed.TotalSeconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }

    double latency = Time(one, 200);
    double batch = Time(many, 20);
    return new() { ["workload"] = "inference", ["params"] = model.CountParams(), ["latency_ms"] = latency * 1e3, ["throughput"] = batchSize / batch };
}

// The seed CNN quantized post-training (static int8, per-channel weights, activations calibrated on 256 real test
// images as torch_int8_peer.py does), timed at batch 1 and batch 64 beside the same float32 model.
static Dictionary<string, object> Int8(Sequential model, bool mnist)
{
    ImageClassificationData data = mnist ? Mnist.Load() : Cifar10.Load();
    IBatchTransform[] scale = mnist ? [new Normalize([0.1307f], [0.3081f])] : [];
    model.Output = TextWriter.Null;
    using var int8 = model.Quantize(new DataLoader(data.TestSet.Take(0, 256), 64, transforms: scale), batches: 4);
    int[] shape = mnist ? [1, 28, 28] : [3, 32, 32];
    var single = Inference(model, shape, 64);
    var quantized = Inference(int8, shape, 64);
    quantized["workload"] = mnist ? "int8-mnist" : "int8-cifar";
    quantized["params"] = single["params"];
    quantized["float32_latency_ms"] = single["latency_ms"];
    quantized["float32_throughput"] = single["throughput"];
    return quantized;
}

// One LSTM layer's forward and backward (batch 64, 28 steps of 28 features, PyTorch's layout and
// initialization), loss = mean of the outputs; median milliseconds per step after warm-up.
static Dictionary<string, object> LstmStep(int units)
{
    float bound = 1f / MathF.Sqrt(units);
    Tensor Uniform(int[] shape) => (Tensor.Rand(shape) * (2 * bound) - bound).Detach();
    Tensor[] weights = [Uniform([4 * units, 28]), Uniform([4 * units, units]), Uniform([4 * units]), Uniform([4 * units])];
    foreach (var w in weights)
    {
        w.RequiresGrad = true;
    }

    var x = Tensor.RandN([64, 28, 28]);
    double Step()
    {
        using var scope = Tensor.NewScope();
        var (y, _, _) = Tensor.Lstm(x, weights[0], weights[1], weights[2], weights[3]);
        var loss = y.Mean();
        loss.Backward();
        double value = loss.Item();
        foreach (var w in weights)
        {
            w.ZeroGrad();
        }

        return value;
    }

    var warm = Stopwatch.StartNew();
    for (int i = 0; i < 3 || warm.Elapsed.TotalSeconds < 1.0; i++)
    {
        Step();
    }

    var times = new List<double>();
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed.TotalSeconds < 3.0 || times.Count < 10)
    {
        var clock = Stopwatch.StartNew();
        Step();
        times.Add(clock.Elapsed.TotalMilliseconds);
    }

    times.Sort();
    long parameters = weights.Sum(w => (long)w.Numel);
    return new() { ["workload"] = "lstm", ["units"] = units, ["ms"] = times[times.Count / 2], ["steps_timed"] = times.Count, ["params"] = parameters };
}

static unsafe Dictionary<string, object> Sgemm(int n, bool openBlas)
{
    var a = Tensor.RandN([n, n]);
    var b = Tensor.RandN([n, n]);
    var av = a.ToArray();
    var bv = b.ToArray();
    var cv = new float[n * n];
    Action run = openBlas
        ? () =>
        {
            fixed (float* pa = av, pb = bv, pc = cv)
            {
                OpenBlas.cblas_sgemm(101, 111, 111, n, n, n, 1f, pa, n, pb, n, 0f, pc, n);
            }
        }
        : () => a.MatMul(b).Dispose();
    for (int i = 0; i < 3; i++)
    {
        run();
    }

    var times = new List<double>();
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed.TotalSeconds < 1.5 || times.Count < 5)
    {
        var clock = Stopwatch.StartNew();
        run();
        times.Add(clock.Elapsed.TotalSeconds);
    }

    times.Sort();
    double median = times[times.Count / 2];
    if (openBlas)
    {
        // Same values check: OpenBLAS and our GEMM must agree before the numbers mean anything.
        var ours = a.MatMul(b).ToArray();
        double maxDiff = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - cv[i]));
        }

        return new() { ["workload"] = "sgemm", ["n"] = n, ["seconds"] = median, ["gflops"] = 2.0 * n * n * n / median / 1e9, ["max_abs_diff_vs_ours"] = maxDiff, ["openblas_threads"] = OpenBlas.openblas_get_num_threads() };
    }

    return new() { ["workload"] = "sgemm", ["n"] = n, ["seconds"] = median, ["gflops"] = 2.0 * n * n * n / median / 1e9 };
}

internal static unsafe class OpenBlas
{
    [DllImport("libopenblas.so.0")]
    public static extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [DllImport("libopenblas.so.0")]
    public static extern int openblas_get_num_threads();
}

internal sealed class LossRecorder(List<double> losses) : Lepton.Nn.Callbacks.Callback
{
    private double previousSum;

    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        // logs hold the running mean; recover this batch's loss from it.
        double sum = logs["loss"] * (batch + 1);
        losses.Add(sum - previousSum);
        previousSum = sum;
    }

    public override void OnEpochBegin(int epoch) => previousSum = 0;
}
