// The backend a device hands out while a step is being captured: every call runs on the real
// backend at once (the captured step is also an eager step) and is appended to the record with its
// buffers. Reading a buffer back on the host breaks the capture: the step depends on a value the
// replay would not see. Calls made inside a dynamic section are not recorded (their section is).
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>Runs and records the backend calls of one step.</summary>
internal sealed class StepRecorder : IBackend, IFusedKernels, IQuantizedKernels
{
    private const int W0 = 1, W1 = 2, W2 = 4, W3 = 8, W4 = 16, W5 = 32, W6 = 64, W7 = 128;

    private readonly IBackend inner;
    private readonly StepCapture capture;

    public StepRecorder(IBackend inner, StepCapture capture)
    {
        this.inner = inner;
        this.capture = capture;
    }

    /// <summary>The backend that runs the calls.</summary>
    public IBackend Inner => inner;

    public string Name => inner.Name;

    public bool ValidatesIndices => inner.ValidatesIndices;

    public BufferPool Pool => inner.Pool;

    private IFusedKernels? Fused => inner as IFusedKernels;

    private IQuantizedKernels Quantized => inner as IQuantizedKernels ?? throw new NotSupportedException($"{inner.Name} has no quantized kernels.");

    private void R(string name, DeviceBuffer?[] buffers, int writes, Action<IBackend, DeviceBuffer?[]> run, CallKind kind = CallKind.Other, object? args = null) =>
        capture.Add(new CapturedCall(name, kind, buffers, writes, run, args));

    public DeviceBuffer Allocate(int length) => inner.Allocate(length);

    public DeviceBuffer AllocateBytes(long bytes) => inner.AllocateBytes(bytes);

    public void UploadBytes(ReadOnlySpan<byte> src, DeviceBuffer dst, long dstByteOffset)
    {
        inner.UploadBytes(src, dst, dstByteOffset);
        byte[] data = src.ToArray();
        R(nameof(UploadBytes), [dst], W0, (b, s) => b.UploadBytes(data, s[0]!, dstByteOffset));
    }

    public void DownloadBytes(DeviceBuffer src, long srcByteOffset, Span<byte> dst)
    {
        capture.HostRead();
        inner.DownloadBytes(src, srcByteOffset, dst);
    }

    public void FillBits(DeviceBuffer dst, int elementSize, long offset, long count, ulong bits)
    {
        inner.FillBits(dst, elementSize, offset, count, bits);
        R(nameof(FillBits), [dst], W0, (b, s) => b.FillBits(s[0]!, elementSize, offset, count, bits));
    }

    public void CopyElements(in StridedView src, in StridedView dst)
    {
        inner.CopyElements(src, dst);
        var (a, c) = (src, dst);
        R(nameof(CopyElements), [a.Buffer, c.Buffer], W1, (b, s) => b.CopyElements(a.On(s[0]!), c.On(s[1]!)));
    }

    public void Cast(in StridedView src, DType from, DeviceBuffer dst, DType to)
    {
        inner.Cast(src, from, dst, to);
        var a = src;
        R(nameof(Cast), [a.Buffer, dst], W1, (b, s) => b.Cast(a.On(s[0]!), from, s[1]!, to));
    }

    public void TypedBinary(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        inner.TypedBinary(op, type, a, b, y, shape);
        var (va, vb) = (a, b);
        R(nameof(TypedBinary), [va.Buffer, vb.Buffer, y], W2, (k, s) => k.TypedBinary(op, type, va.On(s[0]!), vb.On(s[1]!), s[2]!, shape));
    }

    public void TypedReduce(ReduceKind kind, DType type, DeviceBuffer x, int outer, int axis, int inner1, DeviceBuffer y, bool selectLastIndex = false)
    {
        inner.TypedReduce(kind, type, x, outer, axis, inner1, y, selectLastIndex);
        R(nameof(TypedReduce), [x, y], W1, (b, s) => b.TypedReduce(kind, type, s[0]!, outer, axis, inner1, s[1]!, selectLastIndex));
    }

