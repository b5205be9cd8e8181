// Memory soak of naive eager code: a loop that never disposes its temporaries nor opens a scope, as a
// newcomer writes it, printing resident memory as it goes. Run it under a container limit to check bounds.
using System.Diagnostics;
using Lepton;

int iterations = 100_000;
int elements = 262_144;
bool scoped = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--iterations": iterations = int.Parse(args[++i]); break;
        case "--elements": elements = int.Parse(args[++i]); break;
        case "--scope": scoped = true; break;
        default:
            Console.Error.WriteLine("usage: Lepton.Soak [--iterations N] [--elements N] [--scope]");
            return 2;
    }
}

var pool = Device.Cpu.Backend.Pool;
long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
Console.WriteLine($"naive loop: {iterations} iterations over {elements} floats ({elements * 4.0 / (1 << 20):F1} MiB per tensor), " +
    $"{(scoped ? "inside a scope per iteration" : "no Dispose, no scope")}; memory available to the process {limit / (1 << 20)} MiB, " +
    $"pool cache cap {pool.MaxCachedBytes / (1 << 20)} MiB, collection threshold {pool.CollectThresholdBytes / (1 << 20)} MiB");
var x = Tensor.Rand([elements], new Generator(0));
float expected = 0;
foreach (float v in x.ToArray())
{
    expected += (v * 2) + 1;
}

var clock = Stopwatch.StartNew();
float last = 0;
for (int i = 1; i <= iterations; i++)
{
    if (scoped)
    {
        using var scope = Tensor.NewScope();
        last = (x * 2 + 1).Relu().Sum().Item();
    }
    else
    {
        var y = (x * 2 + 1).Relu().Sum();
        last = y.Item();
    }

    if (i % Math.Max(1, iterations / 10) == 0)
    {
        Console.WriteLine($"{i,8} iterations  {clock.Elapsed.TotalSeconds,6:F1} s  resident {Resident("VmRSS"),6:F0} MiB  " +
            $"peak {Resident("VmHWM"),6:F0} MiB  pool live {pool.LiveBytes / (1 << 20),5} MiB  cached {pool.CachedBytes / (1 << 20),5} MiB  " +
            $"collections {pool.Collections}");
    }
}

Console.WriteLine($"done: peak resident {Resident("VmHWM"):F0} MiB, {clock.Elapsed.TotalSeconds:F1} s, " +
    $"{clock.Elapsed.TotalMilliseconds * 1000 / iterations:F1} us per iteration, sum {last} (expected {expected})");
return Math.Abs(last - expected) <= 1e-3 * Math.Abs(expected) ? 0 : 1;

// A line of /proc/self/status in MiB (resident now, or its peak).
static double Resident(string key)
{
    foreach (string line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith(key + ":", StringComparison.Ordinal))
        {
            return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0]) / 1024.0;
        }
    }

    return double.NaN;
}
