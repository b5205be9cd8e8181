// The int8 kernels of a captured step: each call runs on the real backend and is recorded with its buffers, as the
// float32 ones are, so a quantization-aware training step (fake quantization) and int8 inference both replay.
using Lepton.Backends;

namespace Lepton.Capture;

internal sealed partial class StepRecorder : IQuantizedKernels
{
    private IQuantizedKernels Quantized => inner as IQuantizedKernels
        ?? throw new NotSupportedException($"The {inner.Name} backend has no int8 kernels (IQuantizedKernels).");

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

    public void FakeQuantize(DeviceBuffer x, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer y)
    {
        Quantized.FakeQuantize(x, outer, channels, inner, scale, zeroPoint, qmin, qmax, y);
        R(nameof(FakeQuantize), [x, scale, zeroPoint, y], W3,
            (b, s) => ((IQuantizedKernels)b).FakeQuantize(s[0]!, outer, channels, inner, s[1]!, s[2]!, qmin, qmax, s[3]!));
    }

    public void FakeQuantizeBackward(DeviceBuffer x, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer dx)
    {
        Quantized.FakeQuantizeBackward(x, dy, outer, channels, inner, scale, zeroPoint, qmin, qmax, dx);
        R(nameof(FakeQuantizeBackward), [x, dy, scale, zeroPoint, dx], W4,
            (b, s) => ((IQuantizedKernels)b).FakeQuantizeBackward(s[0]!, s[1]!, outer, channels, inner, s[2]!, s[3]!, qmin, qmax, s[4]!));
    }
}
