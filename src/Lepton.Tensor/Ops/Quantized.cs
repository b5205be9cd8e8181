// The int8 ops of quantized inference: quantize and dequantize, requantize, the quantized sum, convolution, fully
// connected layer (static and dynamic) and max pooling. Each checks shapes and types and calls the backend's
// IQuantizedKernels; none records a gradient (integer tensors are not differentiable).
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Float32 to uint8: clamp(round(x / scale) + zeroPoint, 0, 255).</summary>
    internal Tensor QuantizeUInt8(float scale, int zeroPoint)
    {
        CheckFloat("Quantize");
        CheckQuantParams("Quantize", scale, zeroPoint);
        var x = DenseData();
        var y = Empty(Shape, Device, DType.UInt8);
        Kernels("Quantize").Quantize(x.Buffer, Numel, scale, zeroPoint, DType.UInt8, y.Buffer);
        return y;
    }

    /// <summary>Uint8 to float32: (q - zeroPoint) * scale.</summary>
    internal Tensor DequantizeUInt8(float scale, int zeroPoint)
    {
        CheckQuantized("Dequantize");
        CheckQuantParams("Dequantize", scale, zeroPoint);
        var q = DenseData();
        var y = Empty(Shape, Device);
        Kernels("Dequantize").Dequantize(q.Buffer, DType.UInt8, Numel, scale, zeroPoint, y.Buffer);
        return y;
    }

    /// <summary>Uint8 to uint8 on another grid: clamp(round((x - zeroPointIn) * multiplier) + zeroPointOut, 0, 255).</summary>
    internal Tensor Requantize(int zeroPointIn, float multiplier, int zeroPointOut)
    {
        CheckQuantized("Requantize");
        var x = DenseData();
        var y = Empty(Shape, Device, DType.UInt8);
        Kernels("Requantize").Requantize(x.Buffer, Numel, zeroPointIn, multiplier, zeroPointOut, y.Buffer);
        return y;
    }

    /// <summary>The quantized sum of two uint8 tensors of one shape, optionally followed by ReLU.</summary>
    internal static Tensor QuantizedAdd(Tensor a, int za, float ma, Tensor b, int zb, float mb, int zy, bool relu)
    {
        a.CheckQuantized("QuantizedAdd");
        b.CheckQuantized("QuantizedAdd");
        CheckSameDevice("QuantizedAdd", a, b);
        if (!Shapes.SameShape(a.shape, b.shape))
        {
            throw new ArgumentException($"QuantizedAdd: inputs {Shapes.Format(a.shape)} and {Shapes.Format(b.shape)} must have one shape.");
        }

        var da = a.DenseData();
        var db = b.DenseData();
        var y = Empty(a.Shape, a.Device, DType.UInt8);
        a.Kernels("QuantizedAdd").QuantizedAdd(da.Buffer, za, ma, db.Buffer, zb, mb, a.Numel, zy, relu, y.Buffer);
        return y;
    }

    /// <summary>
    /// Int8 convolution of uint8 x [N, C, H, W] (zero point <paramref name="zx"/>) with int8 weight [K, C/groups, R, S],
    /// requantized to uint8 [N, K, P, Q] by the epilogue (int32 bias [K] or null, float32 multipliers [K]).
    /// </summary>
    internal Tensor QuantizedConv2d(
        Tensor weight, int zx, Tensor? bias, Tensor multipliers, int zy, bool relu, (int H, int W) stride, Padding2d padding, (int H, int W) dilation, int groups)
    {
        CheckQuantized("QuantizedConv2d");
        weight.CheckType("QuantizedConv2d", DType.Int8);
        var g = ConvShapeGeometry(weight, stride, padding, dilation, groups);
        CheckEpilogue("QuantizedConv2d", bias, multipliers, g.K);
        var x = DenseData();
        var w = weight.DenseData();
        var y = Empty([g.N, g.K, g.P, g.Q], Device, DType.UInt8);
        var epilogue = new QuantizedEpilogue(bias?.DenseData().Buffer, multipliers.DenseData().Buffer, zy, relu);
        Kernels("QuantizedConv2d").QuantizedConv2d(g, x.Buffer, zx, w.Buffer, epilogue, y.Buffer);
        return y;
    }

    /// <summary>
    /// Int8 fully connected layer on the last dimension of uint8 x [..., depth] (zero point <paramref name="zx"/>) with
    /// int8 weight [units, depth], requantized to uint8 [..., units] by the epilogue.
    /// </summary>
    internal Tensor QuantizedDense(Tensor weight, int zx, Tensor? bias, Tensor multipliers, int zy, bool relu)
    {
        CheckQuantized("QuantizedDense");
        weight.CheckType("QuantizedDense", DType.Int8);
        var (rows, depth, units, outShape) = DenseShape("QuantizedDense", weight);
        CheckEpilogue("QuantizedDense", bias, multipliers, units);
        var x = DenseData();
        var w = weight.DenseData();
        var y = Empty(outShape, Device, DType.UInt8);
        var epilogue = new QuantizedEpilogue(bias?.DenseData().Buffer, multipliers.DenseData().Buffer, zy, relu);
        Kernels("QuantizedDense").QuantizedDense(x.Buffer, zx, w.Buffer, rows, depth, units, epilogue, y.Buffer);
        return y;
    }

    /// <summary>
    /// Float32 x [..., depth] times int8 weight [units, depth] (scales [units]) plus float32 bias [units], with x
    /// quantized per call from its own range: float32 [..., units].
    /// </summary>
    internal Tensor DynamicQuantizedDense(Tensor weight, Tensor weightScales, Tensor? bias)
    {
        CheckFloat("DynamicQuantizedDense");
        weight.CheckType("DynamicQuantizedDense", DType.Int8);
        var (rows, depth, units, outShape) = DenseShape("DynamicQuantizedDense", weight);
        weightScales.CheckVector("DynamicQuantizedDense", "weight scales", DType.Float32, units);
        bias?.CheckVector("DynamicQuantizedDense", "bias", DType.Float32, units);
        var x = DenseData();
        var y = Empty(outShape, Device);
        Kernels("DynamicQuantizedDense").DynamicQuantizedDense(x.Buffer, weight.DenseData().Buffer, weightScales.DenseData().Buffer, bias?.DenseData().Buffer, rows, depth, units, y.Buffer);
        return y;
    }

    /// <summary>Max pooling of uint8 x [N, C, H, W]; the output keeps the input's scale and zero point.</summary>
    internal Tensor QuantizedMaxPool2d((int H, int W) kernelSize, (int H, int W) stride, Padding2d padding)
    {
        CheckQuantized("QuantizedMaxPool2d");
        if (Rank != 4)
        {
            throw new ArgumentException($"QuantizedMaxPool2d: expected input [N, C, H, W], got {Shapes.Format(shape)}.");
        }

        var g = PoolGeometry("QuantizedMaxPool2d", shape, kernelSize, stride, padding);
        var x = DenseData();
        var y = Empty([g.N, g.C, g.P, g.Q], Device, DType.UInt8);
        Kernels("QuantizedMaxPool2d").QuantizedMaxPool2d(g, x.Buffer, y.Buffer);
        return y;
    }

    private IQuantizedKernels Kernels(string op) =>
        Backend as IQuantizedKernels ?? throw new NotSupportedException($"{op}: the {Backend.Name} backend has no int8 kernels.");

    private void CheckQuantized(string op) => CheckType(op, DType.UInt8);

    private void CheckType(string op, DType dtype)
    {
        ThrowIfDisposed();
        if (DType != dtype)
        {
            throw new ArgumentException($"{op} expects a {dtype.Name()} tensor, got {DType.Name()} with shape {Shapes.Format(shape)}.");
        }
    }

    private void CheckVector(string op, string what, DType dtype, int length)
    {
        CheckType(op, dtype);
        if (Rank != 1 || shape[0] != length)
        {
            throw new ArgumentException($"{op}: the {what} must be a vector of {length}, got {Shapes.Format(shape)}.");
        }
    }

    private static void CheckQuantParams(string op, float scale, int zeroPoint)
    {
        if (!(scale > 0f && float.IsFinite(scale)) || zeroPoint is < 0 or > 255)
        {
            throw new ArgumentException($"{op}: scale {scale} must be positive and finite and zero point {zeroPoint} in [0, 255].");
        }
    }

    private static void CheckEpilogue(string op, Tensor? bias, Tensor multipliers, int channels)
    {
        bias?.CheckVector(op, "bias", DType.Int32, channels);
        multipliers.CheckVector(op, "multipliers", DType.Float32, channels);
    }

    private (int Rows, int Depth, int Units, int[] OutShape) DenseShape(string op, Tensor weight)
    {
        CheckSameDevice(op, this, weight);
        if (Rank < 1 || weight.Rank != 2 || shape[^1] != weight.shape[1])
        {
            throw new ArgumentException($"{op}: input {Shapes.Format(shape)} needs weight [units, {(Rank > 0 ? shape[^1] : 0)}], got {Shapes.Format(weight.shape)}.");
        }

        int depth = weight.shape[1], units = weight.shape[0];
        int rows = depth == 0 ? 0 : Numel / depth;
        var outShape = Shape;
        outShape[^1] = units;
        return (rows, depth, units, outShape);
    }
}
