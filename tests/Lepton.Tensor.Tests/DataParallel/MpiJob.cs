// Launches the data-parallel test program under mpirun and collects what every rank printed.
using System.Diagnostics;
using System.Text;

namespace Lepton.Tests.DataParallel;

/// <summary>One mpirun job of Lepton.DistributedWorker.</summary>
internal static class MpiJob
{
    /// <summary>Runs the worker on <paramref name="ranks"/> processes with <paramref name="device"/> as every rank's default
    /// device; a job still running after <paramref name="timeout"/> is killed and reported.</summary>
    public static (int ExitCode, string Output, TimeSpan Elapsed) Run(int ranks, string arguments, TimeSpan? timeout = null, string device = "cpu")
    {
        string worker = Path.Combine(AppContext.BaseDirectory, "Lepton.DistributedWorker.dll");
        Assert.True(File.Exists(worker), $"{worker} is missing; the test project references Lepton.DistributedWorker to build it.");
        var start = new ProcessStartInfo("mpirun")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "--oversubscribe", "--bind-to", "none", "--mca", "btl_vader_single_copy_mechanism", "none", "dotnet", worker })
        {
            start.ArgumentList.Add(a);
        }

        foreach (string a in arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        start.Environment["LEPTON_NUM_THREADS"] = "1";
        start.Environment["LEPTON_DEVICE"] = device;

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"mpirun could not be started ({e.Message}); install Open MPI (apt-get install openmpi-bin libopenmpi-dev) to run the data-parallel tests.");
            throw;
        }

        using (process)
        {
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) => Append(output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(output, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            var limit = timeout ?? TimeSpan.FromMinutes(2);
            if (!process.WaitForExit(limit))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"mpirun {arguments} was still running after {limit.TotalSeconds} s:\n{output}");
            }

            process.WaitForExit();
            return (process.ExitCode, output.ToString(), clock.Elapsed);
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
