// Int8 quantization end to end: trains the MNIST and CIFAR-10 seed CNNs (or loads them), quantizes each post-training
// (static, with three calibration methods, and dynamic) and with quantization-aware fine-tuning, and prints accuracy,
// size on disk, batch-1 latency and batch-64 throughput for float32 and every int8 variant.
//   dotnet run -c Release --project samples/Quantize                          # both models, ~3 min on 2 cores
//   dotnet run -c Release --project samples/Quantize -- --model mnist         # one model
//   dotnet run -c Release --project samples/Quantize -- --load runs/quantize-cifar-float32.lepton --model cifar
// Needs the CIFAR-10 binary batches: python3 ../shared/datasets/cifar10/to-binary.py ~/.cache/lepton/cifar-10-batches-bin
using System.Diagnostics;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Optimizers;
using Lepton.Nn.Quantization;
using Lepton.Samples;

const string usage = "usage: Quantize [--model mnist|cifar|both] [--epochs N] [--limit N] [--load FILE] [--data DIR] [--out DIR]";
string? load = null;
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--load" && i + 1 < args.Length)
    {
        load = args[++i];
    }
    else
    {
        rest.Add(args[i]);
    }
}

var options = SampleOptions.Parse([.. rest], usage);
var device = options.ResolveDevice();
string[] models = (options.Model ?? "both") switch
{
    "both" when load is null => ["mnist", "cifar"],
    "mnist" or "cifar" => [options.Model!],
    _ => throw new ArgumentException($"Choose --model mnist or cifar (with --load, one model).\n{usage}"),
};
Directory.CreateDirectory(options.OutputDirectory);
var total = Stopwatch.StartNew();
var report = new List<string>();
foreach (string name in models)
{
    report.AddRange(Run(name));
}

Console.WriteLine();
foreach (string line in report)
{
    Console.WriteLine(line);
}

Console.WriteLine();
Console.WriteLine($"Latency: median Predict of one image; throughput: Predict on batches of 64 ({device}, {Lepton.Backends.Cpu.CpuBackend.Threads} CPU threads).");
Console.WriteLine("Weights: the model's weights file (safetensors: int8 weights with their scales and zero points, int32 biases).");
Console.WriteLine("Static int8 calibrates on 32 batches of 64 training images; the .lepton files beside them load ready to run.");
Console.WriteLine($"total time: {total.Elapsed.TotalMinutes:F1} min");

