// Tests on the shared ILGPU-CPU device run one at a time: a device reports an out-of-range index at its
// next read-back, whichever caller does it (as CUDA reports asynchronous errors), so a test that expects
// that error must not share the device with another test reading back at the same moment.
namespace Lepton.Tests.Support;

[CollectionDefinition(Name)]
public sealed class IlgpuCpuCollection
{
    public const string Name = "ilgpu-cpu";
}
