// Fused LSTM and GRU cells on an ILGPU accelerator: each step launches one element-wise kernel over
// [batch, hidden] on sub-views of the sequence buffers at that step (kernels/Lepton.Kernels/RecurrentKernels.cs).
using ILGPU;
using ILGPU.Runtime;
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void LstmCellForward(DeviceBuffer gates, DeviceBuffer h, DeviceBuffer c, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse)
    {
        long n = (long)batch * hidden;
        if (n == 0)
        {
            return;
        }

        var (before, after) = reverse ? (t + 1, t) : (t, t + 1);
        var k = Kernel("LstmCellForward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, SigmoidOp, TanhOp>(RecurrentKernels.LstmCellForward));
        k(Elements(n), Step(gates, t, 4 * n), Step(h, before, n), Step(c, before, n), Step(h, after, n), Step(c, after, n), MaskAt(mask, t, batch), batch, hidden, mask is null ? 0 : 1, default, default);
    }

    /// <inheritdoc />
    public void LstmCellBackward(DeviceBuffer gates, DeviceBuffer c, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dc, DeviceBuffer dgates, int time, int batch, int hidden, int t, bool reverse)
    {
        long n = (long)batch * hidden;
        if (n == 0)
        {
            return;
        }

        var (before, after) = reverse ? (t + 1, t) : (t, t + 1);
        var k = Kernel("LstmCellBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, TanhOp>(RecurrentKernels.LstmCellBackward));
        k(Elements(n), Step(gates, t, 4 * n), Step(c, before, n), Step(c, after, n), MaskAt(mask, t, batch), Step(dy, t, n), Step(dh, 0, n), Step(dc, 0, n), Step(dgates, t, 4 * n), batch, hidden, mask is null ? 0 : 1, default);
    }

    /// <inheritdoc />
    public void GruCellForward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse)
    {
        long n = (long)batch * hidden;
        if (n == 0)
        {
            return;
        }

        var (before, after) = reverse ? (t + 1, t) : (t, t + 1);
        var k = Kernel("GruCellForward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, SigmoidOp, TanhOp>(RecurrentKernels.GruCellForward));
        k(Elements(n), Step(gates, t, 3 * n), Step(hh, t, 3 * n), Step(h, before, n), Step(h, after, n), MaskAt(mask, t, batch), batch, hidden, mask is null ? 0 : 1, default, default);
    }

    /// <inheritdoc />
    public void GruCellBackward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dgates, DeviceBuffer dhh, int time, int batch, int hidden, int t, bool reverse)
    {
        long n = (long)batch * hidden;
        if (n == 0)
        {
            return;
        }

        int before = reverse ? t + 1 : t;
        var k = Kernel("GruCellBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(RecurrentKernels.GruCellBackward));
        k(Elements(n), Step(gates, t, 3 * n), Step(hh, t, 3 * n), Step(h, before, n), MaskAt(mask, t, batch), Step(dy, t, n), Step(dh, 0, n), Step(dgates, t, 3 * n), Step(dhh, t, 3 * n), batch, hidden, mask is null ? 0 : 1);
    }

    /// <summary>Slice number <paramref name="index"/> of <paramref name="length"/> elements of a sequence buffer.</summary>
    private ArrayView<float> Step(DeviceBuffer buffer, int index, long length) => Gpu(buffer).View.SubView(index * length, length);

    /// <summary>The mask's [batch] row at time t of a [time, batch] mask, or a placeholder without one.</summary>
    private ArrayView<float> MaskAt(DeviceBuffer? mask, int t, int batch) => mask is null ? unit.View : Gpu(mask).View.SubView((long)t * batch, batch);
}
