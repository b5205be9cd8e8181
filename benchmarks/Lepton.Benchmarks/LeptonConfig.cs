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

/// <summary>A benchmark that knows how many bytes of memory one invocation reads and writes.</summary>
public interface IHasBytes
{
    /// <summary>Bytes read plus bytes written in one call of the benchmark method (for the current parameters).</summary>
    double Bytes(string method);
}

public sealed class LeptonConfig : ManualConfig
{
    public LeptonConfig()
    {
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddColumn(new RateColumn("GFLOPS", "GFLOP/s", "Floating-point operations per second, from the mean time", (b, m) => (b as IHasFlops)?.Flops(m) ?? 0));
        AddColumn(new RateColumn("GBPS", "GB/s", "Bytes read and written per second, from the mean time", (b, m) => (b as IHasBytes)?.Bytes(m) ?? 0));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}

/// <summary>A count per second (in billions) from the mean time and the count the benchmark reports for one call.</summary>
public sealed class RateColumn(string id, string name, string legend, Func<object, string, double> count) : IColumn
{
    public string Id => id;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null || Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not { } instance)
        {
            return "-";
        }

        foreach (var parameter in benchmarkCase.Parameters.Items)
        {
            benchmarkCase.Descriptor.Type.GetProperty(parameter.Name)?.SetValue(instance, parameter.Value);
            benchmarkCase.Descriptor.Type.GetField(parameter.Name)?.SetValue(instance, parameter.Value);
        }

        double n = count(instance, benchmarkCase.Descriptor.WorkloadMethod.Name);
        double seconds = report.ResultStatistics.Mean * 1e-9;
        return n <= 0 ? "-" : (n / seconds / 1e9).ToString("F1");
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
