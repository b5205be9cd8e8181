// The base of every per-backend test suite: a suite is written once against Device and run once
// per backend by a one-line subclass (CPU now; ILGPU accelerators plug in the same way).
namespace Lepton.Tests.Support;

public abstract class BackendTests
{
    protected abstract Device Device { get; }

    protected Tensor T(Nd nd) => nd.ToTensor(Device);

    protected Tensor T(float[] values, params int[] shape) => Tensor.FromArray(values, shape, device: Device);
}
