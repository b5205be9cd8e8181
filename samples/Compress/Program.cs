// Compresses a CIFAR-10 model end to end: trains a ResNet teacher, distills it into the seed CNN (beside the
// same CNN trained alone), prunes the student unstructured (90% of its kernels, sparse kernels at inference)
// and by channels (half of every convolution's filters), and prints accuracy, size and speed for each stage.
//   dotnet run -c Release --project samples/Compress                       # fast: 10,000 images, 2 epochs a stage, ~1.5 min on 2 cores
//   dotnet run -c Release --project samples/Compress -- --limit 50000 --epochs 10 --seeds 3    # the full run, about an hour
//   dotnet run -c Release --project samples/Compress -- --model mnist --limit 60000 --epochs 1  # 90% sparsity on the MNIST seed CNN
// Needs the CIFAR-10 binary batches: python3 ../shared/datasets/cifar10/to-binary.py ~/.cache/lepton/cifar-10-batches-bin
using System.Diagnostics;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Callbacks;
using Lepton.Nn.Optimizers;
using Lepton.Samples;

const string usage = "usage: Compress [--model cifar|mnist] [--epochs N] [--limit N] [--seeds N] [--batch-size N] [--data DIR] [--device cpu|cuda|ilgpu-cpu] [--out DIR]";
int seeds = 1;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--seeds" && i + 1 < args.Length)
    {
        seeds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    }
    else
    {
        rest.Add(args[i]);
    }
}

var options = SampleOptions.Parse([.. rest], usage);
var device = options.ResolveDevice();
int epochs = options.Epochs ?? 2;
int fineTuneEpochs = Math.Max(1, epochs / 2);
int batchSize = options.BatchSize ?? 64;
bool mnist = (options.Model ?? "cifar") switch
{
    "cifar" => false,
    "mnist" => true,
    _ => throw new ArgumentException($"Unknown model '{options.Model}'.\n{usage}"),
};
Directory.CreateDirectory(options.OutputDirectory);
var total = Stopwatch.StartNew();

// 1. Data: a subset of the training images (--limit) keeps the default run short; the whole test set.
ImageClassificationData data = mnist ? Mnist.Load(options.DataDirectory, device) : Cifar10.Load(options.DataDirectory, device);
var trainSet = data.TrainSet;
trainSet = trainSet.Take(0, Math.Min(options.Limit ?? 10_000, trainSet.Count));
var normalize = mnist ? new Normalize([0.1307f], [0.3081f]) : new Normalize(Cifar10.Mean, Cifar10.Std);
IBatchTransform[] augment = mnist ? [normalize] : [new RandomCrop(4), new RandomHorizontalFlip(), normalize];
DataLoader Train(int seed) => new(trainSet, batchSize, shuffle: true, seed: (ulong)seed, transforms: augment, device: device);
var test = new DataLoader(data.TestSet, 500, transforms: [normalize], device: device);
int[] inputShape = data.TestSet.InputShape;
Console.WriteLine($"{trainSet.Count} training images, {data.TestSet.Count} test images; {epochs} epochs a stage, {fineTuneEpochs} to fine-tune; {seeds} seed(s)");

