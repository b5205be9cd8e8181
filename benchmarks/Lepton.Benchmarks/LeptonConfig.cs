// The suite's configuration: memory diagnoser, a GFLOP/s column next to the time, and the
// thread count the CPU backend used, so every row says how it was measured.
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Lepton.Benchmarks;

/// <summary>A benchmark that knows how many floating-point operations one invocation does.</summary>
public interface IHasFlops
{
    /// <summary>Floating-point operations in one call of the benchmark method (for the current parameters).</summary>
    double Flops(string method);
}

public sealed class LeptonConfig : ManualConfig
{
    public LeptonConfig()
    {
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddColumn(new GflopsColumn());
        AddDiagnoser(MemoryDiagnoser.Default);
        AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}

/// <summary>GFLOP/s computed from the mean time and the benchmark's own flop count.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => "GFLOPS";

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations per second, from the mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null || Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not IHasFlops instance)
        {
            return "-";
        }

        foreach (var parameter in benchmarkCase.Parameters.Items)
        {
            benchmarkCase.Descriptor.Type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
            benchmarkCase.Descriptor.Type.GetField(parameter.Name)?.SetValue(instance, parameter.Value);
        }

        double flops = instance.Flops(benchmarkCase.Descriptor.WorkloadMethod.Name);
        double seconds = report.ResultStatistics.Mean * 1e-9;
        return flops <= 0 ? "-" : (flops / seconds / 1e9).ToString("F1");
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
