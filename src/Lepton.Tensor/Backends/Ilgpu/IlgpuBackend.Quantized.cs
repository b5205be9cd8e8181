// The int8 primitives (IQuantizedKernels) as ILGPU kernels: element-wise kernels for the conversions and fake
// quantization, a direct int8 convolution, and a tiled int8 GEMM whose inner product is dp4a where the device has it.
// DynamicQuantizedDense finds its input's range on the device, so nothing is read back. Arguments are checked as on
// the CPU (QuantizedArguments) before anything is launched.
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
        const string op = nameof(Quantize);
        var (qmin, qmax) = QuantizedArguments.Range(type, op);
        QuantizedArguments.Scale(scale, op);
        QuantizedArguments.ZeroPoint(zeroPoint, qmin, qmax, op, nameof(zeroPoint));
        QuantizedArguments.Sized(x, length, 4, op, nameof(x));
        QuantizedArguments.Sized(y, length, 1, op, nameof(y));
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
        const string op = nameof(Dequantize);
        var (lo, hi) = QuantizedArguments.Range(type, op);
        QuantizedArguments.ZeroPoint(zeroPoint, lo, hi, op, nameof(zeroPoint));
        QuantizedArguments.Sized(q, length, 1, op, nameof(q));
        QuantizedArguments.Sized(y, length, 4, op, nameof(y));
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
        const string op = nameof(Requantize);
        QuantizedArguments.ZeroPoint(zeroPointIn, 0, 255, op, nameof(zeroPointIn));
        QuantizedArguments.ZeroPoint(zeroPointOut, 0, 255, op, nameof(zeroPointOut));
        QuantizedArguments.Scale(multiplier, op, nameof(multiplier));
        QuantizedArguments.Sized(x, length, 1, op, nameof(x));
        QuantizedArguments.Sized(y, length, 1, op, nameof(y));
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
        const string op = nameof(QuantizedAdd);
        QuantizedArguments.ZeroPoint(za, 0, 255, op, nameof(za));
        QuantizedArguments.ZeroPoint(zb, 0, 255, op, nameof(zb));
        QuantizedArguments.ZeroPoint(zy, 0, 255, op, nameof(zy));
        QuantizedArguments.Scale(ma, op, nameof(ma));
        QuantizedArguments.Scale(mb, op, nameof(mb));
        QuantizedArguments.Sized(a, length, 1, op, nameof(a));
        QuantizedArguments.Sized(b, length, 1, op, nameof(b));
        QuantizedArguments.Sized(y, length, 1, op, nameof(y));
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
        const string op = nameof(QuantizedConv2d);
        QuantizedArguments.Check(
            g.N >= 0 && g.C > 0 && g.H > 0 && g.W > 0 && g.K > 0 && g.R > 0 && g.S > 0 && g.Groups > 0 && g.C % g.Groups == 0
            && g.K % g.Groups == 0 && g.StrideH > 0 && g.StrideW > 0 && g.DilationH > 0 && g.DilationW > 0 && g.P > 0 && g.Q > 0,
            op, $"invalid convolution {g}.");
        int depth = g.CPerGroup * g.R * g.S;
        QuantizedArguments.Layer(zx, epilogue.ZeroPoint, depth, op);
        QuantizedArguments.Sized(x, (long)g.N * g.C * g.H * g.W, 1, op, nameof(x));
        QuantizedArguments.Sized(w, (long)g.K * depth, 1, op, nameof(w));
        QuantizedArguments.Sized(y, (long)g.N * g.K * g.P * g.Q, 1, op, nameof(y));
        QuantizedArguments.Epilogue(epilogue, g.K, op);
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
        const string op = nameof(QuantizedDense);
        QuantizedArguments.Check(rows >= 0 && depth >= 0 && units >= 0, op, $"invalid sizes rows {rows}, depth {depth}, units {units}.");
        QuantizedArguments.Layer(zx, epilogue.ZeroPoint, depth, op);
        QuantizedArguments.Sized(x, (long)rows * depth, 1, op, nameof(x));
        QuantizedArguments.Sized(w, (long)units * depth, 1, op, nameof(w));
        QuantizedArguments.Sized(y, (long)rows * units, 1, op, nameof(y));
        QuantizedArguments.Epilogue(epilogue, units, op);
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
        const string op = nameof(DynamicQuantizedDense);
        QuantizedArguments.Check(rows >= 0 && depth >= 0 && units >= 0, op, $"invalid sizes rows {rows}, depth {depth}, units {units}.");
        QuantizedArguments.Check(depth <= QuantizedArguments.MaxDepth, op, $"a depth of {depth} could overflow the int32 sums; at most {QuantizedArguments.MaxDepth}.");
        QuantizedArguments.Sized(x, (long)rows * depth, 4, op, nameof(x));
        QuantizedArguments.Sized(w, (long)units * depth, 1, op, nameof(w));
        QuantizedArguments.Sized(weightScales, units, 4, op, nameof(weightScales));
        if (bias is not null)
        {
            QuantizedArguments.Sized(bias, units, 4, op, nameof(bias));
        }

        QuantizedArguments.Sized(y, (long)rows * units, 4, op, nameof(y));
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
        const string op = nameof(QuantizedMaxPool2d);
        QuantizedArguments.Check(
            g.N >= 0 && g.C >= 0 && g.H > 0 && g.W > 0 && g.KernelH > 0 && g.KernelW > 0 && g.StrideH > 0 && g.StrideW > 0
            && g.DilationH > 0 && g.DilationW > 0 && g.P > 0 && g.Q > 0, op, $"invalid pooling {g}.");
        long planes = (long)g.N * g.C;
        QuantizedArguments.Sized(x, planes * g.H * g.W, 1, op, nameof(x));
        QuantizedArguments.Sized(y, planes * g.P * g.Q, 1, op, nameof(y));
        QuantizedArguments.Check(planes <= int.MaxValue, op, $"{planes} planes are more than one call takes.");
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
        const string op = nameof(FakeQuantize);
        long total = QuantizedArguments.FakeQuantize(outer, channels, inner, qmin, qmax, op);
        QuantizedArguments.Sized(x, total, 4, op, nameof(x));
        QuantizedArguments.Sized(y, total, 4, op, nameof(y));
        QuantizedArguments.Sized(scale, channels, 4, op, nameof(scale));
        QuantizedArguments.Sized(zeroPoint, channels, 4, op, nameof(zeroPoint));
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
        const string op = nameof(FakeQuantizeBackward);
        long total = QuantizedArguments.FakeQuantize(outer, channels, inner, qmin, qmax, op);
        QuantizedArguments.Sized(x, total, 4, op, nameof(x));
        QuantizedArguments.Sized(dy, total, 4, op, nameof(dy));
        QuantizedArguments.Sized(dx, total, 4, op, nameof(dx));
        QuantizedArguments.Sized(scale, channels, 4, op, nameof(scale));
        QuantizedArguments.Sized(zeroPoint, channels, 4, op, nameof(zeroPoint));
        if (total == 0)
        {
            return;
        }

        var k = Kernel("FakeQuantizeBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, long, int, int, ArrayView<float>, ArrayView<float>, int, int>(QuantizedKernels.FakeQuantizeBackward));
        k(Elements(total), Gpu(x).ViewAs<float>(), Gpu(dy).ViewAs<float>(), Gpu(dx).ViewAs<float>(), total, channels, inner, Gpu(scale).View, Gpu(zeroPoint).View, qmin, qmax);
    }

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
