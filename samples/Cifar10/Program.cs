// Trains a CNN on CIFAR-10 and reports test accuracy, time per epoch and throughput.
//   dotnet run -c Release --project samples/Cifar10                         # the seed CNN, 10 epochs
//   dotnet run -c Release --project samples/Cifar10 -- --model resnet --epochs 30
//   mpirun -np 2 dotnet run -c Release --project samples/Cifar10 -- --distributed # data-parallel, 2 ranks
// Needs the binary batches: python3 ../shared/datasets/cifar10/to-binary.py ~/.cache/lepton/cifar-10-batches-bin
using System.Diagnostics;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Optimizers;
using Lepton.Samples;

const string usage = "usage: Cifar10 [--model seed|resnet] [--epochs N] [--batch-size N] [--data DIR] [--device cpu|cuda|cuda:N|ilgpu-cpu] [--out DIR] [--distributed] [--limit N]";
var options = SampleOptions.Parse(args, usage);
var device = options.ResolveDevice();
using var dist = options.StartDistributed();
string modelName = options.Model ?? "seed";
int epochs = options.Epochs ?? 10;
// With --distributed the batch is the global one: each of W ranks takes batchSize / W examples of every step.
int batchSize = (options.BatchSize ?? 64) / (dist?.WorldSize ?? 1);

// 1. Data: the official binary batches; per-channel normalization, and random crops and flips for training.
var cifar = Cifar10.Load(options.DataDirectory, device);
Console.WriteLine($"CIFAR-10 from {cifar.Directory}: {cifar.TrainSet.Count} training and {cifar.TestSet.Count} test images");
var trainSet = cifar.TrainSet;
if (options.Limit is int limit)
{
    trainSet = trainSet.Take(0, Math.Min(limit, trainSet.Count));
}

var normalize = new Normalize(Cifar10.Mean, Cifar10.Std);
var train = SampleOptions.Shard(new DataLoader(trainSet, batchSize, shuffle: true, seed: 1, transforms: [new RandomCrop(4), new RandomHorizontalFlip(), normalize], device: device), dist);
var test = new DataLoader(cifar.TestSet, 500, transforms: [normalize], device: device);

// 2. Model: the seed's three-conv CNN, or a small ResNet (three stages of residual blocks with batch norm).
Generator.ManualSeed(7);
Model model = modelName switch
{
    "seed" => Architectures.CifarSeed(),
    "resnet" => Architectures.CifarResNet([32, 64, 128], blocksPerStage: 2),
    _ => throw new ArgumentException($"Unknown model '{modelName}'.\n{usage}"),
};
long steps = (long)epochs * train.Count;
Optimizer optimizer = modelName == "seed"
    ? new Adam(new OneCycle(3e-3f, steps))
    : new Sgd(new OneCycle(0.2f, steps), momentum: 0.9f, nesterov: true, weightDecay: 5e-4f);
model.Device = device;
model.Compile(optimizer, new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
model.Summary();

// 3. Train with a Keras-style line per epoch and curves redrawn after each, then evaluate on the test set.
var report = new TrainingReport(options.OutputDirectory, $"cifar10-{modelName}");
var clock = Stopwatch.StartNew();
var history = model.Fit(train, epochs, validation: test, callbacks: [report.Curves]);
clock.Stop();
var result = model.Evaluate(test);
double perEpoch = clock.Elapsed.TotalSeconds / Math.Max(epochs, 1);
Console.WriteLine($"time per epoch: {perEpoch:F1} s, {trainSet.Count / perEpoch:F0} samples/s, {Lepton.Backends.Cpu.CpuBackend.Threads} CPU threads");
if (dist?.IsPrimary ?? true)
{
    report.Write(history, model, test, Cifar10.ClassNames);
}
Console.WriteLine($"test accuracy: {result["accuracy"]:F4}");
