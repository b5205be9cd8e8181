// Trains a CNN on MNIST and reports test accuracy, time per epoch and throughput.
//   dotnet run -c Release --project samples/Mnist                    # the seed CNN, 1 epoch
//   dotnet run -c Release --project samples/Mnist -- --model strong --epochs 3
//   mpirun -np 2 dotnet run -c Release --project samples/Mnist -- --distributed   # data-parallel, 2 ranks
using System.Diagnostics;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Optimizers;
using Lepton.Samples;

const string usage = "usage: Mnist [--model seed|strong] [--epochs N] [--batch-size N] [--data DIR] [--device cpu|cuda|cuda:N|ilgpu-cpu] [--out DIR] [--distributed]";
var options = SampleOptions.Parse(args, usage);
var device = options.ResolveDevice();
using var dist = options.StartDistributed();
string modelName = options.Model ?? "seed";
int epochs = options.Epochs ?? (modelName == "seed" ? 1 : 3);
// With --distributed the batch is the global one: each of W ranks takes batchSize / W examples of every step.
int batchSize = (options.BatchSize ?? 64) / (dist?.WorldSize ?? 1);

// 1. Data: the four official IDX files, scaled to [0, 1] and standardized with MNIST's mean and std.
var mnist = Mnist.Load(options.DataDirectory, device);
Console.WriteLine($"MNIST from {mnist.Directory}: {mnist.TrainSet.Count} training and {mnist.TestSet.Count} test images");
var normalize = new Normalize([0.1307f], [0.3081f]);
var train = SampleOptions.Shard(new DataLoader(mnist.TrainSet, batchSize, shuffle: true, seed: 1, transforms: [normalize], device: device), dist);
var test = new DataLoader(mnist.TestSet, 500, transforms: [normalize], device: device);

// 2. Model: the seed's Keras CNN, or a stronger one with two conv blocks, batch norm and dropout.
//    Both train with Adam under a one-cycle learning-rate schedule (warm-up, then cosine decay).
Generator.ManualSeed(42);
Sequential model = modelName switch
{
    "seed" => Architectures.MnistSeed(),
    "strong" => Architectures.MnistStrong(),
    _ => throw new ArgumentException($"Unknown model '{modelName}'.\n{usage}"),
};
Optimizer optimizer = new Adam(new OneCycle(modelName == "seed" ? 6e-3f : 3e-3f, (long)epochs * train.Count, pctStart: 0.25f));
Loss loss = modelName == "seed" ? new SparseCategoricalCrossentropy() : new SparseCategoricalCrossentropy(fromLogits: true);
model.Device = device;
model.Compile(optimizer, loss, new Accuracy());
model.Summary();

// 3. Train, printing a Keras-style line per epoch and redrawing the curves, then evaluate on the test set.
var report = new TrainingReport(options.OutputDirectory, $"mnist-{modelName}");
var clock = Stopwatch.StartNew();
var history = model.Fit(train, epochs, validation: test, callbacks: [report.Curves]);
clock.Stop();
var result = model.Evaluate(test);
double perEpoch = clock.Elapsed.TotalSeconds / Math.Max(epochs, 1);
Console.WriteLine($"time per epoch: {perEpoch:F1} s ({history.EpochSeconds.Select(s => s.ToString("F1")).Aggregate((a, b) => a + ", " + b)} s), {mnist.TrainSet.Count / perEpoch:F0} samples/s, {CpuThreads()} CPU threads");
if (dist?.IsPrimary ?? true)
{
    report.Write(history, model, test);
}
Console.WriteLine($"test accuracy: {result["accuracy"]:F4}");

static int CpuThreads() => Lepton.Backends.Cpu.CpuBackend.Threads;