var rows = new List<string[]>();
if (mnist)
{
    // The goal of 90% unstructured sparsity: the seed CNN trained, then trained as long again unpruned or pruned.
    var dense = Trained(Architectures.MnistSeed(logits: true), 1, epochs, "mnist dense");
    dense.Compile(new Adam(3e-4f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    Fit(dense, Train(2), fineTuneEpochs, []);
    Row("seed CNN, dense", dense);
    var sparse = Trained(Architectures.MnistSeed(logits: true), 1, epochs, "mnist sparse");
    sparse.Compile(new Adam(3e-4f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    var pruning = Pruning.LowMagnitude(sparse, ToNinety((long)Train(2).Count * fineTuneEpochs), globalThreshold: true);
    Fit(sparse, Train(2), fineTuneEpochs, [pruning]);
    Pruning.Strip(sparse);
    Row("seed CNN, 90% pruned", sparse);
}
else
{
    // 2. The teacher: a ResNet (three stages, one residual block each), SGD with a one-cycle schedule.
    Generator.ManualSeed(7);
    var teacher = Architectures.CifarResNet([32, 64, 128], blocksPerStage: 1);
    teacher.Device = device;
    teacher.Compile(new Sgd(new OneCycle(0.2f, (long)epochs * Train(1).Count), momentum: 0.9f, nesterov: true, weightDecay: 5e-4f),
        new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    Fit(teacher, Train(1), epochs, []);
    Row("teacher (ResNet)", teacher);

    // 3. The seed CNN trained alone and distilled from the teacher, with the same recipe, epochs and seeds.
    var alone = new List<double>();
    var distilled = new List<double>();
    Model? student = null;
    for (int seed = 1; seed <= seeds; seed++)
    {
        var solo = Trained(Architectures.CifarSeed(), seed, epochs, "alone");
        alone.Add(solo.Evaluate(test)["accuracy"]);
        if (seed == 1)
        {
            Row("seed CNN alone", solo);
        }

        Generator.ManualSeed((ulong)seed);
        var candidate = Architectures.CifarSeed();
        candidate.Device = device;
        var distiller = new Distiller(candidate, teacher, alpha: 0.1f, temperature: 4f);
        distiller.Compile(SeedOptimizer(epochs), new SparseCategoricalCrossentropy(fromLogits: true), new KLDivergence(), new Accuracy());
        Fit(distiller, Train(seed), epochs, []);
        candidate.Compile(new Adam(1e-4f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        distilled.Add(candidate.Evaluate(test)["accuracy"]);
        student ??= candidate;
    }

    Row("seed CNN distilled", student!);
    Console.WriteLine($"alone: {Spread(alone)}; distilled: {Spread(distilled)} (test accuracy over {seeds} seed(s))");

    // 4. Unstructured: prune the student's kernels to 90% while fine-tuning, then strip the masks.
    var sparse = Copy(student!, "student");
    sparse.Compile(new Adam(3e-4f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    var steps = (long)Train(1).Count * fineTuneEpochs;
    var pruning = Pruning.LowMagnitude(sparse, ToNinety(steps), globalThreshold: true);
    Fit(sparse, Train(1), fineTuneEpochs, [pruning]);
    Pruning.Strip(sparse);
    Row("pruned 90% (unstructured)", sparse);

    // 5. Structured: remove half of every convolution's filters (L1 norm), a smaller dense model, and fine-tune it.
    var channels = Pruning.Channels(student!, 0.5, ChannelCriterion.L1);
    channels.Device = device;
    channels.Compile(new Adam(new OneCycle(1e-3f, steps)), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    Fit(channels, Train(1), fineTuneEpochs, []);
    Row("channels -50%, fine-tuned", channels);

    // 6. Int8: the distilled student quantized post-training (static, calibrated on 32 training batches).
    var calibration = new DataLoader(trainSet, 64, shuffle: true, seed: 3, transforms: [normalize], device: device);
    Row("student, int8 static", student!.Quantize(calibration, batches: 32));
}

// 7. The table.
Console.WriteLine();
Console.WriteLine("| stage | test accuracy | parameters (non-zero) | size on disk | batch-1 latency | batch-64 throughput |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
foreach (var row in rows)
{
    Console.WriteLine($"| {string.Join(" | ", row)} |");
}

Console.WriteLine();
Console.WriteLine("Sizes are the weights saved as safetensors (float32, or int8 with scales), gzipped (zeros compress). Latency and");
Console.WriteLine($"throughput are Predict on this device ({device}, {Lepton.Backends.Cpu.CpuBackend.Threads} CPU threads).");
Console.WriteLine($"total time: {total.Elapsed.TotalMinutes:F1} min");

// From 0 to 90% sparsity over the first 70% of the fine-tuning steps; the rest recover at 90%.
static PolynomialDecay ToNinety(long steps)
{
    int frequency = (int)Math.Clamp(steps / 50, 1, 20);
    long end = Math.Max(frequency, (long)(steps * 0.7) / frequency * frequency);
    return new PolynomialDecay(0, 0.9, beginStep: 0, endStep: end, frequency: frequency);
}

Optimizer SeedOptimizer(int stageEpochs) => new Adam(new OneCycle(3e-3f, (long)stageEpochs * Train(1).Count));

Model Trained(Model model, int seed, int stageEpochs, string what)
{
    Generator.ManualSeed((ulong)seed);
    model.Device = device;
    model.Compile(SeedOptimizer(stageEpochs), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    Console.WriteLine($"{what}, seed {seed}:");
    Fit(model, Train(seed), stageEpochs, []);
    return model;
}

void Fit(Model model, DataLoader train, int stageEpochs, Callback[] callbacks)
{
    var clock = Stopwatch.StartNew();
    model.Fit(train, stageEpochs, callbacks: callbacks, verbose: 2);
    Console.WriteLine($"  {model.Name}: {stageEpochs} epoch(s) in {clock.Elapsed.TotalSeconds:F0} s");
}

void Row(string stage, Model model)
{
    double accuracy = model.Evaluate(test)["accuracy"];
    string path = Path.Combine(options.OutputDirectory, $"compress-{rows.Count}.safetensors");
    model.SaveWeights(path);
    long size = Deflated(path);
    long parameters = model.CountParams();
    long nonZero = model.Weights.Sum(w => (long)w.Value.To(DType.Float32).ToArray<float>().Count(v => v != 0));
    var (latency, throughput) = Speed(model);
    rows.Add([stage, $"{accuracy:P2}", $"{parameters:N0} ({nonZero:N0})", $"{size / 1024.0:F0} KiB", $"{latency:F2} ms", $"{throughput:F0} images/s"]);
    Console.WriteLine($"  {stage}: {accuracy:P2}");
}

// Median time of Predict on one image, and images per second of Predict on batches of 64 (after warm-up, so the
// steps are captured and replayed).
(double LatencyMs, double Throughput) Speed(Model model)
{
    var one = Tensor.RandN([1, .. inputShape], new Generator(1), device);
    var batch = Tensor.RandN([640, .. inputShape], new Generator(2), device);
    var times = new List<double>();
    for (int i = 0; i < 200; i++)
    {
        var start = Stopwatch.GetTimestamp();
        model.Predict(one, batchSize: 1).Dispose();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    var batches = new List<double>();
    for (int i = 0; i < 9; i++)
    {
        var start = Stopwatch.GetTimestamp();
        model.Predict(batch, batchSize: 64).Dispose();
        batches.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    return (Median(times), 640 / Median(batches));
}

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

Model Copy(Model model, string name)
{
    string path = Path.Combine(options.OutputDirectory, $"compress-{name}.lepton");
    model.Save(path);
    return Model.Load(path, device);
}

static long Deflated(string path)
{
    using var source = File.OpenRead(path);
    using var target = File.Create(path + ".gz");
    using (var gzip = new System.IO.Compression.GZipStream(target, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
    {
        source.CopyTo(gzip);
    }

    return target.Length;
}

static string Spread(List<double> values)
{
    double mean = values.Average();
    double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count - 1));
    return $"{mean:P2} ± {std:P2}";
}
