// The kernel contract: one method per primitive, raw buffers and sizes in, buffers out.
// No autograd and no shape policy here: ops in Lepton/Ops check shapes and call these.
namespace Lepton.Backends;

/// <summary>
/// The primitives a device must run. Buffers hold raw bytes; unless a method takes a <see cref="DType"/> or an element
/// size, its buffers hold float32 elements and its sizes and offsets count float32 elements, and its index, label and
/// pooling-index buffers hold int32 elements.
/// </summary>
/// <remarks>Outputs are written (=) unless the method name says it accumulates (+=). Fused kernels that combine these
/// primitives are an optional capability, <see cref="IFusedKernels"/>.</remarks>
public interface IBackend
{
    /// <summary>The backend's name.</summary>
    string Name { get; }

    /// <summary>
    /// True when the backend checks index ranges inside its kernels (Gather, ScatterAdd, IndexSelect, IndexAdd,
    /// SoftmaxCrossEntropy) and reports a bad index when results are next read back; otherwise ops check on the
    /// host before launching. A GPU backend validates on the device so that no op waits for the device.
    /// </summary>
    bool ValidatesIndices { get; }

    /// <summary>The pool buffers come from; its counters show live memory.</summary>
    BufferPool Pool { get; }

    /// <summary>Takes a buffer of <paramref name="length"/> float32 elements from the pool; contents undefined.</summary>
    DeviceBuffer Allocate(int length);

    /// <summary>Takes a buffer of <paramref name="bytes"/> bytes from the pool; contents undefined.</summary>
    DeviceBuffer AllocateBytes(long bytes);

    /// <summary>dst[dstByteOffset..] = src, byte for byte.</summary>
    void UploadBytes(ReadOnlySpan<byte> src, DeviceBuffer dst, long dstByteOffset);

    /// <summary>dst = src[srcByteOffset .. srcByteOffset + dst.Length], byte for byte. Synchronizes with queued work.</summary>
    void DownloadBytes(DeviceBuffer src, long srcByteOffset, Span<byte> dst);

    /// <summary>Sets <paramref name="count"/> elements of <paramref name="elementSize"/> bytes (1, 2, 4 or 8) from element
    /// <paramref name="offset"/> on to the low bytes of <paramref name="bits"/>.</summary>
    void FillBits(DeviceBuffer dst, int elementSize, long offset, long count, ulong bits);

    /// <summary>dst = src element by element for elements of any size (the views' <see cref="StridedView.ElementSize"/>).</summary>
    void CopyElements(in StridedView src, in StridedView dst);

    /// <summary>
    /// dst (dense, src's shape, of type <paramref name="to"/>) = src (of type <paramref name="from"/>) converted as
    /// <see cref="ElementConversions"/> says: integers wrap when narrowed, floating values truncate toward zero and
    /// saturate when converted to integers (NaN to 0), 16-bit floats round to nearest even, anything non-zero is true.
    /// </summary>
    void Cast(in StridedView src, DType from, DeviceBuffer dst, DType to);

    /// <summary>
    /// y = op(a, b) computed in <paramref name="type"/> (every type but the 16-bit floats), with a and b views of that type
    /// expanded to <paramref name="shape"/>; y is dense, of <paramref name="type"/>, or bool for comparisons.
    /// </summary>
    void TypedBinary(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape);

    /// <summary>
    /// Reduces x [outer, axis, inner] of <paramref name="type"/> (every type but the 16-bit floats) along its middle
    /// dimension into y [outer, inner]: Sum in int64 for integer and bool types (wrapping) and in the type itself for
    /// floating ones; Max and Min in the type; ArgMax and ArgMin as int64, the first extreme or with
    /// <paramref name="selectLastIndex"/> the last, NaN counting as the largest.
    /// </summary>
    void TypedReduce(ReduceKind kind, DType type, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y, bool selectLastIndex = false);

    /// <summary>dst[dstOffset..] = src.</summary>
    void Upload(ReadOnlySpan<float> src, DeviceBuffer dst, int dstOffset);

    /// <summary>dst = src[srcOffset .. srcOffset + dst.Length]. Synchronizes with queued work.</summary>
    void Download(DeviceBuffer src, int srcOffset, Span<float> dst);

    /// <summary>dst[offset .. offset + length] = value.</summary>
    void Fill(DeviceBuffer dst, int offset, int length, float value);

    /// <summary>dst = src element by element; both views have the same shape.</summary>
    void Copy(in StridedView src, in StridedView dst);

