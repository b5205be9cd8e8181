// Classifies MNIST digits read row by row: each image is a sequence of 28 rows of 28 pixels, read by an
// LSTM (or a bidirectional GRU) whose last state feeds a linear classifier. Prints accuracy and time per epoch.
// --model charlm instead trains a character-level language model on the licence texts of Debian's base-files
// package (/usr/share/common-licenses; see CharLanguageModel.cs) and generates text with it.
//   dotnet run -c Release --project samples/Sequence                     # LSTM(128), 3 epochs
//   dotnet run -c Release --project samples/Sequence -- --model bigru --epochs 3
//   dotnet run -c Release --project samples/Sequence -- --model charlm --temperature 0.8 --prompt "This License"
using System.Diagnostics;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Samples;

const string usage = "usage: Sequence [--model lstm|bigru|charlm] [--epochs N] [--batch-size N] [--limit N] [--data DIR] [--device cpu|cuda|cuda:N|ilgpu-cpu] [--out DIR] " +
    "[--temperature T] [--prompt TEXT]";
var options = SampleOptions.Parse(args, usage);
var device = options.ResolveDevice();
string modelName = options.Model ?? "lstm";
if (modelName == "charlm")
{
    CharLanguageModel.Run(options, device);
    return;
}

int epochs = options.Epochs ?? 3;
int batchSize = options.BatchSize ?? 64;

// 1. Data: the official IDX files, standardized, each image [1, 28, 28] read as 28 time steps of 28 features.
var mnist = Mnist.Load(options.DataDirectory, device);
int trainCount = Math.Min(options.Limit ?? int.MaxValue, mnist.TrainImages.Shape[0]);
var trainImages = Standardize(mnist.TrainImages.Narrow(0, 0, trainCount).Reshape(trainCount, 28, 28));
var trainLabels = mnist.TrainLabels.Narrow(0, 0, trainCount);
var testImages = Standardize(mnist.TestImages.Reshape(-1, 28, 28));
var train = new DataLoader(new TensorDataset(trainImages, trainLabels), batchSize, shuffle: true, seed: 1, device: device);
var test = new DataLoader(new TensorDataset(testImages, mnist.TestLabels), 500, device: device);
Console.WriteLine($"MNIST rows from {mnist.Directory}: {trainCount} training and {testImages.Shape[0]} test sequences of 28 steps x 28 features");

// 2. Model: the recurrent layer's last state, then logits for the ten digits.
Generator.ManualSeed(42);
Sequential model = modelName switch
{
    "lstm" => new Sequential([new InputLayer([28, 28]), new LSTM(128), new Dense(10)]),
    "bigru" => new Sequential([new InputLayer([28, 28]), new Bidirectional(new GRU(64)), new Dense(10)]),
    _ => throw new ArgumentException($"Unknown model '{modelName}'.\n{usage}"),
};
model.Device = device;
model.Compile(new Lepton.Nn.Optimizers.Adam(new Lepton.Nn.Optimizers.OneCycle(3e-3f, (long)epochs * train.Count, pctStart: 0.2f)),
    new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
model.Summary();

// 3. Train with a Keras-style line per epoch and the curves redrawn, then evaluate on the test set.
var report = new TrainingReport(options.OutputDirectory, $"sequence-{modelName}");
var clock = Stopwatch.StartNew();
var history = model.Fit(train, epochs, validation: test, callbacks: [report.Curves]);
clock.Stop();
var result = model.Evaluate(test);
double perEpoch = clock.Elapsed.TotalSeconds / Math.Max(epochs, 1);
Console.WriteLine($"time per epoch: {perEpoch:F1} s ({string.Join(", ", history.EpochSeconds.Select(s => s.ToString("F1")))} s), " +
    $"{trainCount / perEpoch:F0} sequences/s, {Lepton.Backends.Cpu.CpuBackend.Threads} CPU threads");
report.Write(history, model, test);
Console.WriteLine($"test accuracy: {result["accuracy"]:F4}");

// MNIST's pixel mean and standard deviation, applied once to the whole set (the image transforms work per channel).
static Tensor Standardize(Tensor images) => (images - 0.1307f) / 0.3081f;