    public void Upload(ReadOnlySpan<float> src, DeviceBuffer dst, int dstOffset)
    {
        inner.Upload(src, dst, dstOffset);
        float[] data = src.ToArray();
        R(nameof(Upload), [dst], W0, (b, s) => b.Upload(data, s[0]!, dstOffset));
    }

    public void Download(DeviceBuffer src, int srcOffset, Span<float> dst)
    {
        capture.HostRead();
        inner.Download(src, srcOffset, dst);
    }

    public void Fill(DeviceBuffer dst, int offset, int length, float value)
    {
        inner.Fill(dst, offset, length, value);
        R(nameof(Fill), [dst], W0, (b, s) => b.Fill(s[0]!, offset, length, value));
    }

    public void Copy(in StridedView src, in StridedView dst)
    {
        inner.Copy(src, dst);
        var (a, c) = (src, dst);
        R(nameof(Copy), [a.Buffer, c.Buffer], W1, (b, s) => b.Copy(a.On(s[0]!), c.On(s[1]!)));
    }

    public void Unary<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, int length)
        where TOp : struct, IUnaryOp
    {
        inner.Unary(op, x, y, length);
        R(nameof(Unary), [x, y], W1, (b, s) => b.Unary(op, s[0]!, s[1]!, length));
    }

    public void UnaryBackward<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int length)
        where TOp : struct, IUnaryOp
    {
        inner.UnaryBackward(op, x, y, dy, dx, length);
        R(nameof(UnaryBackward), [x, y, dy, dx], W3, (b, s) => b.UnaryBackward(op, s[0]!, s[1]!, s[2]!, s[3]!, length));
    }

    public void BiasActivation<TOp>(TOp op, DeviceBuffer x, DeviceBuffer? bias, int outer, int channels, int inner1, DeviceBuffer y)
        where TOp : struct, IUnaryOp
    {
        inner.BiasActivation(op, x, bias, outer, channels, inner1, y);
        R(nameof(BiasActivation), [x, bias, y], W2, (b, s) => b.BiasActivation(op, s[0]!, s[1], outer, channels, inner1, s[2]!));
    }

    public void BiasActivationBackward<TOp>(
        TOp op, DeviceBuffer x, DeviceBuffer? bias, DeviceBuffer y, DeviceBuffer dy, int outer, int channels, int inner1, DeviceBuffer dx, DeviceBuffer? dbias)
        where TOp : struct, IUnaryOp
    {
        inner.BiasActivationBackward(op, x, bias, y, dy, outer, channels, inner1, dx, dbias);
        var kind = op is ReluOp ? CallKind.ReluBiasBackward : CallKind.Other;
        R(nameof(BiasActivationBackward), [x, bias, y, dy, dx, dbias], W4 | W5,
            (b, s) => b.BiasActivationBackward(op, s[0]!, s[1], s[2]!, s[3]!, outer, channels, inner1, s[4]!, s[5]), kind, (outer, channels, inner1));
    }

    public void Binary<TOp>(TOp op, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where TOp : struct, IBinaryOp
    {
        inner.Binary(op, a, b, y, shape);
        var (va, vb) = (a, b);
        R(nameof(Binary), [va.Buffer, vb.Buffer, y], W2, (k, s) => k.Binary(op, va.On(s[0]!), vb.On(s[1]!), s[2]!, shape));
    }

    public void Where(in StridedView cond, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        inner.Where(cond, a, b, y, shape);
        var (vc, va, vb) = (cond, a, b);
        R(nameof(Where), [vc.Buffer, va.Buffer, vb.Buffer, y], W3, (k, s) => k.Where(vc.On(s[0]!), va.On(s[1]!), vb.On(s[2]!), s[3]!, shape));
    }

    public void Reduce(ReduceKind kind, DeviceBuffer x, int outer, int axis, int inner1, DeviceBuffer y)
    {
        inner.Reduce(kind, x, outer, axis, inner1, y);
        R(nameof(Reduce), [x, y], W1, (b, s) => b.Reduce(kind, s[0]!, outer, axis, inner1, s[1]!));
    }

    public void Gemm(in GemmArgs args)
    {
        inner.Gemm(args);
        var a = args;
        R(nameof(Gemm), [a.A, a.B, a.C], W2, (b, s) => b.Gemm(a with { A = s[0]!, B = s[1]!, C = s[2]! }), args: a);
    }

    public void Softmax(DeviceBuffer x, DeviceBuffer y, int rows, int cols, bool log)
    {
        inner.Softmax(x, y, rows, cols, log);
        R(nameof(Softmax), [x, y], W1, (b, s) => b.Softmax(s[0]!, s[1]!, rows, cols, log));
    }

    public void SoftmaxBackward(DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int rows, int cols, bool log)
    {
        inner.SoftmaxBackward(y, dy, dx, rows, cols, log);
        R(nameof(SoftmaxBackward), [y, dy, dx], W2, (b, s) => b.SoftmaxBackward(s[0]!, s[1]!, s[2]!, rows, cols, log));
    }

    public void SoftmaxCrossEntropy(DeviceBuffer logits, DeviceBuffer labels, int rows, int cols, float smoothing, DeviceBuffer loss, DeviceBuffer probabilities)
    {
        inner.SoftmaxCrossEntropy(logits, labels, rows, cols, smoothing, loss, probabilities);
        R(nameof(SoftmaxCrossEntropy), [logits, labels, loss, probabilities], W2 | W3,
            (b, s) => b.SoftmaxCrossEntropy(s[0]!, s[1]!, rows, cols, smoothing, s[2]!, s[3]!));
    }

    public void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, DeviceBuffer labels, DeviceBuffer dloss, int rows, int cols, float smoothing, DeviceBuffer dlogits)
    {
        inner.SoftmaxCrossEntropyBackward(probabilities, labels, dloss, rows, cols, smoothing, dlogits);
        R(nameof(SoftmaxCrossEntropyBackward), [probabilities, labels, dloss, dlogits], W3,
            (b, s) => b.SoftmaxCrossEntropyBackward(s[0]!, s[1]!, s[2]!, rows, cols, smoothing, s[3]!));
    }

    public void Conv2dForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y)
    {
        inner.Conv2dForward(g, x, w, y);
        var geo = g;
        R(nameof(Conv2dForward), [x, w, y], W2, (b, s) => b.Conv2dForward(geo, s[0]!, s[1]!, s[2]!));
    }

    public void Conv2dBackwardData(in Conv2dGeometry g, DeviceBuffer dy, DeviceBuffer w, DeviceBuffer dx)
    {
        inner.Conv2dBackwardData(g, dy, w, dx);
        var geo = g;
        R(nameof(Conv2dBackwardData), [dy, w, dx], W2, (b, s) => b.Conv2dBackwardData(geo, s[0]!, s[1]!, s[2]!), CallKind.Conv2dBackwardData, geo);
    }

    public void Conv2dBackwardFilter(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw)
    {
        inner.Conv2dBackwardFilter(g, x, dy, dw);
        var geo = g;
        R(nameof(Conv2dBackwardFilter), [x, dy, dw], W2, (b, s) => b.Conv2dBackwardFilter(geo, s[0]!, s[1]!, s[2]!), CallKind.Conv2dBackwardFilter, geo);
    }

    public void MaxPool2dForward(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y, DeviceBuffer indices)
    {
        inner.MaxPool2dForward(g, x, y, indices);
        var geo = g;
        R(nameof(MaxPool2dForward), [x, y, indices], W1 | W2, (b, s) => b.MaxPool2dForward(geo, s[0]!, s[1]!, s[2]!), CallKind.MaxPool2dForward, geo);
    }

    public void MaxPool2dBackward(in Pool2dGeometry g, DeviceBuffer dy, DeviceBuffer indices, DeviceBuffer dx)
    {
        inner.MaxPool2dBackward(g, dy, indices, dx);
        var geo = g;
        R(nameof(MaxPool2dBackward), [dy, indices, dx], W2, (b, s) => b.MaxPool2dBackward(geo, s[0]!, s[1]!, s[2]!), CallKind.MaxPool2dBackward, geo);
    }

    public void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer x, DeviceBuffer y)
    {
        inner.AvgPool2dForward(g, countIncludePad, x, y);
        var geo = g;
        R(nameof(AvgPool2dForward), [x, y], W1, (b, s) => b.AvgPool2dForward(geo, countIncludePad, s[0]!, s[1]!));
    }

    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer dy, DeviceBuffer dx)
    {
        inner.AvgPool2dBackward(g, countIncludePad, dy, dx);
        var geo = g;
        R(nameof(AvgPool2dBackward), [dy, dx], W1, (b, s) => b.AvgPool2dBackward(geo, countIncludePad, s[0]!, s[1]!));
    }

    public void Gather(DeviceBuffer src, int outer, int srcAxis, int inner1, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd)
    {
        inner.Gather(src, outer, srcAxis, inner1, index, indexAxis, dst, negativeFromEnd);
        R(nameof(Gather), [src, index, dst], W2, (b, s) => b.Gather(s[0]!, outer, srcAxis, inner1, s[1]!, indexAxis, s[2]!, negativeFromEnd));
    }

    public void ScatterAdd(DeviceBuffer src, int outer, int dstAxis, int inner1, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd)
    {
        inner.ScatterAdd(src, outer, dstAxis, inner1, index, indexAxis, dst, negativeFromEnd);
        R(nameof(ScatterAdd), [src, index, dst], W2, (b, s) => b.ScatterAdd(s[0]!, outer, dstAxis, inner1, s[1]!, indexAxis, s[2]!, negativeFromEnd));
    }

    public void IndexSelect(DeviceBuffer src, int outer, int srcAxis, int inner1, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd)
    {
        inner.IndexSelect(src, outer, srcAxis, inner1, index, count, dst, negativeFromEnd);
        R(nameof(IndexSelect), [src, index, dst], W2, (b, s) => b.IndexSelect(s[0]!, outer, srcAxis, inner1, s[1]!, count, s[2]!, negativeFromEnd));
    }

    public void IndexAdd(DeviceBuffer src, int outer, int dstAxis, int inner1, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd)
    {
        inner.IndexAdd(src, outer, dstAxis, inner1, index, count, dst, negativeFromEnd);
        R(nameof(IndexAdd), [src, index, dst], W2, (b, s) => b.IndexAdd(s[0]!, outer, dstAxis, inner1, s[1]!, count, s[2]!, negativeFromEnd));
    }

    public void LstmCellForward(DeviceBuffer gates, DeviceBuffer h, DeviceBuffer c, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse)
    {
        inner.LstmCellForward(gates, h, c, mask, time, batch, hidden, t, reverse);
        R(nameof(LstmCellForward), [gates, h, c, mask], W0 | W1 | W2, (b, s) => b.LstmCellForward(s[0]!, s[1]!, s[2]!, s[3], time, batch, hidden, t, reverse));
    }

    public void LstmCellBackward(DeviceBuffer gates, DeviceBuffer c, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dc, DeviceBuffer dgates, int time, int batch, int hidden, int t, bool reverse)
    {
        inner.LstmCellBackward(gates, c, mask, dy, dh, dc, dgates, time, batch, hidden, t, reverse);
        R(nameof(LstmCellBackward), [gates, c, mask, dy, dh, dc, dgates], W4 | W5 | W6,
            (b, s) => b.LstmCellBackward(s[0]!, s[1]!, s[2], s[3]!, s[4]!, s[5]!, s[6]!, time, batch, hidden, t, reverse));
    }

    public void GruCellForward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse)
    {
        inner.GruCellForward(gates, hh, h, mask, time, batch, hidden, t, reverse);
        R(nameof(GruCellForward), [gates, hh, h, mask], W0 | W2, (b, s) => b.GruCellForward(s[0]!, s[1]!, s[2]!, s[3], time, batch, hidden, t, reverse));
    }

    public void GruCellBackward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dgates, DeviceBuffer dhh, int time, int batch, int hidden, int t, bool reverse)
    {
        inner.GruCellBackward(gates, hh, h, mask, dy, dh, dgates, dhh, time, batch, hidden, t, reverse);
        R(nameof(GruCellBackward), [gates, hh, h, mask, dy, dh, dgates, dhh], W5 | W6 | W7,
            (b, s) => b.GruCellBackward(s[0]!, s[1]!, s[2]!, s[3], s[4]!, s[5]!, s[6]!, s[7]!, time, batch, hidden, t, reverse));
    }

    public void BatchNormStatistics(DeviceBuffer x, int n, int channels, int inner1, DeviceBuffer mean, DeviceBuffer variance)
    {
        inner.BatchNormStatistics(x, n, channels, inner1, mean, variance);
        R(nameof(BatchNormStatistics), [x, mean, variance], W1 | W2, (b, s) => b.BatchNormStatistics(s[0]!, n, channels, inner1, s[1]!, s[2]!));
    }

    public void BatchNormForward(DeviceBuffer x, int n, int channels, int inner1, DeviceBuffer mean, DeviceBuffer variance, float eps, DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer y)
    {
        inner.BatchNormForward(x, n, channels, inner1, mean, variance, eps, gamma, beta, y);
        R(nameof(BatchNormForward), [x, mean, variance, gamma, beta, y], W5, (b, s) => b.BatchNormForward(s[0]!, n, channels, inner1, s[1]!, s[2]!, eps, s[3], s[4], s[5]!));
    }

    public void BatchNormBackward(
        DeviceBuffer x, DeviceBuffer dy, int n, int channels, int inner1, DeviceBuffer mean, DeviceBuffer variance, float eps,
        DeviceBuffer? gamma, bool batchStatistics, DeviceBuffer dx, DeviceBuffer? dgamma, DeviceBuffer? dbeta)
    {
        inner.BatchNormBackward(x, dy, n, channels, inner1, mean, variance, eps, gamma, batchStatistics, dx, dgamma, dbeta);
        R(nameof(BatchNormBackward), [x, dy, mean, variance, gamma, dx, dgamma, dbeta], W5 | W6 | W7,
            (b, s) => b.BatchNormBackward(s[0]!, s[1]!, n, channels, inner1, s[2]!, s[3]!, eps, s[4], batchStatistics, s[5]!, s[6], s[7]));
    }

    public void OptimizerStep(in OptimizerUpdate update, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? state1, DeviceBuffer? state2, int length, DeviceBuffer? gradientScale = null)
    {
        inner.OptimizerStep(update, param, grad, state1, state2, length, gradientScale);
        var u = update;
        R(nameof(OptimizerStep), [param, grad, state1, state2, gradientScale], W0 | W2 | W3,
            (b, s) => b.OptimizerStep(u, s[0]!, s[1]!, s[2], s[3], length, s[4]));
    }

    public void RandomUniform(DeviceBuffer dst, int length, ulong seed, ulong start, float low, float high)
    {
        inner.RandomUniform(dst, length, seed, start, low, high);
        R(nameof(RandomUniform), [dst], W0, (b, s) => b.RandomUniform(s[0]!, length, seed, start, low, high));
    }

    public void RandomNormal(DeviceBuffer dst, int length, ulong seed, ulong start, float mean, float std)
    {
        inner.RandomNormal(dst, length, seed, start, mean, std);
        R(nameof(RandomNormal), [dst], W0, (b, s) => b.RandomNormal(s[0]!, length, seed, start, mean, std));
    }

    public bool SupportsConv2dBiasRelu(in Conv2dGeometry g) => Fused?.SupportsConv2dBiasRelu(g) ?? false;

    public void Conv2dBiasReluForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer? bias, DeviceBuffer y)
    {
        var fused = Fused ?? throw new NotSupportedException($"{inner.Name} has no fused kernels.");
        fused.Conv2dBiasReluForward(g, x, w, bias, y);
        var geo = g;
        R(nameof(Conv2dBiasReluForward), [x, w, bias, y], W3, (b, s) => ((IFusedKernels)b).Conv2dBiasReluForward(geo, s[0]!, s[1]!, s[2], s[3]!), CallKind.Conv2dBiasRelu, geo);
    }

    public bool SupportsConv2dBiasReluMaxPool(in Conv2dGeometry g, in Pool2dGeometry pool) => Fused?.SupportsConv2dBiasReluMaxPool(g, pool) ?? false;

    public void Conv2dBiasReluMaxPoolForward(in Conv2dGeometry g, in Pool2dGeometry pool, DeviceBuffer x, DeviceBuffer w, DeviceBuffer? bias, DeviceBuffer pooled, DeviceBuffer indices)
    {
        var fused = Fused ?? throw new NotSupportedException($"{inner.Name} has no fused kernels.");
        fused.Conv2dBiasReluMaxPoolForward(g, pool, x, w, bias, pooled, indices);
        var (geo, pg) = (g, pool);
        R(nameof(Conv2dBiasReluMaxPoolForward), [x, w, bias, pooled, indices], W3 | W4,
            (b, s) => ((IFusedKernels)b).Conv2dBiasReluMaxPoolForward(geo, pg, s[0]!, s[1]!, s[2], s[3]!, s[4]!));
    }

    public bool SupportsConv2dPooledBackward(in Conv2dGeometry g, in Pool2dGeometry pool, bool dx, bool dw) =>
        Fused?.SupportsConv2dPooledBackward(g, pool, dx, dw) ?? false;

    public void Conv2dPooledBackward(in Conv2dGeometry g, in Pool2dGeometry pool, DeviceBuffer x, DeviceBuffer w, DeviceBuffer pooledGrad, DeviceBuffer indices, DeviceBuffer? dx, DeviceBuffer? dw)
    {
        var fused = Fused ?? throw new NotSupportedException($"{inner.Name} has no fused kernels.");
        fused.Conv2dPooledBackward(g, pool, x, w, pooledGrad, indices, dx, dw);
        var (geo, pg) = (g, pool);
        R(nameof(Conv2dPooledBackward), [x, w, pooledGrad, indices, dx, dw], W4 | W5,
            (b, s) => ((IFusedKernels)b).Conv2dPooledBackward(geo, pg, s[0]!, s[1]!, s[2]!, s[3]!, s[4], s[5]));
    }

    public void Quantize(DeviceBuffer x, long length, float scale, int zeroPoint, DType type, DeviceBuffer y)
    {
        Quantized.Quantize(x, length, scale, zeroPoint, type, y);
        R(nameof(Quantize), [x, y], W1, (b, s) => ((IQuantizedKernels)b).Quantize(s[0]!, length, scale, zeroPoint, type, s[1]!));
    }

    public void Dequantize(DeviceBuffer q, DType type, long length, float scale, int zeroPoint, DeviceBuffer y)
    {
        Quantized.Dequantize(q, type, length, scale, zeroPoint, y);
        R(nameof(Dequantize), [q, y], W1, (b, s) => ((IQuantizedKernels)b).Dequantize(s[0]!, type, length, scale, zeroPoint, s[1]!));
    }

    public void Requantize(DeviceBuffer x, long length, int zeroPointIn, float multiplier, int zeroPointOut, DeviceBuffer y)
    {
        Quantized.Requantize(x, length, zeroPointIn, multiplier, zeroPointOut, y);
        R(nameof(Requantize), [x, y], W1, (b, s) => ((IQuantizedKernels)b).Requantize(s[0]!, length, zeroPointIn, multiplier, zeroPointOut, s[1]!));
    }

    public void QuantizedAdd(DeviceBuffer a, int za, float ma, DeviceBuffer b, int zb, float mb, long length, int zy, bool relu, DeviceBuffer y)
    {
        Quantized.QuantizedAdd(a, za, ma, b, zb, mb, length, zy, relu, y);
        R(nameof(QuantizedAdd), [a, b, y], W2, (k, s) => ((IQuantizedKernels)k).QuantizedAdd(s[0]!, za, ma, s[1]!, zb, mb, length, zy, relu, s[2]!));
    }

    public void QuantizedConv2d(in Conv2dGeometry g, DeviceBuffer x, int zx, DeviceBuffer w, in QuantizedEpilogue epilogue, DeviceBuffer y)
    {
        Quantized.QuantizedConv2d(g, x, zx, w, epilogue, y);
        var (geo, e) = (g, epilogue);
        R(nameof(QuantizedConv2d), [x, w, e.Bias, e.Multipliers, y], W4,
            (b, s) => ((IQuantizedKernels)b).QuantizedConv2d(geo, s[0]!, zx, s[1]!, e with { Bias = s[2], Multipliers = s[3]! }, s[4]!));
    }

    public void QuantizedDense(DeviceBuffer x, int zx, DeviceBuffer w, int rows, int depth, int units, in QuantizedEpilogue epilogue, DeviceBuffer y)
    {
        Quantized.QuantizedDense(x, zx, w, rows, depth, units, epilogue, y);
        var e = epilogue;
        R(nameof(QuantizedDense), [x, w, e.Bias, e.Multipliers, y], W4,
            (b, s) => ((IQuantizedKernels)b).QuantizedDense(s[0]!, zx, s[1]!, rows, depth, units, e with { Bias = s[2], Multipliers = s[3]! }, s[4]!));
    }

    public void DynamicQuantizedDense(DeviceBuffer x, DeviceBuffer w, DeviceBuffer weightScales, DeviceBuffer? bias, int rows, int depth, int units, DeviceBuffer y)
    {
        Quantized.DynamicQuantizedDense(x, w, weightScales, bias, rows, depth, units, y);
        R(nameof(DynamicQuantizedDense), [x, w, weightScales, bias, y], W4,
            (b, s) => ((IQuantizedKernels)b).DynamicQuantizedDense(s[0]!, s[1]!, s[2]!, s[3], rows, depth, units, s[4]!));
    }

    public void QuantizedMaxPool2d(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y)
    {
        Quantized.QuantizedMaxPool2d(g, x, y);
        var geo = g;
        R(nameof(QuantizedMaxPool2d), [x, y], W1, (b, s) => ((IQuantizedKernels)b).QuantizedMaxPool2d(geo, s[0]!, s[1]!));
    }

    public void FakeQuantize(DeviceBuffer x, int outer, int channels, int inner1, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer y)
    {
        Quantized.FakeQuantize(x, outer, channels, inner1, scale, zeroPoint, qmin, qmax, y);
        R(nameof(FakeQuantize), [x, scale, zeroPoint, y], W3,
            (b, s) => ((IQuantizedKernels)b).FakeQuantize(s[0]!, outer, channels, inner1, s[1]!, s[2]!, qmin, qmax, s[3]!));
    }

    public void FakeQuantizeBackward(DeviceBuffer x, DeviceBuffer dy, int outer, int channels, int inner1, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer dx)
    {
        Quantized.FakeQuantizeBackward(x, dy, outer, channels, inner1, scale, zeroPoint, qmin, qmax, dx);
        R(nameof(FakeQuantizeBackward), [x, dy, scale, zeroPoint, dx], W4,
            (b, s) => ((IQuantizedKernels)b).FakeQuantizeBackward(s[0]!, s[1]!, outer, channels, inner1, s[2]!, s[3]!, qmin, qmax, s[4]!));
    }
}
