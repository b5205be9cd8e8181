// Transfer learning through ONNX: train a CNN on CIFAR-10 classes 0-4, export it to ONNX, import it,
// replace its head and fine-tune on classes 5-9 with only 1,000 labelled images (backbone frozen, then
// unfrozen at a tenth of the rate), beside the same network trained from scratch on the same images.
//   dotnet run -c Release --project samples/Transfer                  # 10 source epochs, 3 seeds
//   dotnet run -c Release --project samples/Transfer -- --epochs 4 --limit 5   # 4 source epochs, 5 seeds
// Needs the binary batches: python3 ../shared/datasets/cifar10/to-binary.py ~/.cache/lepton/cifar-10-batches-bin
using System.Diagnostics;
using Lepton;
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Samples;

const string usage = "usage: Transfer [--epochs N (source training)] [--limit SEEDS] [--data DIR] [--device cpu|cuda|cuda:N] [--out DIR]";
var options = SampleOptions.Parse(args, usage);
var device = options.ResolveDevice();
int sourceEpochs = options.Epochs ?? 10;
int seeds = options.Limit ?? 3;
const int LabelledPerClass = 200, HeadEpochs = 15, FineTuneEpochs = 15, ScratchEpochs = HeadEpochs + FineTuneEpochs;

// 1. Data: classes 0-4 (airplane..deer) are the source task; 1,000 images of classes 5-9 (dog..truck) the target task.
var cifar = Cifar10.Load(options.DataDirectory, device);
var normalize = new Normalize(Cifar10.Mean, Cifar10.Std);
int[] trainLabels = cifar.TrainLabels.ToInt32Array(), testLabels = cifar.TestLabels.ToInt32Array();
var source = Subset(cifar.TrainImages, trainLabels, label => label < 5, perClass: int.MaxValue);
var target = Subset(cifar.TrainImages, trainLabels, label => label >= 5, perClass: LabelledPerClass);
var targetTest = Subset(cifar.TestImages, testLabels, label => label >= 5, perClass: int.MaxValue);
Console.WriteLine($"source: {source.Count} images of classes 0-4; target: {target.Count} labelled images of classes 5-9, tested on {targetTest.Count}");
var testLoader = new DataLoader(targetTest, 500, transforms: [normalize], device: device);

// 2. Train the source network and export it to ONNX: this file is the "model trained elsewhere".
Generator.ManualSeed(7);
var sourceModel = Architectures.CifarSeed(classes: 5);
sourceModel.Device = device;
sourceModel.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
var clock = Stopwatch.StartNew();
sourceModel.Fit(new DataLoader(source, 64, shuffle: true, seed: 1, transforms: [new RandomHorizontalFlip(), normalize], device: device), sourceEpochs, verbose: 0);
Console.WriteLine($"source network: {sourceEpochs} epochs in {clock.Elapsed.TotalSeconds:F0} s");
Directory.CreateDirectory(options.OutputDirectory);
string onnxPath = Path.Combine(options.OutputDirectory, "cifar-classes-0-4.onnx");
sourceModel.ExportOnnx(onnxPath);
string featureLayer = sourceModel.Layers[^2].Name; // the Dense(64) + ReLU before the head: its node keeps the layer's name
Console.WriteLine($"exported to {onnxPath}; features from layer '{featureLayer}'");

// 3. For each seed: fine-tune the imported backbone with a new head, and train the same network from scratch.
var transfer = new List<double>();
var scratch = new List<double>();
for (int seed = 0; seed < seeds; seed++)
{
    var train = new DataLoader(target, 50, shuffle: true, seed: (ulong)seed, transforms: [new RandomHorizontalFlip(), normalize], device: device);

    Generator.ManualSeed(100 + (ulong)seed);
    var imported = Model.LoadOnnx(onnxPath, device);
    var head = new Dense(5, name: "target_head").Apply(imported.LayerOutput(featureLayer));
    var model = new Model(imported.Input, head, name: "transfer");
    foreach (var layer in imported.Layers)
    {
        layer.Trainable = false;
    }

    model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    model.Fit(train, HeadEpochs, verbose: 0);
    foreach (var layer in imported.Layers)
    {
        layer.Trainable = true;
        layer.LearningRateMultiplier = 0.1f;
    }

    model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    model.Fit(train, FineTuneEpochs, verbose: 0);
    transfer.Add(model.Evaluate(testLoader)["accuracy"]);

    Generator.ManualSeed(100 + (ulong)seed);
    var fresh = Architectures.CifarSeed(classes: 5);
    fresh.Device = device;
    fresh.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
    fresh.Fit(train, ScratchEpochs, verbose: 0);
    scratch.Add(fresh.Evaluate(testLoader)["accuracy"]);
    Console.WriteLine($"seed {seed}: transfer {transfer[^1]:P1}, from scratch {scratch[^1]:P1}");
}

// 4. The table: mean and spread over seeds.
Console.WriteLine();
Console.WriteLine($"CIFAR-10 classes 5-9, {target.Count} labelled images, {seeds} seeds ({targetTest.Count} test images)");
Console.WriteLine("| network | accuracy (mean ± std) | min | max |");
Console.WriteLine("|---|---|---|---|");
Console.WriteLine(Row($"imported from ONNX, new head ({HeadEpochs} epochs frozen + {FineTuneEpochs} at 0.1x rate)", transfer));
Console.WriteLine(Row($"same network from scratch ({ScratchEpochs} epochs)", scratch));

// The images whose label passes the filter (at most perClass of each), with labels renumbered from 0.
static TensorDataset Subset(Tensor images, int[] labels, Func<int, bool> keep, int perClass)
{
    var taken = new Dictionary<int, int>();
    var picked = new List<int>();
    for (int i = 0; i < labels.Length; i++)
    {
        if (keep(labels[i]) && taken.GetValueOrDefault(labels[i]) < perClass)
        {
            taken[labels[i]] = taken.GetValueOrDefault(labels[i]) + 1;
            picked.Add(i);
        }
    }

    int first = taken.Keys.Min();
    var x = images.IndexSelect(0, Tensor.FromArray(picked.ToArray(), [picked.Count])).DetachFromScope();
    var y = Tensor.FromArray(picked.Select(i => labels[i] - first).ToArray(), [picked.Count]);
    return new TensorDataset(x, y);
}

static string Row(string name, List<double> accuracies)
{
    double mean = accuracies.Average();
    double std = Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / Math.Max(accuracies.Count - 1, 1));
    return $"| {name} | {mean:P1} ± {std:P1} | {accuracies.Min():P1} | {accuracies.Max():P1} |";
}
