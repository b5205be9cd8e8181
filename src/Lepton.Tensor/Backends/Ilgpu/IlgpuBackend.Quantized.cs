// The int8 primitives (IQuantizedKernels) as ILGPU kernels: element-wise kernels for the conversions and fake
// quantization, a direct int8 convolution, and a tiled int8 GEMM whose inner product is dp4a where the device has it.
// DynamicQuantizedDense finds its input's range on the device, so nothing is read back.
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend : IQuantizedKernels
{
    /// <summary>Whether the int8 GEMM uses the dp4a instruction: on CUDA devices of compute capability 6.1 and later, and
    /// on the CPU accelerator (where the same kernel computes the dot product in software, so tests run its code).</summary>
    internal bool UsesDp4a => accelerator is not CudaAccelerator cuda || cuda.Architecture >= CudaArchitecture.SM_61;

    /// <inheritdoc />
    public void Quantize(DeviceBuffer x, long length, float scale, int zeroPoint, DType type, DeviceBuffer y)
    {
        var (qmin, qmax) = QuantizedRange(type, nameof(Quantize));
        if (length == 0)
        {
            return;
        }

        var k = Kernel("QuantizedQuantize", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<byte>, long, float, int, int, int>(QuantizedKernels.Quantize));
        k(Elements(length), Gpu(x).ViewAs<float>(), Gpu(y).ViewAs<byte>(), length, scale, zeroPoint, qmin, qmax);
    }

    /// <inheritdoc />
    public void Dequantize(DeviceBuffer q, DType type, long length, float scale, int zeroPoint, DeviceBuffer y)
    {
        QuantizedRange(type, nameof(Dequantize));
        if (length == 0)
        {
            return;
        }

        var k = Kernel("QuantizedDequantize", static a => a.LoadStreamKernel<ArrayView<byte>, ArrayView<float>, long, int, float, int>(QuantizedKernels.Dequantize));
        k(Elements(length), Gpu(q).ViewAs<byte>(), Gpu(y).ViewAs<float>(), length, type == DType.Int8 ? 1 : 0, scale, zeroPoint);
    }

    /// <inheritdoc />
    public void Requantize(DeviceBuffer x, long length, int zeroPointIn, float multiplier, int zeroPointOut, DeviceBuffer y)
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel("QuantizedRequantize", static a => a.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, long, int, float, int>(QuantizedKernels.Requantize));
        k(Elements(length), Gpu(x).ViewAs<byte>(), Gpu(y).ViewAs<byte>(), length, zeroPointIn, multiplier, zeroPointOut);
    }

    /// <inheritdoc />
    public void QuantizedAdd(DeviceBuffer a, int za, float ma, DeviceBuffer b, int zb, float mb, long length, int zy, bool relu, DeviceBuffer y)
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel("QuantizedAdd", static l => l.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, long, int, float, int, float, int, int>(QuantizedKernels.Add));
        k(Elements(length), Gpu(a).ViewAs<byte>(), Gpu(b).ViewAs<byte>(), Gpu(y).ViewAs<byte>(), length, za, ma, zb, mb, zy, relu ? 1 : 0);
    }

    /// <inheritdoc />
    public void QuantizedConv2d(in Conv2dGeometry g, DeviceBuffer x, int zx, DeviceBuffer w, in QuantizedEpilogue epilogue, DeviceBuffer y)
    {
        long total = (long)g.N * g.K * g.P * g.Q;
        if (total == 0)
        {
            return;
        }

        var shape = new QuantizedConvShape { Conv = Shape(g), N = g.N, K = g.K, Groups = g.Groups, CPerGroup = g.CPerGroup, KPerGroup = g.KPerGroup };
        var k = Kernel("QuantizedConv2d", static a => a.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, QuantizedConvShape, RequantizingEpilogue>(QuantizedKernels.ConvForward));
        k(Elements(total), Gpu(x).ViewAs<byte>(), Gpu(w).ViewAs<byte>(), shape, Requantizing(epilogue, zx, y));
    }

    /// <inheritdoc />
    public void QuantizedDense(DeviceBuffer x, int zx, DeviceBuffer w, int rows, int depth, int units, in QuantizedEpilogue epilogue, DeviceBuffer y)
    {
        if ((long)rows * units == 0)
        {
            return;
        }

        var requantizing = Requantizing(epilogue, zx, y);
        if (UsesDp4a)
        {
            var k = Kernel("QuantizedDense:dp4a", static a => a.LoadStreamKernel<PackedRows, PackedRows, int, RequantizingEpilogue, Dp4a>(QuantizedGemmKernels.DenseForward));
            k(QuantizedGemmConfig(rows, units), Packed(x, rows, depth), Packed(w, units, depth), GemmSide, requantizing, default);
        }
        else
        {
            var k = Kernel("QuantizedDense", static a => a.LoadStreamKernel<PackedRows, PackedRows, int, RequantizingEpilogue, SoftwareDot4>(QuantizedGemmKernels.DenseForward));
            k(QuantizedGemmConfig(rows, units), Packed(x, rows, depth), Packed(w, units, depth), GemmSide, requantizing, default);
        }
    }

    /// <inheritdoc />
    public void DynamicQuantizedDense(DeviceBuffer x, DeviceBuffer w, DeviceBuffer weightScales, DeviceBuffer? bias, int rows, int depth, int units, DeviceBuffer y)
    {
        if ((long)rows * units == 0)
        {
            return;
        }

        long length = (long)rows * depth;
        var range = Allocate(2);
        var xq = AllocateBytes(Math.Max(1, length));
        try
        {
            // One group finds the range and writes s and z to the device; the quantization and the GEMM read them there.
            var find = Kernel("QuantizedDynamicRange", static a => a.LoadStreamKernel<ArrayView<float>, long, ArrayView<float>>(QuantizedKernels.DynamicRange));
            find(Rows(1), Gpu(x).ViewAs<float>(), length, Gpu(range).View);
            if (length > 0)
            {
                var quantize = Kernel("QuantizedDynamicQuantize", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<byte>, long, ArrayView<float>>(QuantizedKernels.DynamicQuantize));
                quantize(Elements(length), Gpu(x).ViewAs<float>(), Gpu(xq).ViewAs<byte>(), length, Gpu(range).View);
            }

            var epilogue = new DequantizingEpilogue
            {
                Range = Gpu(range).View, WeightScales = Gpu(weightScales).View, Bias = Optional(bias), Y = Gpu(y).View, HasBias = bias is null ? 0 : 1,
            };
            if (UsesDp4a)
            {
                var k = Kernel("DynamicQuantizedDense:dp4a", static a => a.LoadStreamKernel<PackedRows, PackedRows, int, DequantizingEpilogue, Dp4a>(QuantizedGemmKernels.DenseForward));
                k(QuantizedGemmConfig(rows, units), Packed(xq, rows, depth), Packed(w, units, depth), GemmSide, epilogue, default);
            }
            else
            {
                var k = Kernel("DynamicQuantizedDense", static a => a.LoadStreamKernel<PackedRows, PackedRows, int, DequantizingEpilogue, SoftwareDot4>(QuantizedGemmKernels.DenseForward));
                k(QuantizedGemmConfig(rows, units), Packed(xq, rows, depth), Packed(w, units, depth), GemmSide, epilogue, default);
            }
        }
        finally
        {
            // Stream order keeps the buffers alive for the queued kernels: a later renter's work runs after them.
            Pool.Return(xq);
            Pool.Return(range);
        }
    }

    /// <inheritdoc />
    public void QuantizedMaxPool2d(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y)
    {
        long total = (long)g.N * g.C * g.P * g.Q;
        if (total == 0)
        {
            return;
        }

        var k = Kernel("QuantizedMaxPool", static a => a.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, PoolShape>(QuantizedKernels.MaxPool));
        k(Elements(total), Gpu(x).ViewAs<byte>(), Gpu(y).ViewAs<byte>(), Shape(g));
    }

    /// <inheritdoc />
    public void FakeQuantize(DeviceBuffer x, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer y)
    {
        long total = (long)outer * channels * inner;
        if (total == 0)
        {
            return;
        }

        var k = Kernel("FakeQuantize", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, long, int, int, ArrayView<float>, ArrayView<float>, int, int>(QuantizedKernels.FakeQuantize));
        k(Elements(total), Gpu(x).ViewAs<float>(), Gpu(y).ViewAs<float>(), total, channels, inner, Gpu(scale).View, Gpu(zeroPoint).View, qmin, qmax);
    }

    /// <inheritdoc />
    public void FakeQuantizeBackward(DeviceBuffer x, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer dx)
    {
        long total = (long)outer * channels * inner;
        if (total == 0)
        {
            return;
        }

        var k = Kernel("FakeQuantizeBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, long, int, int, ArrayView<float>, ArrayView<float>, int, int>(QuantizedKernels.FakeQuantizeBackward));
        k(Elements(total), Gpu(x).ViewAs<float>(), Gpu(dy).ViewAs<float>(), Gpu(dx).ViewAs<float>(), total, channels, inner, Gpu(scale).View, Gpu(zeroPoint).View, qmin, qmax);
    }

    /// <summary>The range of a quantized type, or an exception naming the primitive.</summary>
    private static (int Min, int Max) QuantizedRange(DType type, string primitive) => type switch
    {
        DType.UInt8 => (0, 255),
        DType.Int8 => (-127, 127),
        _ => throw new ArgumentException($"{primitive}: quantized tensors are uint8 or int8, not {type}.", nameof(type)),
    };

    private RequantizingEpilogue Requantizing(in QuantizedEpilogue epilogue, int zx, DeviceBuffer y) => new()
    {
        Bias = epilogue.Bias is null ? unit.ViewAs<int>() : Gpu(epilogue.Bias).ViewAs<int>(),
        Multipliers = Gpu(epilogue.Multipliers).View,
        Y = Gpu(y).ViewAs<byte>(),
        HasBias = epilogue.Bias is null ? 0 : 1,
        InputZero = zx,
        OutputZero = epilogue.ZeroPoint,
        Low = epilogue.Relu ? epilogue.ZeroPoint : 0,
    };

    /// <summary>A [rows, depth] byte matrix for the int8 GEMM (buffers start on 8-byte boundaries, so rows of a depth
    /// that is a multiple of four start on whole ints).</summary>
    private static PackedRows Packed(DeviceBuffer buffer, int rows, int depth) => new()
    {
        Bytes = Gpu(buffer).ViewAs<byte>(), Words = Gpu(buffer).ViewAs<int>(), Rows = rows, Depth = depth, Aligned = depth % 4 == 0 ? 1 : 0,
    };

    /// <summary>One group per output tile of the int8 GEMM (grid-stride over tiles on the CPU accelerator).</summary>
    private KernelConfig QuantizedGemmConfig(int rows, int units)
    {
        int tile = QuantizedGemmKernels.Block * GemmSide;
        long tiles = (long)((rows + tile - 1) / tile) * ((units + tile - 1) / tile);
        int groups = (int)Math.Clamp(tiles, 1, IsCpu ? MaxGroups : int.MaxValue / 2);
        return new KernelConfig(groups, GemmSide * GemmSide, SharedMemoryConfig.RequestDynamic<int>(QuantizedGemmKernels.SharedInts(GemmSide)));
    }
}
