// Element-wise arithmetic, comparisons and reductions in the operands' own type on ILGPU: a DType and an op
// pick one instantiation of the generic kernels in TypedKernels, compiled on first use.
using ILGPU;
using ILGPU.Runtime;
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void TypedBinary(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        switch (type)
        {
            case DType.Float32: NumberBinary<float, Float32Element>(op, type, a, b, y, shape); break;
            case DType.Float64: NumberBinary<double, Float64Element>(op, type, a, b, y, shape); break;
            case DType.Int64: IntegerBinary<long, Int64Element>(op, type, a, b, y, shape); break;
            case DType.Int32: IntegerBinary<int, Int32Element>(op, type, a, b, y, shape); break;
            case DType.Int16: IntegerBinary<short, Int16Element>(op, type, a, b, y, shape); break;
            case DType.Int8: IntegerBinary<sbyte, Int8Element>(op, type, a, b, y, shape); break;
            case DType.UInt8: IntegerBinary<byte, UInt8Element>(op, type, a, b, y, shape); break;
            case DType.Bool: BoolBinary(op, a, b, y, shape); break;
            default: throw Unsupported("TypedBinary", op.ToString(), type);
        }
    }

    /// <inheritdoc />
    public void TypedReduce(ReduceKind kind, DType type, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y, bool selectLastIndex = false)
    {
        switch (type)
        {
            case DType.Float32: Reduce<float, Float32Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: true); break;
            case DType.Float64: Reduce<double, Float64Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: true); break;
            case DType.Int64: Reduce<long, Int64Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: false); break;
            case DType.Int32: Reduce<int, Int32Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: false); break;
            case DType.Int16: Reduce<short, Int16Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: false); break;
            case DType.Int8: Reduce<sbyte, Int8Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: false); break;
            case DType.UInt8 or DType.Bool: Reduce<byte, UInt8Element>(kind, x, outer, axis, inner, y, selectLastIndex, floating: false); break;
            default: throw Unsupported("TypedReduce", kind.ToString(), type);
        }
    }

    private static NotSupportedException Unsupported(string primitive, string op, DType type) =>
        new($"{primitive}: {op} has no kernel for {type.Name()}; the op computes 16-bit floats in float32.");

    private void NumberBinary<T, TN>(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged
        where TN : struct, INumberOps<T>
    {
        switch (op)
        {
            case TypedBinaryOp.Add: Zip<T, T, AddOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Sub: Zip<T, T, SubtractOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Mul: Zip<T, T, MultiplyOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Div: Zip<T, T, DivideOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Remainder: Zip<T, T, RemainderOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Maximum: Zip<T, T, MaximumOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Minimum: Zip<T, T, MinimumOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Equal: Zip<T, byte, EqualOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.NotEqual: Zip<T, byte, NotEqualOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Less: Zip<T, byte, LessOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.LessOrEqual: Zip<T, byte, LessOrEqualOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Greater: Zip<T, byte, GreaterOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.GreaterOrEqual: Zip<T, byte, GreaterOrEqualOp<T, TN>>(a, b, y, shape); break;
            default: throw Unsupported("TypedBinary", op.ToString(), type);
        }
    }

    private void IntegerBinary<T, TN>(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged
        where TN : struct, IIntegerOps<T>
    {
        switch (op)
        {
            case TypedBinaryOp.And: Zip<T, T, AndOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Or: Zip<T, T, OrOp<T, TN>>(a, b, y, shape); break;
            case TypedBinaryOp.Xor: Zip<T, T, XorOp<T, TN>>(a, b, y, shape); break;
            default: NumberBinary<T, TN>(op, type, a, b, y, shape); break;
        }
    }

    /// <summary>bool as bytes: add and maximum are or, multiply and minimum are and, xor is not-equal.</summary>
    private void BoolBinary(TypedBinaryOp op, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        switch (op)
        {
            case TypedBinaryOp.Add or TypedBinaryOp.Or or TypedBinaryOp.Maximum: Zip<byte, byte, OrOp<byte, UInt8Element>>(a, b, y, shape); break;
            case TypedBinaryOp.Mul or TypedBinaryOp.And or TypedBinaryOp.Minimum: Zip<byte, byte, AndOp<byte, UInt8Element>>(a, b, y, shape); break;
            case TypedBinaryOp.Xor or TypedBinaryOp.NotEqual: Zip<byte, byte, NotEqualOp<byte, UInt8Element>>(a, b, y, shape); break;
            case TypedBinaryOp.Sub or TypedBinaryOp.Div or TypedBinaryOp.Remainder: throw Unsupported("TypedBinary", op.ToString(), DType.Bool);
            default: NumberBinary<byte, UInt8Element>(op, DType.Bool, a, b, y, shape); break;
        }
    }

    /// <summary>y = TOp(a, b) with a and b expanded to <paramref name="shape"/>, y dense.</summary>
    private void Zip<T, TR, TOp>(in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged
        where TR : unmanaged
        where TOp : struct, ITypedBinary<T, TR>
    {
        var layout = Layouts.Coalesce(shape, a.Strides, b.Strides, Shapes.ContiguousStrides(shape));
        long n = layout.InnerCount();
        if (n == 0 || Shapes.Numel(shape) == 0)
        {
            return;
        }

        var k = Kernel(TypedNames<TOp, TR>.Binary, static l => l.LoadStreamKernel<ArrayView<T>, Strides6, ArrayView<T>, Strides6, ArrayView<TR>, Shape6, long, TOp>(TypedKernels.Binary));
        var av = Gpu(a.Buffer).ViewAs<T>();
        var bv = Gpu(b.Buffer).ViewAs<T>();
        var yv = Gpu(y).ViewAs<TR>();
        int ao = a.Offset, bo = b.Offset;
        var s6 = layout.InnerShape();
        var sa = layout.InnerStrides(0);
        var sb = layout.InnerStrides(1);
        var config = Elements(n);
        layout.ForEachOuter(o => k(config, av.SubView(ao + o[0]), sa, bv.SubView(bo + o[1]), sb, yv.SubView(o[2]), s6, n, default));
    }

    /// <summary>
    /// Reduces x [outer, axis, inner] along its middle dimension, one thread per output adding in index order as the
    /// CPU does: Sum into y as double (floating types) or long (the rest, wrapping), Max and Min into y as T, ArgMax and
    /// ArgMin into y as long.
    /// </summary>
    private void Reduce<T, TE>(ReduceKind kind, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y, bool selectLast, bool floating)
        where T : unmanaged
        where TE : struct, IElementType<T>, INumberOps<T>
    {
        bool arg = kind is ReduceKind.ArgMax or ReduceKind.ArgMin;
        if (axis == 0 && kind != ReduceKind.Sum)
        {
            throw new ArgumentException(arg ? $"{kind}: cannot reduce an empty axis." : $"{kind}: cannot reduce an empty axis (it has no identity).");
        }

        long outputs = (long)outer * inner;
        if (outputs == 0)
        {
            return;
        }

        var xv = Gpu(x).ViewAs<T>();
        var config = Elements(outputs);
        switch (kind)
        {
            case ReduceKind.Sum when floating:
                var sumFloating = Kernel(TypedNames<T, TE>.SumFloating, static l => l.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int, TE>(TypedKernels.SumFloating));
                sumFloating(config, xv, Gpu(y).ViewAs<T>(), outer, axis, inner, default);
                break;
            case ReduceKind.Sum:
                var sumLong = Kernel(TypedNames<T, TE>.SumToInt64, static l => l.LoadStreamKernel<ArrayView<T>, ArrayView<long>, int, int, int, TE>(TypedKernels.SumToInt64));
                sumLong(config, xv, Gpu(y).ViewAs<long>(), outer, axis, inner, default);
                break;
            case ReduceKind.Max or ReduceKind.Min:
                var extreme = Kernel(TypedNames<T, TE>.Extreme, static l => l.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int, int, int, int, TE>(TypedKernels.Extreme));
                extreme(config, xv, Gpu(y).ViewAs<T>(), outer, axis, inner, kind == ReduceKind.Max ? 1 : 0, default);
                break;
            default:
                var argExtreme = Kernel(TypedNames<T, TE>.ArgExtreme, static l => l.LoadStreamKernel<ArrayView<T>, ArrayView<long>, int, int, int, int, int, TE>(TypedKernels.ArgExtreme));
                argExtreme(config, xv, Gpu(y).ViewAs<long>(), outer, axis, inner, kind == ReduceKind.ArgMax ? 1 : 0, selectLast ? 1 : 0, default);
                break;
        }
    }
}
