// Data-parallel collectives on CUDA device memory through NCCL, queued on the accelerator's default stream after
// the kernels that wrote the data; other accelerators (and CUDA without NCCL) stage through host memory instead.
using ILGPU.Runtime.Cuda;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend : IDeviceCollectives
{
    /// <inheritdoc />
    bool IDeviceCollectives.Available(Distributed group) => accelerator is CudaAccelerator && NcclLibrary.TryLoad();

    /// <inheritdoc />
    void IDeviceCollectives.AllReduce(Distributed group, DeviceBuffer buffer, long byteOffset, long count, DType type)
    {
        var (data, comm, stream) = Prepare(group, buffer, byteOffset);
        NcclLibrary.AllReduce(data, count, type, comm, stream);
    }

    /// <inheritdoc />
    void IDeviceCollectives.Broadcast(Distributed group, DeviceBuffer buffer, long byteOffset, long count, DType type, int root)
    {
        var (data, comm, stream) = Prepare(group, buffer, byteOffset);
        NcclLibrary.Broadcast(data, count, type, root, comm, stream);
    }

    /// <inheritdoc />
    void IDeviceCollectives.BeginGroup() => NcclLibrary.GroupStart();

    /// <inheritdoc />
    void IDeviceCollectives.EndGroup() => NcclLibrary.GroupEnd();

    private (nint Data, nint Comm, nint Stream) Prepare(Distributed group, DeviceBuffer buffer, long byteOffset)
    {
        var cuda = (CudaAccelerator)accelerator;
        cuda.Bind();
        nint comm = NcclLibrary.Communicator(group, cuda.NativePtr);
        return (((IlgpuBuffer)buffer).Memory.NativePtr + (nint)byteOffset, comm, ((CudaStream)cuda.DefaultStream).StreamPtr);
    }
}
