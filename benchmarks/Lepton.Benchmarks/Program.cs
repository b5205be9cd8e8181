// Entry point of the benchmark suite: BenchmarkDotNet's switcher, so any class or case can be
// picked with --filter, e.g. dotnet run -c Release -- --filter '*Gemm*'.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Lepton.Benchmarks.GemmBenchmarks).Assembly).Run(args, new Lepton.Benchmarks.LeptonConfig());