List<string> Run(string name)
{
    bool mnist = name == "mnist";
    Console.WriteLine($"== {name}");
    ImageClassificationData data = mnist ? Mnist.Load(options.DataDirectory, device) : Cifar10.Load(options.DataDirectory, device);
    var trainSet = data.TrainSet;
    trainSet = trainSet.Take(0, Math.Min(options.Limit ?? trainSet.Count, trainSet.Count));
    var normalize = mnist ? new Normalize([0.1307f], [0.3081f]) : new Normalize(Cifar10.Mean, Cifar10.Std);
    IBatchTransform[] augment = mnist ? [normalize] : [new RandomCrop(4), new RandomHorizontalFlip(), normalize];
    var train = new DataLoader(trainSet, options.BatchSize ?? 64, shuffle: true, seed: 1, transforms: augment, device: device);
    var calibration = new DataLoader(trainSet, 64, shuffle: true, seed: 2, transforms: [normalize], device: device);
    var test = new DataLoader(data.TestSet, 500, transforms: [normalize], device: device);
    int[] inputShape = mnist ? [1, 28, 28] : [3, 32, 32];

    // 1. The float32 model: trained here, or loaded.
    Model model;
    if (load is not null)
    {
        model = Model.Load(load, device);
    }
    else
    {
        Generator.ManualSeed(1);
        model = mnist ? Architectures.MnistSeed(logits: true) : Architectures.CifarSeed();
        model.Device = device;
        int epochs = options.Epochs ?? (mnist ? 1 : 4);
        model.Compile(new Adam(new OneCycle(3e-3f, (long)epochs * train.Count)), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        var clock = Stopwatch.StartNew();
        model.Fit(train, epochs, verbose: 2);
        Console.WriteLine($"float32 model: {epochs} epoch(s) in {clock.Elapsed.TotalSeconds:F0} s");
    }

    var rows = new List<(string Variant, Model Model)> { ("float32", model) };

    // 2. Post-training static quantization with each calibration method, and dynamic quantization.
    foreach (var method in new[] { CalibrationMethod.MinMax, CalibrationMethod.Percentile, CalibrationMethod.Mse })
    {
        var clock = Stopwatch.StartNew();
        var q = model.Quantize(calibration, batches: 32, new QuantizationOptions { Method = method });
        Console.WriteLine($"int8 static ({method}): calibrated and converted in {clock.Elapsed.TotalSeconds:F1} s");
        rows.Add(($"int8 static, {method}", q));
    }

    rows.Add(("int8 dynamic (Dense only)", model.QuantizeDynamic()));

    // 3. Quantization-aware training: fake-quantized fine-tuning from the float model, then conversion.
    using (var qat = model.PrepareQuantizationAware())
    {
        int qatEpochs = 1;
        qat.Compile(new Adam(new OneCycle(mnist ? 3e-4f : 5e-4f, (long)qatEpochs * train.Count)), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        var clock = Stopwatch.StartNew();
        qat.Fit(train, qatEpochs, verbose: 2);
        Console.WriteLine($"quantization-aware fine-tuning: {qatEpochs} epoch(s) in {clock.Elapsed.TotalSeconds:F0} s");
        rows.Add(("int8 quantization-aware", qat.Quantize()));
    }

    // 4. The table.
    var lines = new List<string>
    {
        $"### {(mnist ? "MNIST" : "CIFAR-10")} seed CNN",
        "",
        "| variant | test accuracy | vs float32 | weights on disk | batch-1 latency | batch-64 throughput | speed-up at 64 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    };
    double floatAccuracy = 0, floatThroughput = 0;
    long floatSize = 0;
    foreach (var (variant, candidate) in rows)
    {
        double accuracy = candidate.Evaluate(test)["accuracy"];
        string path = Path.Combine(options.OutputDirectory, $"quantize-{name}-{lines.Count - 4}.lepton");
        candidate.Save(path);
        string weights = Path.ChangeExtension(path, ".safetensors");
        candidate.SaveWeights(weights);
        long size = new FileInfo(weights).Length;
        var (latency, throughput) = Speed(candidate, inputShape);
        if (variant == "float32")
        {
            (floatAccuracy, floatThroughput, floatSize) = (accuracy, throughput, size);
            File.Copy(path, Path.Combine(options.OutputDirectory, $"quantize-{name}-float32.lepton"), overwrite: true);
        }

        lines.Add($"| {variant} | {accuracy:P2} | {(accuracy - floatAccuracy) * 100:+0.00;-0.00;0.00} pp | {size / 1024.0:F0} KiB ({(double)floatSize / size:F1}x smaller) | "
            + $"{latency:F3} ms | {throughput:N0} images/s | {throughput / floatThroughput:F2}x |");
        Console.WriteLine($"  {variant}: {accuracy:P2}, {size / 1024.0:F0} KiB, {latency:F3} ms, {throughput:N0} images/s");
    }

    foreach (var (variant, candidate) in rows.Skip(1))
    {
        candidate.Dispose();
    }

    lines.Add("");
    return lines;
}

// Median time of Predict on one image, and images per second of Predict on batches of 64, after warm-up (so the
// calls are captured and replayed).
(double LatencyMs, double Throughput) Speed(Model model, int[] inputShape)
{
    using var one = Tensor.RandN([1, .. inputShape], new Generator(1), device);
    using var batch = Tensor.RandN([64, .. inputShape], new Generator(2), device);
    double Median(Tensor x, int reps)
    {
        for (var warm = Stopwatch.StartNew(); warm.Elapsed.TotalSeconds < 0.5;)
        {
            model.Predict(x, batchSize: x.Shape[0]).Dispose();
        }

        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            model.Predict(x, batchSize: x.Shape[0]).Dispose();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }

    return (Median(one, 200) * 1e3, 64 / Median(batch, 50));
}
