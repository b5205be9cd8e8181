// Runs one data-parallel scenario on this rank (launched by the tests under mpirun); prints "rank R ok" when it passes
// and exits non-zero with the reason when not.
using System.Globalization;
using Lepton;
using Lepton.Data;
using Lepton.DistributedWorker;
using Lepton.Nn;
using Lepton.Nn.Callbacks;

string scenario = args.Length > 0 ? args[0] : throw new ArgumentException("usage: Lepton.DistributedWorker <scenario> [arguments]");
using var dist = Distributed.Initialize();
switch (scenario)
{
    case "equivalence":
        {
            // equivalence <sgd|adam> <weights file>: trains with batch 32 per rank on the default device (LEPTON_DEVICE);
            // rank 0 saves the weights.
            var model = Scenarios.TrainEquivalence(args[1], 32, Device.Default);
            Console.WriteLine($"rank {dist.Rank} last step replayed: {model.LastStepReplayed}");
            SaveOnRankZero(model, args[2]);

            break;
        }

    case "staged":
        {
            // staged <weights file>: the small MLP on the default device; rank 0 saves the weights.
            SaveOnRankZero(Scenarios.TrainStaged(Device.Default, 8), args[1]);

            break;
        }

    case "trainonbatch":
        {
            // trainonbatch <weights file>: TrainOnBatch on this rank's block of each batch; rank 0 saves the weights.
            SaveOnRankZero(Scenarios.TrainOnBatches(dist.Rank, dist.WorldSize), args[1]);

            break;
        }

    case "collectives":
        // The CPU, ILGPU's CPU accelerator (staged through host memory) and, when LEPTON_DEVICE names another (a GPU,
        // where NCCL runs them on device memory), that one too.
        Collectives.Run(dist, Device.Cpu);
        Collectives.Run(dist, Device.IlgpuCpu);
        if (Device.Default != Device.Cpu && Device.Default != Device.IlgpuCpu)
        {
            Collectives.Run(dist, Device.Default);
        }

        break;

    case "fail":
        {
            // fail <kill|throw>: rank 1 dies (SIGKILL) or throws at its 5th step of an epoch that would take long.
            var model = Scenarios.CreateModel("sgd");
            var loader = new DataLoader(Scenarios.CreateData(64 * 400), 32, shuffle: true, seed: 1);
            model.Fit(loader, epochs: 1, verbose: 0, callbacks: [new FailAt(dist.Rank == 1 ? 5 : -1, args[1])]);
            Console.WriteLine($"rank {dist.Rank} finished training although rank 1 failed");
            return 3;
        }

    case "checkpoint":
        {
            // checkpoint <path> <epochs>: trains from the checkpoint when it exists (else from scratch), saving after every epoch.
            string path = args[1];
            var model = File.Exists(path) ? (Sequential)Model.Load(path) : Scenarios.CreateModel("adam");
            long before = model.Optimizer!.Iterations;
            var loader = new DataLoader(Scenarios.CreateData(), 32, shuffle: true, seed: 3);
            var history = model.Fit(loader, epochs: int.Parse(args[2], CultureInfo.InvariantCulture), verbose: 0, callbacks: [new ModelCheckpoint(path, monitor: "loss")]);
            Console.WriteLine($"rank {dist.Rank} iterations {before} -> {model.Optimizer.Iterations} loss {history["loss"][^1].ToString("R", CultureInfo.InvariantCulture)}");
            break;
        }

    case "mismatch":
        {
            // mismatch <batch|model|seed|tiny>: rank 1 differs from rank 0 (its own shuffling seed in a sharded loader), or the
            // data is smaller than the world.
            string what = args[1];
            var model = what == "model" && dist.Rank == 1 ? Scenarios.CreateModel("adam") : Scenarios.CreateModel("sgd");
            int batch = what == "batch" && dist.Rank == 1 ? 16 : 32;
            var loader = new DataLoader(Scenarios.CreateData(what == "tiny" ? 1 : 128), batch, shuffle: true, seed: what == "seed" ? 3UL + (ulong)dist.Rank : 3);
            if (what == "seed")
            {
                loader = loader.WithSampler(new DistributedSampler(dist.Rank, dist.WorldSize));
            }

            try
            {
                model.Fit(loader, epochs: 1, verbose: 0);
            }
            catch (InvalidOperationException e)
            {
                Console.WriteLine($"rank {dist.Rank} error: {e.Message}");
                return 2;
            }

            break;
        }

    default:
        throw new ArgumentException($"unknown scenario '{scenario}'");
}

Console.WriteLine($"rank {dist.Rank} ok");
return 0;

// Rank 0 writes the trained weights for the test to compare (every rank holds the same ones).
void SaveOnRankZero(Model model, string path)
{
    if (dist.IsPrimary)
    {
        model.SaveWeights(path);
    }
}

/// <summary>Makes this rank fail at one step of training.</summary>
internal sealed class FailAt(int step, string how) : Callback
{
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (batch != step)
        {
            return;
        }

        Console.Out.Flush();
        if (how == "kill")
        {
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }

        throw new InvalidOperationException($"a failure injected at step {step}");
    }
}
