// Tests that change process-wide CPU settings (the thread count) run alone, after the others: a test running
// beside them would see its work split differently between two calls it compares bit for bit.
namespace Lepton.Tests.Support;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalCpuSettingsCollection
{
    public const string Name = "global-cpu-settings";
}
