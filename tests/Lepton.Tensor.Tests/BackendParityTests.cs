// The GPU kernels, run by ILGPU's CPU accelerator, against the CPU backend: every primitive and a CNN's
// loss curve (the cases and their tolerances are in ParityChecks, shared with the GPU self-check program).
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(IlgpuCpuCollection.Name)]
public sealed class BackendParityTests
{
    public static TheoryData<string> CaseNames => [.. ParityChecks.Cases().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void IlgpuCpuMatchesTheCpuBackend(string name)
    {
        var check = ParityChecks.Cases().Single(c => c.Name == name);
        check.Run(new ParityChecks(Device.IlgpuCpu));
    }
}
