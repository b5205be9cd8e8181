// The CPU's chunked convolutions give each thread a contiguous part of the images, run with that thread's own
// buffers, and sum the parts' filter gradients at the end: one, two and three parts against loops.
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class ChunkedConvolutionThreadTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryThreadCountMatchesLoops(int threads)
    {
        int previous = CpuParallel.Threads;
        CpuParallel.Threads = threads;
        try
        {
            ConvPoolTests.ChunkedConvolution(Device.Cpu);
        }
        finally
        {
            CpuParallel.Threads = previous;
        }
    }
}