    /// <summary>y = op(x) over contiguous buffers.</summary>
    void Unary<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, int length) where TOp : struct, IUnaryOp;

    /// <summary>dx = dy * op'(x, y) over contiguous buffers.</summary>
    void UnaryBackward<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int length)
        where TOp : struct, IUnaryOp;

    /// <summary>y[o, c, i] = op(x[o, c, i] + bias[c]) over x viewed as [outer, channels, inner]; a null bias adds nothing.</summary>
    void BiasActivation<TOp>(TOp op, DeviceBuffer x, DeviceBuffer? bias, int outer, int channels, int inner, DeviceBuffer y)
        where TOp : struct, IUnaryOp;

    /// <summary>dx = dy * op'(x + bias, y) (=), and when given dbias[c] = the sum of dx over outer and inner (=).</summary>
    void BiasActivationBackward<TOp>(
        TOp op, DeviceBuffer x, DeviceBuffer? bias, DeviceBuffer y, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer dx, DeviceBuffer? dbias)
        where TOp : struct, IUnaryOp;

    /// <summary>y = op(a, b) with broadcasting: a and b are views already expanded to <paramref name="shape"/>; y is dense.</summary>
    void Binary<TOp>(TOp op, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape) where TOp : struct, IBinaryOp;

    /// <summary>y = cond ? a : b with a bool cond and a, b of any one element size, all expanded to <paramref name="shape"/>; y is dense.</summary>
    void Where(in StridedView cond, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape);

    /// <summary>
    /// Reduces float32 x viewed as [outer, axis, inner] along its middle dimension into float32 y [outer, inner]; the kind
    /// is Sum, Max or Min (arg-extremes go through <see cref="TypedReduce"/>), any other throws ArgumentException.
    /// </summary>
    void Reduce(ReduceKind kind, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y);

    /// <summary>Strided batched matrix product; see <see cref="GemmArgs"/>.</summary>
    void Gemm(in GemmArgs args);

    /// <summary>Softmax (or log-softmax) of each row of x [rows, cols].</summary>
    void Softmax(DeviceBuffer x, DeviceBuffer y, int rows, int cols, bool log);

    /// <summary>dx from the softmax (or log-softmax) output y and dy, rows of [rows, cols].</summary>
    void SoftmaxBackward(DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int rows, int cols, bool log);

    /// <summary>
    /// Fused softmax cross-entropy of logits [rows, cols] against class indices [rows] with label smoothing:
    /// writes each row's loss and the row's softmax probabilities (kept for the backward pass).
    /// </summary>
    void SoftmaxCrossEntropy(DeviceBuffer logits, DeviceBuffer labels, int rows, int cols, float smoothing, DeviceBuffer loss, DeviceBuffer probabilities);

    /// <summary>dlogits[r, c] = dloss[r] * (probabilities[r, c] - target[r, c]) with the smoothed one-hot target (=).</summary>
    void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, DeviceBuffer labels, DeviceBuffer dloss, int rows, int cols, float smoothing, DeviceBuffer dlogits);

    /// <summary>y = conv2d(x, w); x [N,C,H,W], w [K,C/g,R,S] -> y [N,K,P,Q].</summary>
    void Conv2dForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y);

    /// <summary>dx = conv2d input gradient (=); dy [N,K,P,Q], w [K,C/g,R,S] -> dx [N,C,H,W].</summary>
    void Conv2dBackwardData(in Conv2dGeometry g, DeviceBuffer dy, DeviceBuffer w, DeviceBuffer dx);

    /// <summary>dw = conv2d filter gradient (=); x [N,C,H,W], dy [N,K,P,Q] -> dw [K,C/g,R,S].</summary>
    void Conv2dBackwardFilter(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw);

    /// <summary>Max pooling; writes y [N,C,P,Q] and, per output, the index of the max within its input plane (padding never wins).</summary>
    void MaxPool2dForward(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y, DeviceBuffer indices);

    /// <summary>dx = scatter of dy to the saved argmax indices (=).</summary>
    void MaxPool2dBackward(in Pool2dGeometry g, DeviceBuffer dy, DeviceBuffer indices, DeviceBuffer dx);

    /// <summary>Average pooling; the divisor counts padded positions when <paramref name="countIncludePad"/>.</summary>
    void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer x, DeviceBuffer y);

    /// <summary>dx of average pooling (=).</summary>
    void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer dy, DeviceBuffer dx);

    /// <summary>dst[o, j, i] = src[o, index[o, j, i], i]; src is [outer, srcAxis, inner], index and dst [outer, indexAxis, inner].
    /// With <paramref name="negativeFromEnd"/>, an index in [-srcAxis, -1] means srcAxis + index (ONNX); otherwise negatives are bad indices.</summary>
    void Gather(DeviceBuffer src, int outer, int srcAxis, int inner, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd);

    /// <summary>dst[o, index[o, j, i], i] += src[o, j, i]: the adjoint of <see cref="Gather"/>, negative indices as there.</summary>
    void ScatterAdd(DeviceBuffer src, int outer, int dstAxis, int inner, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd);

    /// <summary>dst[o, j, i] = src[o, index[j], i]; src is [outer, srcAxis, inner], dst [outer, count, inner]; negative indices as in <see cref="Gather"/>.</summary>
    void IndexSelect(DeviceBuffer src, int outer, int srcAxis, int inner, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd);

    /// <summary>dst[o, index[j], i] += src[o, j, i]: the adjoint of <see cref="IndexSelect"/>, negative indices as there.</summary>
    void IndexAdd(DeviceBuffer src, int outer, int dstAxis, int inner, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd);

    /// <summary>
    /// One step of a fused LSTM cell (i, f, o sigmoid; g tanh) at time <paramref name="t"/> of time-major buffers.
    /// gates [time, batch, 4 * hidden]: at t, the pre-activations x W_ih^T + h W_hh^T + b in, the activations i, f, g, o
    /// out (= in place). h, c [time + 1, batch, hidden]: the step reads the states in slot t + (reverse ? 1 : 0) and writes
    /// slot t + (reverse ? 0 : 1) (=) with c' = f c + i g, h' = o tanh(c'), or the states it read on rows where mask
    /// [time, batch] is 0 (null: no mask).
    /// </summary>
    void LstmCellForward(DeviceBuffer gates, DeviceBuffer h, DeviceBuffer c, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse);

    /// <summary>
    /// The backward of <see cref="LstmCellForward"/> at time t from its gate activations and cell states. dh, dc [batch,
    /// hidden] come in as the gradients of the states the step wrote and go out (= in place) as the gradients of the states
    /// it read, except the path through W_hh; dy [time, batch, hidden] at t (the output's gradient, already times the mask)
    /// is added to dh; dgates [time, batch, 4 * hidden] at t gets the gradient of the pre-activations (=), 0 on masked rows.
    /// </summary>
    void LstmCellBackward(DeviceBuffer gates, DeviceBuffer c, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dc, DeviceBuffer dgates, int time, int batch, int hidden, int t, bool reverse);

    /// <summary>
    /// One step of a fused GRU cell (PyTorch's, reset gate after the product) at time t of time-major buffers. gates [time,
    /// batch, 3 * hidden]: at t, x W_ih^T + b_ih in (blocks r, z, n), the activations r, z, n out (= in place); hh [time,
    /// batch, 3 * hidden] at t: h W_hh^T + b_hh; h [time + 1, batch, hidden]: reads slot t + (reverse ? 1 : 0), writes slot
    /// t + (reverse ? 0 : 1) (=): r = σ(x_r + hh_r), z = σ(x_z + hh_z), n = tanh(x_n + r hh_n), h' = n + z (h − n), or h
    /// where mask [time, batch] is 0 (null: no mask).
    /// </summary>
    void GruCellForward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse);

    /// <summary>
    /// The backward of <see cref="GruCellForward"/> at time t. dh [batch, hidden] comes in as the gradient of the state the
    /// step wrote and goes out (= in place) as the gradient of the state it read, except the path through W_hh; dy [time,
    /// batch, hidden] at t (already times the mask) is added to dh; at t, dgates [time, batch, 3 * hidden] gets the gradient
    /// of x W_ih^T + b_ih and dhh [time, batch, 3 * hidden] the gradient of hh (=), both 0 on masked rows.
    /// </summary>
    void GruCellBackward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dgates, DeviceBuffer dhh, int time, int batch, int hidden, int t, bool reverse);

    /// <summary>Per-channel mean and biased variance of x viewed as [n, channels, inner] (writes mean[c], variance[c]).</summary>
    void BatchNormStatistics(DeviceBuffer x, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance);

    /// <summary>y = (x - mean[c]) / sqrt(variance[c] + eps) * gamma[c] + beta[c] over [n, channels, inner]; null gamma/beta mean 1/0.</summary>
    void BatchNormForward(DeviceBuffer x, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance, float eps, DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer y);

    /// <summary>
    /// Batch-norm gradients (=): dx, and when given dgamma[c] = sum(dy * xhat), dbeta[c] = sum(dy). With
    /// <paramref name="batchStatistics"/> the mean and variance are the batch's own (their gradient flows into dx);
    /// otherwise they are constants (running statistics).
    /// </summary>
    void BatchNormBackward(
        DeviceBuffer x, DeviceBuffer dy, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance, float eps,
        DeviceBuffer? gamma, bool batchStatistics, DeviceBuffer dx, DeviceBuffer? dgamma, DeviceBuffer? dbeta);

    /// <summary>
    /// One fused optimizer update of a parameter in place from its gradient and state buffers; see <see cref="OptimizerUpdate"/>.
    /// When given, the one-element <paramref name="gradientScale"/> (computed on the device, e.g. by norm clipping)
    /// multiplies the gradient as well, so clipping needs no read-back.
    /// </summary>
    void OptimizerStep(in OptimizerUpdate update, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? state1, DeviceBuffer? state2, int length, DeviceBuffer? gradientScale = null);

    /// <summary>dst[i] = uniform in [low, high) from counter (start + i) of the seed's stream.</summary>
    void RandomUniform(DeviceBuffer dst, int length, ulong seed, ulong start, float low, float high);

    /// <summary>dst[i] = normal(mean, std) from counters of the seed's stream (Box-Muller on pairs).</summary>
    void RandomNormal(DeviceBuffer dst, int length, ulong seed, ulong start, float mean, float std);
}
