// Asking for distributed training without an MPI library gives an error that says what to install.
namespace Lepton.Tests.DataParallel;

[Collection("mpirun")]
public class MpiLoadingTests
{
    [Fact]
    public void AMissingMpiLibraryIsAClearError()
    {
        string? before = Environment.GetEnvironmentVariable("LEPTON_MPI_LIBRARY");
        Environment.SetEnvironmentVariable("LEPTON_MPI_LIBRARY", "/nonexistent/libmpi.so.40");
        try
        {
            var error = Assert.Throws<DllNotFoundException>(() => Distributed.Initialize());
            Assert.Contains("the MPI library (/nonexistent/libmpi.so.40) was not found", error.Message);
            Assert.Contains("apt-get install openmpi-bin libopenmpi-dev", error.Message);
            Assert.Null(Distributed.Current);
        }
        finally
        {
            Environment.SetEnvironmentVariable("LEPTON_MPI_LIBRARY", before);
        }
    }
}
