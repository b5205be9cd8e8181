// Kernels for every element type: casts, fills, byte-level copies and selection, and element-wise arithmetic,
// comparisons and reductions in the operands' own type. Each is one generic loop specialized by the JIT per
// element type and operation (value-type generic arguments), so there is no per-element dispatch.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    public DeviceBuffer AllocateBytes(long bytes) => Pool.RentBytes(bytes);

    /// <inheritdoc />
    public void UploadBytes(ReadOnlySpan<byte> src, DeviceBuffer dst, long dstByteOffset)
    {
        CheckRange("UploadBytes", dst, dstByteOffset, src.Length);
        src.CopyTo(new Span<byte>(Cpu(dst).Base + dstByteOffset, src.Length));
    }

    /// <inheritdoc />
    public void DownloadBytes(DeviceBuffer src, long srcByteOffset, Span<byte> dst)
    {
        CheckRange("DownloadBytes", src, srcByteOffset, dst.Length);
        new ReadOnlySpan<byte>(Cpu(src).Base + srcByteOffset, dst.Length).CopyTo(dst);
    }

    /// <inheritdoc />
    public void FillBits(DeviceBuffer dst, int elementSize, long offset, long count, ulong bits)
    {
        CheckRange("FillBits", dst, offset * elementSize, count * elementSize);
        byte* p = Cpu(dst).Base + (offset * elementSize);
        switch (elementSize)
        {
            case 1: new Span<byte>(p, checked((int)count)).Fill((byte)bits); break;
            case 2: new Span<ushort>(p, checked((int)count)).Fill((ushort)bits); break;
            case 4: new Span<uint>(p, checked((int)count)).Fill((uint)bits); break;
            case 8: new Span<ulong>(p, checked((int)count)).Fill(bits); break;
            default: throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, "FillBits: elements are 1, 2, 4 or 8 bytes.");
        }
    }

    /// <inheritdoc />
    public void CopyElements(in StridedView src, in StridedView dst)
    {
        switch (src.ElementSize)
        {
            case 4: Copy(src, dst); break;
            case 1: Map<byte, byte, Identity<byte>>(src, dst.Buffer, dst.Offset, dst.Strides); break;
            case 2: Map<ushort, ushort, Identity<ushort>>(src, dst.Buffer, dst.Offset, dst.Strides); break;
            case 8: Map<ulong, ulong, Identity<ulong>>(src, dst.Buffer, dst.Offset, dst.Strides); break;
            default: throw new ArgumentOutOfRangeException(nameof(src), src.ElementSize, "CopyElements: elements are 1, 2, 4 or 8 bytes.");
        }
    }

    /// <inheritdoc />
    public void Cast(in StridedView src, DType from, DeviceBuffer dst, DType to)
    {
        // The output is dense: a dense source's strides are its strides (and cost no allocation).
        var strides = src.IsContiguous ? src.Strides : Shapes.ContiguousStrides(src.Shape);
        switch (from)
        {
            case DType.Float32: CastFrom<float, F32>(src, to, dst, strides); break;
            case DType.Float64: CastFrom<double, F64>(src, to, dst, strides); break;
            case DType.Float16: CastFrom<Half, F16>(src, to, dst, strides); break;
            case DType.BFloat16: CastFrom<ushort, BF16>(src, to, dst, strides); break;
            case DType.Int64: CastFrom<long, I64>(src, to, dst, strides); break;
            case DType.Int32: CastFrom<int, I32>(src, to, dst, strides); break;
            case DType.Int16: CastFrom<short, I16>(src, to, dst, strides); break;
            case DType.Int8: CastFrom<sbyte, I8>(src, to, dst, strides); break;
            case DType.UInt8: CastFrom<byte, U8>(src, to, dst, strides); break;
            default: CastFrom<byte, B8>(src, to, dst, strides); break;
        }
    }

    /// <inheritdoc />
    public void Where(in StridedView cond, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        switch (a.ElementSize)
        {
            case 1: Select<byte>(cond, a, b, y, shape); break;
            case 2: Select<ushort>(cond, a, b, y, shape); break;
            case 4: Select<uint>(cond, a, b, y, shape); break;
            case 8: Select<ulong>(cond, a, b, y, shape); break;
            default: throw new ArgumentOutOfRangeException(nameof(a), a.ElementSize, "Where: elements are 1, 2, 4 or 8 bytes.");
        }
    }

    /// <inheritdoc />
    public void TypedBinary(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        switch (type)
        {
            case DType.Float32: NumberBinary<float>(op, type, a, b, y, shape); break;
            case DType.Float64: NumberBinary<double>(op, type, a, b, y, shape); break;
            case DType.Int64: IntegerBinary<long>(op, type, a, b, y, shape); break;
            case DType.Int32: IntegerBinary<int>(op, type, a, b, y, shape); break;
            case DType.Int16: IntegerBinary<short>(op, type, a, b, y, shape); break;
            case DType.Int8: IntegerBinary<sbyte>(op, type, a, b, y, shape); break;
            case DType.UInt8: IntegerBinary<byte>(op, type, a, b, y, shape); break;
            case DType.Bool: BoolBinary(op, a, b, y, shape); break;
            default: throw Unsupported("TypedBinary", op.ToString(), type);
        }
    }

    /// <inheritdoc />
    public void TypedReduce(ReduceKind kind, DType type, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y, bool selectLastIndex = false)
    {
        switch (type)
        {
            case DType.Float32: Reduce<float, double, F32>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.Float64: Reduce<double, double, F64>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.Int64: Reduce<long, long, I64>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.Int32: Reduce<int, long, I32>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.Int16: Reduce<short, long, I16>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.Int8: Reduce<sbyte, long, I8>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.UInt8: Reduce<byte, long, U8>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            case DType.Bool: Reduce<byte, long, U8>(kind, x, outer, axis, inner, y, selectLastIndex); break;
            default: throw Unsupported("TypedReduce", kind.ToString(), type);
        }
    }

    internal static NotSupportedException Unsupported(string primitive, string op, DType type) =>
        new($"{primitive}: {op} has no kernel for {type.Name()}; the op computes 16-bit floats in float32.");

    private static void CheckRange(string primitive, DeviceBuffer buffer, long byteOffset, long bytes)
    {
        if (byteOffset < 0 || bytes < 0 || byteOffset + bytes > buffer.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"{primitive}: bytes [{byteOffset}, {byteOffset + bytes}) lie outside a buffer of {buffer.ByteLength} bytes.");
        }
    }

    private static void CastFrom<TFrom, TF>(in StridedView src, DType to, DeviceBuffer dst, int[] strides)
        where TFrom : unmanaged
        where TF : IElement<TFrom>
    {
        switch (to)
        {
            case DType.Float32: Map<TFrom, float, Convert<TFrom, TF, float, F32>>(src, dst, 0, strides); break;
            case DType.Float64: Map<TFrom, double, Convert<TFrom, TF, double, F64>>(src, dst, 0, strides); break;
            case DType.Float16: Map<TFrom, Half, Convert<TFrom, TF, Half, F16>>(src, dst, 0, strides); break;
            case DType.BFloat16: Map<TFrom, ushort, Convert<TFrom, TF, ushort, BF16>>(src, dst, 0, strides); break;
            case DType.Int64: Map<TFrom, long, Convert<TFrom, TF, long, I64>>(src, dst, 0, strides); break;
            case DType.Int32: Map<TFrom, int, Convert<TFrom, TF, int, I32>>(src, dst, 0, strides); break;
            case DType.Int16: Map<TFrom, short, Convert<TFrom, TF, short, I16>>(src, dst, 0, strides); break;
            case DType.Int8: Map<TFrom, sbyte, Convert<TFrom, TF, sbyte, I8>>(src, dst, 0, strides); break;
            case DType.UInt8: Map<TFrom, byte, Convert<TFrom, TF, byte, U8>>(src, dst, 0, strides); break;
            default: Map<TFrom, byte, Convert<TFrom, TF, byte, B8>>(src, dst, 0, strides); break;
        }
    }

    /// <summary>dst[i] = TOp(src[i]) over a strided source and a strided destination of the same shape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Map<TIn, TOut, TOp>(in StridedView src, DeviceBuffer dst, int dstOffset, int[] dstStrides)
        where TIn : unmanaged
        where TOut : unmanaged
        where TOp : IMap<TIn, TOut>
    {
        if (Shapes.Numel(src.Shape) == 0)
        {
            return;
        }

        var loop = new StridedLoop(src.Shape, src.Strides, dstStrides);
        TIn* s = Cpu(src.Buffer).As<TIn>() + src.Offset;
        TOut* d = Cpu(dst).As<TOut>() + dstOffset;
        if (loop.RowCount == 1)
        {
            var row = ((nint)s, loop.InnerStride(0), (nint)d, loop.InnerStride(1));
            CpuParallel.For(loop.RowLength, 1, row, static (in (nint S, int Ss, nint D, int Ds) c, int start, int end) =>
                MapRow<TIn, TOut, TOp>((TIn*)c.S + ((long)start * c.Ss), c.Ss, (TOut*)c.D + ((long)start * c.Ds), c.Ds, end - start));
            return;
        }

        CpuParallel.For(loop.RowCount, loop.RowLength, (loop, (nint)s, (nint)d), static (in (StridedLoop Loop, nint S, nint D) c, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                MapRow<TIn, TOut, TOp>((TIn*)c.S + c.Loop.RowOffset(0, r), c.Loop.InnerStride(0), (TOut*)c.D + c.Loop.RowOffset(1, r), c.Loop.InnerStride(1), c.Loop.RowLength);
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MapRow<TIn, TOut, TOp>(TIn* s, int ss, TOut* d, int ds, int n)
        where TIn : unmanaged
        where TOut : unmanaged
        where TOp : IMap<TIn, TOut>
    {
        if (ss == 1 && ds == 1 && TOp.MapSpan(new ReadOnlySpan<TIn>(s, n), new Span<TOut>(d, n)))
        {
            return;
        }

        for (int i = 0; i < n; i++)
        {
            d[(long)i * ds] = TOp.Apply(s[(long)i * ss]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Select<T>(in StridedView cond, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged
    {
        if (Shapes.Numel(shape) == 0)
        {
            return;
        }

        var loop = StridedLoop.WithDenseOutput(shape, cond.Strides, a.Strides, b.Strides);
        var state = (loop, (nint)(Cpu(cond.Buffer).Base + cond.Offset), (nint)(Cpu(a.Buffer).As<T>() + a.Offset), (nint)(Cpu(b.Buffer).As<T>() + b.Offset), (nint)Cpu(y).As<T>());
        CpuParallel.For(loop.RowCount, loop.RowLength, state, static (in (StridedLoop Loop, nint Cond, nint A, nint B, nint Y) s, int r0, int r1) =>
        {
            int n = s.Loop.RowLength;
            int sc = s.Loop.InnerStride(0), sa = s.Loop.InnerStride(1), sb = s.Loop.InnerStride(2);
            for (int r = r0; r < r1; r++)
            {
                byte* c = (byte*)s.Cond + s.Loop.RowOffset(0, r);
                T* av = (T*)s.A + s.Loop.RowOffset(1, r);
                T* bv = (T*)s.B + s.Loop.RowOffset(2, r);
                T* yv = (T*)s.Y + s.Loop.RowOffset(3, r);
                for (int i = 0; i < n; i++)
                {
                    yv[i] = c[i * sc] != 0 ? av[i * sa] : bv[i * sb];
                }
            }
        });
    }

    private static void NumberBinary<T>(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case TypedBinaryOp.Add: Zip<T, T, AddT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Sub: Zip<T, T, SubT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Mul: Zip<T, T, MulT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Div: Zip<T, T, DivT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Remainder: Zip<T, T, RemT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Maximum: Zip<T, T, MaxT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Minimum: Zip<T, T, MinT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Equal: Zip<T, byte, EqT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.NotEqual: Zip<T, byte, NeT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Less: Zip<T, byte, LtT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.LessOrEqual: Zip<T, byte, LeT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Greater: Zip<T, byte, GtT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.GreaterOrEqual: Zip<T, byte, GeT<T>>(a, b, y, shape); break;
            default: throw Unsupported("TypedBinary", op.ToString(), type);
        }
    }

    private static void IntegerBinary<T>(TypedBinaryOp op, DType type, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged, IBinaryInteger<T>
    {
        switch (op)
        {
            case TypedBinaryOp.And: Zip<T, T, AndT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Or: Zip<T, T, OrT<T>>(a, b, y, shape); break;
            case TypedBinaryOp.Xor: Zip<T, T, XorT<T>>(a, b, y, shape); break;
            default: NumberBinary<T>(op, type, a, b, y, shape); break;
        }
    }

    private static void BoolBinary(TypedBinaryOp op, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
    {
        switch (op)
        {
            case TypedBinaryOp.Add or TypedBinaryOp.Or or TypedBinaryOp.Maximum: Zip<byte, byte, OrT<byte>>(a, b, y, shape); break;
            case TypedBinaryOp.Mul or TypedBinaryOp.And or TypedBinaryOp.Minimum: Zip<byte, byte, AndT<byte>>(a, b, y, shape); break;
            case TypedBinaryOp.Xor or TypedBinaryOp.NotEqual: Zip<byte, byte, NeT<byte>>(a, b, y, shape); break;
            case TypedBinaryOp.Sub or TypedBinaryOp.Div or TypedBinaryOp.Remainder: throw Unsupported("TypedBinary", op.ToString(), DType.Bool);
            default: NumberBinary<byte>(op, DType.Bool, a, b, y, shape); break;
        }
    }

    /// <summary>y = TOp(a, b) with a and b expanded to <paramref name="shape"/>, y dense.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Zip<T, TR, TOp>(in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged
        where TR : unmanaged
        where TOp : IZip<T, TR>
    {
        if (Shapes.Numel(shape) == 0)
        {
            return;
        }

        var loop = StridedLoop.WithDenseOutput(shape, a.Strides, b.Strides);
        var state = (loop, (nint)(Cpu(a.Buffer).As<T>() + a.Offset), (nint)(Cpu(b.Buffer).As<T>() + b.Offset), (nint)Cpu(y).As<TR>());
        CpuParallel.For(loop.RowCount, loop.RowLength, state, static (in (StridedLoop Loop, nint A, nint B, nint Y) s, int r0, int r1) =>
        {
            int n = s.Loop.RowLength, sa = s.Loop.InnerStride(0), sb = s.Loop.InnerStride(1);
            for (int r = r0; r < r1; r++)
            {
                T* ap = (T*)s.A + s.Loop.RowOffset(0, r);
                T* bp = (T*)s.B + s.Loop.RowOffset(1, r);
                TR* yp = (TR*)s.Y + s.Loop.RowOffset(2, r);
                for (int i = 0; i < n; i++)
                {
                    yp[i] = TOp.Apply(ap[i * sa], bp[i * sb]);
                }
            }
        });
    }

    /// <summary>Reduces x [outer, axis, inner] along its middle dimension: sums into TAcc (wrapping for integers), max and
    /// min in T, argmax and argmin as int64 (NaN counts as the largest, as in PyTorch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Reduce<T, TAcc, TE>(ReduceKind kind, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y, bool selectLast)
        where T : unmanaged, INumber<T>
        where TAcc : unmanaged, INumber<TAcc>
        where TE : IElement<T>
    {
        if (kind is not (ReduceKind.ArgMax or ReduceKind.ArgMin) && axis == 0 && kind != ReduceKind.Sum)
        {
            throw new ArgumentException($"{kind}: cannot reduce an empty axis (it has no identity).");
        }

        if ((kind is ReduceKind.ArgMax or ReduceKind.ArgMin) && axis == 0)
        {
            throw new ArgumentException($"{kind}: cannot reduce an empty axis.");
        }

        var state = (kind, (nint)Cpu(x).As<T>(), (nint)Cpu(y).Base, axis, inner, selectLast);
        CpuParallel.For(outer * inner, axis, state, static (in (ReduceKind Kind, nint X, nint Y, int Axis, int Inner, bool Last) s, int start, int end) =>
        {
            T* xp = (T*)s.X;
            for (int e = start; e < end; e++)
            {
                int o = e / s.Inner, i = e - (o * s.Inner);
                T* p = xp + ((long)o * s.Axis * s.Inner) + i;
                switch (s.Kind)
                {
                    case ReduceKind.Sum:
                        {
                            TAcc sum = TAcc.Zero;
                            for (int k = 0; k < s.Axis; k++)
                            {
                                sum += TAcc.CreateTruncating(p[(long)k * s.Inner]);
                            }

                            // Integer sums stay int64; floating ones are stored in their own type.
                            if (typeof(TAcc) == typeof(long))
                            {
                                ((TAcc*)s.Y)[e] = sum;
                            }
                            else
                            {
                                ((T*)s.Y)[e] = T.CreateTruncating(sum);
                            }
                            break;
                        }

                    case ReduceKind.Max or ReduceKind.Min:
                        {
                            bool max = s.Kind == ReduceKind.Max;
                            T best = p[0];
                            for (int k = 1; k < s.Axis && !T.IsNaN(best); k++)
                            {
                                T v = p[(long)k * s.Inner];
                                if (T.IsNaN(v) || (max ? v > best : v < best))
                                {
                                    best = v;
                                }
                            }

                            ((T*)s.Y)[e] = best;
                            break;
                        }

                    default:
                        {
                            bool max = s.Kind == ReduceKind.ArgMax;
                            T best = p[0];
                            long index = 0;
                            for (int k = 1; k < s.Axis; k++)
                            {
                                T v = p[(long)k * s.Inner];
                                bool better = T.IsNaN(best)
                                    ? s.Last && T.IsNaN(v)
                                    : T.IsNaN(v) || (max ? (s.Last ? v >= best : v > best) : (s.Last ? v <= best : v < best));
                                if (better)
                                {
                                    best = v;
                                    index = k;
                                }
                            }

                            ((long*)s.Y)[e] = index;
                            break;
                        }
                }
            }
        });
    }

    /// <summary>A one-argument element function.</summary>
    private interface IMap<TIn, TOut>
    {
        static abstract TOut Apply(TIn x);

        /// <summary>Maps a dense span with a vectorized routine where there is one; false leaves it to the loop.</summary>
        static virtual bool MapSpan(ReadOnlySpan<TIn> x, Span<TOut> y) => false;
    }

    /// <summary>A two-argument element function.</summary>
    private interface IZip<T, TR>
    {
        static abstract TR Apply(T a, T b);
    }

    private readonly struct Identity<T> : IMap<T, T>
    {
        public static T Apply(T x) => x;

        public static bool MapSpan(ReadOnlySpan<T> x, Span<T> y)
        {
            x.CopyTo(y);
            return true;
        }
    }

    private readonly struct Convert<TFrom, TF, TTo, TT> : IMap<TFrom, TTo>
        where TFrom : struct
        where TTo : struct
        where TF : IElement<TFrom>
        where TT : IElement<TTo>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TTo Apply(TFrom x) => TF.IsFloating ? TT.FromDouble(TF.ToDouble(x)) : TT.FromInt64(TF.ToInt64(x));

        public static bool MapSpan(ReadOnlySpan<TFrom> x, Span<TTo> y) => HalfConversions.TryConvert(x, y);
    }

    private readonly struct AddT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a + b;
    }

    private readonly struct SubT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a - b;
    }

    private readonly struct MulT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a * b;
    }

    /// <summary>Division; for integers the smallest signed value divided by -1 wraps to itself instead of trapping.</summary>
    private readonly struct DivT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => !IsFloating<T>() && T.IsNegative(b) && b == -T.One ? T.Zero - a : a / b;
    }

    /// <summary>Truncated remainder; for integers the smallest signed value modulo -1 is 0 instead of trapping.</summary>
    private readonly struct RemT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => !IsFloating<T>() && T.IsNegative(b) && b == -T.One ? T.Zero : a % b;
    }

    /// <summary>True for the floating element types (a constant per specialization).</summary>
    private static bool IsFloating<T>() => typeof(T) == typeof(float) || typeof(T) == typeof(double);

    private readonly struct MaxT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? a + b : a >= b ? a : b;
    }

    private readonly struct MinT<T> : IZip<T, T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? a + b : a <= b ? a : b;
    }

    private readonly struct EqT<T> : IZip<T, byte>
        where T : INumber<T>
    {
        public static byte Apply(T a, T b) => a == b ? (byte)1 : (byte)0;
    }

    private readonly struct NeT<T> : IZip<T, byte>
        where T : INumber<T>
    {
        public static byte Apply(T a, T b) => a != b ? (byte)1 : (byte)0;
    }

    private readonly struct LtT<T> : IZip<T, byte>
        where T : INumber<T>
    {
        public static byte Apply(T a, T b) => a < b ? (byte)1 : (byte)0;
    }

    private readonly struct LeT<T> : IZip<T, byte>
        where T : INumber<T>
    {
        public static byte Apply(T a, T b) => a <= b ? (byte)1 : (byte)0;
    }

    private readonly struct GtT<T> : IZip<T, byte>
        where T : INumber<T>
    {
        public static byte Apply(T a, T b) => a > b ? (byte)1 : (byte)0;
    }

    private readonly struct GeT<T> : IZip<T, byte>
        where T : INumber<T>
    {
        public static byte Apply(T a, T b) => a >= b ? (byte)1 : (byte)0;
    }

    private readonly struct AndT<T> : IZip<T, T>
        where T : IBinaryInteger<T>
    {
        public static T Apply(T a, T b) => a & b;
    }

    private readonly struct OrT<T> : IZip<T, T>
        where T : IBinaryInteger<T>
    {
        public static T Apply(T a, T b) => a | b;
    }

    private readonly struct XorT<T> : IZip<T, T>
        where T : IBinaryInteger<T>
    {
        public static T Apply(T a, T b) => a ^ b;
    }
}
