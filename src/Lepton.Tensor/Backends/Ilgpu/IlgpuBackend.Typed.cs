// Memory transfers and kernels for every element type: byte uploads and downloads, fills, copies, casts,
// selection, and element-wise arithmetic, comparisons and reductions in the operands' own type.
using ILGPU;
using ILGPU.Runtime;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void UploadBytes(ReadOnlySpan<byte> src, DeviceBuffer dst, long dstByteOffset)
    {
        if (src.Length > 0)
        {
            BindToThisThread();
            Gpu(dst).ViewAs<byte>().SubView(dstByteOffset, src.Length).CopyFromCPU(src);
        }
    }

    /// <inheritdoc />
    public void DownloadBytes(DeviceBuffer src, long srcByteOffset, Span<byte> dst)
    {
        Interlocked.Increment(ref readBacks);
        BindToThisThread();
        if (dst.Length > 0)
        {
            Gpu(src).ViewAs<byte>().SubView(srcByteOffset, dst.Length).CopyToCPU(dst);
        }

        accelerator.Synchronize();
        ThrowPendingIndexError();
    }

    /// <inheritdoc />
    public void FillBits(DeviceBuffer dst, int elementSize, long offset, long count, ulong bits) => throw new NotImplementedException();

    /// <inheritdoc />
    public void CopyElements(in StridedView src, in StridedView dst) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Cast(in StridedView src, DType from, DeviceBuffer dst, DType to) => throw new NotImplementedException();

    /// <inheritdoc />
    public void Where(in StridedView cond, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape) => throw new NotImplementedException();

    /// <inheritdoc />
    public void TypedBinary(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape) => throw new NotImplementedException();

    /// <inheritdoc />
    public void TypedReduce(ReduceKind kind, DType type, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y, bool selectLastIndex = false) => throw new NotImplementedException();
}
