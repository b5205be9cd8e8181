// The pool's peak per training step: eager, replayed with memory planning, replayed without it.
// Run with: dotnet run -c Release -- --capture-memory
namespace Lepton.Benchmarks;

internal static class CaptureMemory
{
    public static void Run()
    {
        var pool = Device.Cpu.Backend.Pool;
        Console.WriteLine("| model | eager step | replayed, no planning | replayed, planned | planned / eager |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var name in TrainingCase.Names)
        {
            long Peak(bool captured, bool planning)
            {
                pool.Trim();
                long before = pool.LiveBytes;
                var training = TrainingCase.Warm(name, captured, planning);
                pool.ResetPeak();
                training.Step();
                long peak = pool.PeakLiveBytes - before;
                training.Model.Dispose();
                return peak;
            }

            long eager = Peak(false, true), unplanned = Peak(true, false), planned = Peak(true, true);
            Console.WriteLine($"| {name} | {Mib(eager)} | {Mib(unplanned)} | {Mib(planned)} | {(double)planned / eager:F2} |");
        }
    }

    private static string Mib(long bytes) => $"{bytes / 1048576.0:F1} MiB";
}
