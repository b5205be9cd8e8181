// Entry point of the benchmark suite: BenchmarkDotNet's switcher, so any class or case can be
// picked with --filter, e.g. dotnet run -c Release -- --filter '*Gemm*'; --capture-memory prints the
// pool's peak per training step with and without memory planning; --allreduce and --data-parallel run under mpirun
// (see DataParallel.cs); --sparse-crossover [case] times sparse against dense inference over kernel sparsities;
// --int8 times the int8 kernels against float32 ones (Int8Benchmarks.cs); --step-profile [steps] times each kernel
// of the seed CNNs' replayed training steps.
using System.Globalization;
using BenchmarkDotNet.Running;

if (args is ["--allreduce"])
{
    Lepton.Benchmarks.DataParallel.AllReduce();
    return;
}

if (args is ["--data-parallel", var model, var steps, var megabytes, .. var rest] && rest.Length <= 1)
{
    Lepton.Benchmarks.DataParallel.Training(
        model, int.Parse(steps, CultureInfo.InvariantCulture), double.Parse(megabytes, CultureInfo.InvariantCulture),
        rest.Length == 1 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : null);
    return;
}

if (args is ["--capture-memory"])
{
    Lepton.Benchmarks.CaptureMemory.Run();
    return;
}

if (args is ["--int8"])
{
    Lepton.Benchmarks.Int8Benchmarks.Run();
    return;
}

if (args is ["--step-profile", ..])
{
    Lepton.Benchmarks.StepProfile.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200);
    return;
}

if (args is ["--sparse-crossover", ..])
{
    Lepton.Benchmarks.SparseCrossover.Run(args.Length > 1 ? args[1] : null);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Lepton.Benchmarks.GemmBenchmarks).Assembly).Run(args, new Lepton.Benchmarks.LeptonConfig());
