// Command-line options shared by the samples: --device --epochs --batch-size --data --model --out --distributed,
// and the text generators' --temperature and --prompt.
using System.Globalization;
using Lepton.Data;

namespace Lepton.Samples;

/// <summary>Parsed sample options.</summary>
internal sealed class SampleOptions
{
    /// <summary>The device named with --device; null leaves the choice to <see cref="Device.Default"/> (LEPTON_DEVICE, else CUDA when present, else the CPU).</summary>
    public string? DeviceName { get; private set; }

    public int? Epochs { get; private set; }

    public int? BatchSize { get; private set; }

    public string? DataDirectory { get; private set; }

    public string? Model { get; private set; }

    public string OutputDirectory { get; private set; } = "runs";

    public int? Limit { get; private set; }

    /// <summary>Sampling temperature of a text generator (--temperature): below 1 sharper, above 1 more random.</summary>
    public float? Temperature { get; private set; }

    /// <summary>The text a generator starts from (--prompt).</summary>
    public string? Prompt { get; private set; }

    /// <summary>Train data-parallel over the ranks mpirun started (--distributed).</summary>
    public bool Distributed { get; private set; }

    public static SampleOptions Parse(string[] args, string usage)
    {
        var options = new SampleOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.\n{usage}");
            switch (args[i])
            {
                case "--device": options.DeviceName = Next(); break;
                case "--epochs": options.Epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch-size": options.BatchSize = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": options.DataDirectory = Next(); break;
                case "--model": options.Model = Next(); break;
                case "--out": options.OutputDirectory = Next(); break;
                case "--limit": options.Limit = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--temperature": options.Temperature = float.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--prompt": options.Prompt = Next(); break;
                case "--distributed": options.Distributed = true; break;
                case "-h" or "--help": Console.WriteLine(usage); Environment.Exit(0); break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.\n{usage}");
            }
        }

        return options;
    }

    public Device ResolveDevice() => DeviceName is null ? Device.Default : Device.Parse(DeviceName);

    /// <summary>
    /// With --distributed, joins the job mpirun started and silences standard output on every rank but 0, so the sample
    /// prints once; null without it.
    /// </summary>
    public Distributed? StartDistributed()
    {
        if (!Distributed)
        {
            return null;
        }

        var group = Lepton.Distributed.Initialize();
        if (!group.IsPrimary)
        {
            Console.SetOut(TextWriter.Null);
        }

        Console.WriteLine($"data-parallel training on {group.WorldSize} ranks, {Lepton.Backends.Cpu.CpuBackend.Threads} CPU threads each");
        return group;
    }

    /// <summary>The loader of only this rank's shard of every epoch (the loader itself without --distributed).</summary>
    public static DataLoader Shard(DataLoader loader, Distributed? group) =>
        group is null ? loader : loader.WithSampler(new DistributedSampler(group.Rank, group.WorldSize));

}
