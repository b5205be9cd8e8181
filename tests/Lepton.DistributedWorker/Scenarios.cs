// The models, data and training runs the data-parallel tests compare: the same code runs on every rank under
// mpirun and, for the single-process reference, inside the test itself.
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Callbacks;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.DistributedWorker;

/// <summary>Shared pieces of the data-parallel scenarios.</summary>
public static class Scenarios
{
    /// <summary>Examples of the synthetic data set: 10 global batches of 64.</summary>
    public const int Examples = 640;

    /// <summary>A small CNN with synchronized batch norm and dropout, its weights drawn from a fixed seed.</summary>
    /// <param name="optimizer">sgd (with momentum) or adam.</param>
    /// <param name="device">Where the model trains (default: the CPU).</param>
    public static Sequential CreateModel(string optimizer, Device? device = null)
    {
        var model = new Sequential([
            new InputLayer([1, 8, 8]),
            new Conv2D(6, 3, padding: "same", useBias: false),
            new BatchNormalization(momentum: 0.9f, synchronized: true),
            new ReLU(),
            new MaxPooling2D(2),
            new Flatten(),
            new Dropout(0.25f, seed: 7),
            new Dense(10),
        ]);
        Optimizer opt = optimizer switch
        {
            "sgd" => new Sgd(0.05f, momentum: 0.9f),
            "adam" => new Adam(0.01f),
            _ => throw new ArgumentException($"unknown optimizer {optimizer}"),
        };
        model.Device = device ?? Device.Cpu;
        model.Compile(opt, new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());

        // Kernels only: batch norm keeps its ones and zeros, and the kernels feeding it have no bias.
        Initialize(model.Weights.Where(w => w.Value.Rank > 1), 11);
        return model;
    }

    /// <summary>Inputs [Examples, 1, 8, 8] and labels from a fixed seed (the labels depend on the inputs, so there is something to learn).</summary>
    public static TensorDataset CreateData(int examples = Examples)
    {
        var g = new Generator(5);
        using var x = Tensor.RandN([examples, 1, 8, 8], g);
        using var sums = x.Sum([1, 2]);
        using var y = sums.ArgMax(-1);
        return new TensorDataset(x, y);
    }

    /// <summary>Five TrainOnBatch steps of the small MLP, rank <paramref name="rank"/> of <paramref name="ranks"/> taking its
    /// block of each batch of 64.</summary>
    public static Sequential TrainOnBatches(int rank, int ranks)
    {
        var model = CreateMlp(Device.Cpu);
        var g = new Generator(17);
        using var x = Tensor.RandN([320, 64], g);
        using var y = Tensor.RandInt(0, 10, [320], g);
        int per = 64 / ranks;
        for (int step = 0; step < 5; step++)
        {
            using var xs = x.Narrow(0, (step * 64) + (rank * per), per);
            using var ys = y.Narrow(0, (step * 64) + (rank * per), per);
            model.TrainOnBatch(xs, ys);
        }

        return model;
    }

    /// <summary>Trains a small MLP for 6 steps of 16 examples (batchSize per process) on <paramref name="device"/> (gradients of devices
    /// other than the CPU are staged through host memory).</summary>
    public static Sequential TrainStaged(Device device, int batchSize)
    {
        var model = CreateMlp(device);
        var data = CreateData(96);
        var flat = new TensorDataset(data.Inputs, [96, 64], data.InputType, data.Targets, [96, .. data.TargetShape], data.TargetType);
        model.Fit(new DataLoader(flat, batchSize, shuffle: true, seed: 4, device: device), epochs: 1, verbose: 0);
        return model;
    }

    /// <summary>The small MLP with Adam, its weights drawn from a fixed seed.</summary>
    public static Sequential CreateMlp(Device device)
    {
        var model = new Sequential([new InputLayer([64]), new Dense(16, activation: "relu"), new Dense(10)]);
        model.Device = device;
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        Initialize(model.Weights, 13);
        return model;
    }

    /// <summary>Trains 20 steps (2 epochs of 10 global batches of 64) with <paramref name="batchSize"/> per process.</summary>
    public static Sequential TrainEquivalence(string optimizer, int batchSize, Device? device = null)
    {
        var model = CreateModel(optimizer, device);
        var loader = new DataLoader(CreateData(), batchSize, shuffle: true, seed: 3, device: model.Device);
        model.Fit(loader, epochs: 2, verbose: 0);
        return model;
    }

    /// <summary>Draws <paramref name="weights"/> uniformly in [-0.3, 0.3) from a generator of their own, so that no other
    /// draw from the default generator (another test in the same process) changes them.</summary>
    private static void Initialize(IEnumerable<Weight> weights, ulong seed)
    {
        var g = new Generator(seed);
        using (Tensor.NoGrad())
        {
            foreach (var w in weights)
            {
                using var values = Tensor.Uniform(w.Value.Shape, -0.3f, 0.3f, g);
                w.Value.CopyFrom(values);
            }
        }
    }
}
