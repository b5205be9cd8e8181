// The int8 primitives of quantized inference and quantization-aware training. Every backend implements them; this
// interface only keeps them apart from IBackend's float32 contract. The integer arithmetic is defined exactly here so
// that every backend computes the same bits and tests can replay it in float64.
namespace Lepton.Backends;

/// <summary>
/// Kernels on quantized tensors. Activations are <see cref="DType.UInt8"/> with a per-tensor scale and zero point;
/// weights are <see cref="DType.Int8"/>, symmetric (zero point 0) in [-127, 127], with one scale per output channel.
/// </summary>
/// <remarks>
/// <para>Rounding is always to nearest, ties to even (<see cref="MathF.Round(float)"/>), and every floating-point step
/// named below is one float32 operation, never fused, so results are the same bits on every backend.</para>
/// <para>The requantizing epilogue of <see cref="QuantizedConv2d"/> and <see cref="QuantizedDense"/>: with
/// acc = sum over the reduction of w * (x - zx) in int32 (exact), v = acc + bias (int32, null adds 0),
/// y = clamp((int)MathF.Round((float)v * multiplier[k]) + zy, relu ? zy : 0, 255), where multiplier[k] =
/// scale(x) * scale(w[k]) / scale(y) and the bias is quantized with scale scale(x) * scale(w[k]).</para>
/// <para>Buffers are dense; uint8 and int8 buffers hold one byte per element, int32 and float32 ones four.</para>
/// </remarks>
public interface IQuantizedKernels
{
    /// <summary>y = clamp(MathF.Round(x / scale) + zeroPoint, qmin, qmax), the float32 division and the round as written.</summary>
    /// <param name="x">Float32 input of <paramref name="length"/> elements.</param>
    /// <param name="length">Element count.</param>
    /// <param name="scale">Positive, finite scale.</param>
    /// <param name="zeroPoint">Zero point inside the type's range.</param>
    /// <param name="type"><see cref="DType.UInt8"/> (range [0, 255]) or <see cref="DType.Int8"/> (range [-127, 127]).</param>
    /// <param name="y">Output of <paramref name="type"/> (=).</param>
    void Quantize(DeviceBuffer x, long length, float scale, int zeroPoint, DType type, DeviceBuffer y);

    /// <summary>y = (float)(q - zeroPoint) * scale, one float32 product per element.</summary>
    /// <param name="q">Quantized input of <paramref name="type"/>.</param>
    /// <param name="type"><see cref="DType.UInt8"/> or <see cref="DType.Int8"/>.</param>
    /// <param name="length">Element count.</param>
    /// <param name="scale">The input's scale.</param>
    /// <param name="zeroPoint">The input's zero point.</param>
    /// <param name="y">Float32 output (=).</param>
    void Dequantize(DeviceBuffer q, DType type, long length, float scale, int zeroPoint, DeviceBuffer y);

    /// <summary>
    /// Uint8 to uint8 with new quantization parameters: y = clamp(MathF.Round((float)(x - zeroPointIn) * multiplier) +
    /// zeroPointOut, 0, 255), with multiplier = scale(x) / scale(y).
    /// </summary>
    /// <param name="x">Uint8 input.</param>
    /// <param name="length">Element count.</param>
    /// <param name="zeroPointIn">The input's zero point.</param>
    /// <param name="multiplier">scale(x) / scale(y).</param>
    /// <param name="zeroPointOut">The output's zero point.</param>
    /// <param name="y">Uint8 output (=); may be <paramref name="x"/>.</param>
    void Requantize(DeviceBuffer x, long length, int zeroPointIn, float multiplier, int zeroPointOut, DeviceBuffer y);

    /// <summary>
    /// Quantized sum of two uint8 tensors: v = (float)(a - za) * ma + (float)(b - zb) * mb (two float32 products, then
    /// one float32 sum), y = clamp(MathF.Round(v) + zy, relu ? zy : 0, 255), with ma = scale(a) / scale(y) and
    /// mb = scale(b) / scale(y).
    /// </summary>
    /// <param name="a">First uint8 input.</param>
    /// <param name="za">Zero point of <paramref name="a"/>.</param>
    /// <param name="ma">scale(a) / scale(y).</param>
    /// <param name="b">Second uint8 input, same length.</param>
    /// <param name="zb">Zero point of <paramref name="b"/>.</param>
    /// <param name="mb">scale(b) / scale(y).</param>
    /// <param name="length">Element count.</param>
    /// <param name="zy">The output's zero point.</param>
    /// <param name="relu">Whether a ReLU is applied (clamp below at <paramref name="zy"/>).</param>
    /// <param name="y">Uint8 output (=).</param>
    void QuantizedAdd(DeviceBuffer a, int za, float ma, DeviceBuffer b, int zb, float mb, long length, int zy, bool relu, DeviceBuffer y);

    /// <summary>
    /// Int8 convolution with the requantizing epilogue (see the interface's remarks): x uint8 [N,C,H,W] with zero point
    /// <paramref name="zx"/>, w int8 [K, C/groups, R, S], y uint8 [N,K,P,Q]. Padding reads as <paramref name="zx"/> (a real
    /// zero), so padded taps add nothing to acc.
    /// </summary>
    /// <param name="g">The convolution's sizes.</param>
    /// <param name="x">Uint8 input.</param>
    /// <param name="zx">The input's zero point.</param>
    /// <param name="w">Int8 filters.</param>
    /// <param name="epilogue">Bias, per-filter multipliers, output zero point and ReLU.</param>
    /// <param name="y">Uint8 output (=).</param>
    void QuantizedConv2d(in Conv2dGeometry g, DeviceBuffer x, int zx, DeviceBuffer w, in QuantizedEpilogue epilogue, DeviceBuffer y);

