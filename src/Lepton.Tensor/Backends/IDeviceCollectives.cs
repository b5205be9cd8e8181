// Optional for a backend: collectives that run on device memory (NCCL on CUDA GPUs) instead of being staged through
// host memory. Distributed and the gradient reducer use it where Available says so; every backend works without it.
namespace Lepton.Backends;

/// <summary>Collectives of a data-parallel job run on this backend's device memory, queued in kernel order.</summary>
internal interface IDeviceCollectives
{
    /// <summary>Whether this backend can run <paramref name="group"/>'s collectives on its device (set up on first use).</summary>
    bool Available(Distributed group);

    /// <summary>Queues an in-place sum over the ranks of <paramref name="count"/> elements at <paramref name="byteOffset"/>.</summary>
    void AllReduce(Distributed group, DeviceBuffer buffer, long byteOffset, long count, DType type);

    /// <summary>Queues a broadcast from <paramref name="root"/> of <paramref name="count"/> elements at <paramref name="byteOffset"/>.</summary>
    void Broadcast(Distributed group, DeviceBuffer buffer, long byteOffset, long count, DType type, int root);

    /// <summary>Starts collecting queued collectives into one launch (NCCL's group calls).</summary>
    void BeginGroup();

    /// <summary>Launches the collectives queued since <see cref="BeginGroup"/>.</summary>
    void EndGroup();
}