    /// <summary>
    /// Int8 fully connected layer with the requantizing epilogue: x uint8 [rows, depth] with zero point
    /// <paramref name="zx"/>, w int8 [units, depth], y uint8 [rows, units]; acc[r, u] = sum over d of w[u, d] * (x[r, d] - zx).
    /// </summary>
    /// <param name="x">Uint8 input.</param>
    /// <param name="zx">The input's zero point.</param>
    /// <param name="w">Int8 weights, one row per unit.</param>
    /// <param name="rows">Rows of x (the batch).</param>
    /// <param name="depth">Inputs per row.</param>
    /// <param name="units">Outputs per row.</param>
    /// <param name="epilogue">Bias, per-unit multipliers, output zero point and ReLU.</param>
    /// <param name="y">Uint8 output (=).</param>
    void QuantizedDense(DeviceBuffer x, int zx, DeviceBuffer w, int rows, int depth, int units, in QuantizedEpilogue epilogue, DeviceBuffer y);

    /// <summary>
    /// Dynamically quantized fully connected layer on float32 x [rows, depth] and int8 w [units, depth]. Per call:
    /// lo = min(0, min x), hi = max(0, max x); s = (hi - lo) / 255f, or 1 when that is 0; z = clamp((int)MathF.Round(-lo / s),
    /// 0, 255); xq = clamp(MathF.Round(x / s) + z, 0, 255); acc[r, u] = sum over d of w[u, d] * (xq[r, d] - z) in int32;
    /// y[r, u] = (float)acc * (s * weightScales[u]) + bias[u] (the product in parentheses first; float32 throughout).
    /// </summary>
    /// <param name="x">Float32 input.</param>
    /// <param name="w">Int8 weights, one row per unit.</param>
    /// <param name="weightScales">Float32 scale of each weight row [units].</param>
    /// <param name="bias">Float32 bias [units], or null for none.</param>
    /// <param name="rows">Rows of x (the batch).</param>
    /// <param name="depth">Inputs per row.</param>
    /// <param name="units">Outputs per row.</param>
    /// <param name="y">Float32 output [rows, units] (=).</param>
    void DynamicQuantizedDense(DeviceBuffer x, DeviceBuffer w, DeviceBuffer weightScales, DeviceBuffer? bias, int rows, int depth, int units, DeviceBuffer y);

    /// <summary>Max pooling of uint8 x [N,C,H,W] into uint8 y [N,C,P,Q]; padding never wins (a window of padding only gives 0).</summary>
    /// <param name="g">The pooling's sizes.</param>
    /// <param name="x">Uint8 input.</param>
    /// <param name="y">Uint8 output (=).</param>
    void QuantizedMaxPool2d(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y);

    /// <summary>
    /// Fake quantization for quantization-aware training, over float32 x viewed as [outer, channels, inner] with one
    /// scale and zero point per channel (float32 buffers [channels] on the device, so a captured step never reads them
    /// back): q = MathF.Round(x / scale[c]) + zeroPoint[c]; y = (clamp(q, qmin, qmax) - zeroPoint[c]) * scale[c], the
    /// subtraction and product in float32.
    /// </summary>
    /// <param name="x">Float32 input.</param>
    /// <param name="outer">Size of the leading dimension.</param>
    /// <param name="channels">Number of channels (1 for a per-tensor scale).</param>
    /// <param name="inner">Size of the trailing dimension.</param>
    /// <param name="scale">Float32 scales [channels].</param>
    /// <param name="zeroPoint">Float32 zero points [channels], integral values.</param>
    /// <param name="qmin">Smallest quantized value.</param>
    /// <param name="qmax">Largest quantized value.</param>
    /// <param name="y">Float32 output (=).</param>
    void FakeQuantize(DeviceBuffer x, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer y);

    /// <summary>
    /// The straight-through gradient of <see cref="FakeQuantize"/>: dx = dy where qmin &lt;= MathF.Round(x / scale[c]) +
    /// zeroPoint[c] &lt;= qmax, else 0 (=).
    /// </summary>
    /// <param name="x">The forward pass's float32 input.</param>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="outer">Size of the leading dimension.</param>
    /// <param name="channels">Number of channels.</param>
    /// <param name="inner">Size of the trailing dimension.</param>
    /// <param name="scale">Float32 scales [channels].</param>
    /// <param name="zeroPoint">Float32 zero points [channels].</param>
    /// <param name="qmin">Smallest quantized value.</param>
    /// <param name="qmax">Largest quantized value.</param>
    /// <param name="dx">Gradient of the input (=).</param>
    void FakeQuantizeBackward(DeviceBuffer x, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer dx);
}

/// <summary>The requantizing epilogue of an int8 convolution or fully connected layer (see <see cref="IQuantizedKernels"/>).</summary>
/// <param name="Bias">Int32 bias per output channel, quantized with scale(x) * scale(w[k]), or null for none.</param>
/// <param name="Multipliers">Float32 per output channel: scale(x) * scale(w[k]) / scale(y).</param>
/// <param name="ZeroPoint">The output's zero point.</param>
/// <param name="Relu">Whether the output is clamped below at the zero point (a fused ReLU).</param>
public readonly record struct QuantizedEpilogue(DeviceBuffer? Bias, DeviceBuffer Multipliers, int ZeroPoint, bool Relu);
