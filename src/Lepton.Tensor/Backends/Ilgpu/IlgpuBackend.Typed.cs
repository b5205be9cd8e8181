// Memory transfers and kernels for every element type: byte uploads and downloads, fills, copies, casts and
// selection (arithmetic, comparisons and reductions in the operands' own type are in IlgpuBackend.TypedMath).
using ILGPU;
using ILGPU.Runtime;
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc />
    public void UploadBytes(ReadOnlySpan<byte> src, DeviceBuffer dst, long dstByteOffset)
    {
        if (src.Length > 0)
        {
            BindToThisThread();
            Gpu(dst).ViewAs<byte>().SubView(dstByteOffset, src.Length).CopyFromCPU(src);
        }
    }

    /// <inheritdoc />
    public void DownloadBytes(DeviceBuffer src, long srcByteOffset, Span<byte> dst)
    {
        Interlocked.Increment(ref readBacks);
        BindToThisThread();
        if (dst.Length > 0)
        {
            Gpu(src).ViewAs<byte>().SubView(srcByteOffset, dst.Length).CopyToCPU(dst);
        }

        accelerator.Synchronize();
        ThrowPendingIndexError();
    }

    /// <inheritdoc />
    public void FillBits(DeviceBuffer dst, int elementSize, long offset, long count, ulong bits)
    {
        CheckRange("FillBits", dst, offset * elementSize, count * elementSize);
        switch (elementSize)
        {
            case 1: Fill<byte>(dst, offset, count, (byte)bits); break;
            case 2: Fill<ushort>(dst, offset, count, (ushort)bits); break;
            case 4: Fill<uint>(dst, offset, count, (uint)bits); break;
            case 8: Fill<ulong>(dst, offset, count, bits); break;
            default: throw new ArgumentOutOfRangeException(nameof(elementSize), elementSize, "FillBits: elements are 1, 2, 4 or 8 bytes.");
        }
    }

    /// <inheritdoc />
    public void CopyElements(in StridedView src, in StridedView dst)
    {
        switch (src.ElementSize)
        {
            case 1: CopyAs<byte>(src, dst); break;
            case 2: CopyAs<ushort>(src, dst); break;
            case 4: CopyAs<uint>(src, dst); break;
            case 8: CopyAs<ulong>(src, dst); break;
            default: throw new ArgumentOutOfRangeException(nameof(src), src.ElementSize, "CopyElements: elements are 1, 2, 4 or 8 bytes.");
        }
    }

    /// <inheritdoc />
    public void Cast(in StridedView src, DType from, DeviceBuffer dst, DType to)
    {
        switch (from)
        {
            case DType.Float32: CastFrom<float, Float32Element>(src, to, dst); break;
            case DType.Float64: CastFrom<double, Float64Element>(src, to, dst); break;
            case DType.Float16: CastFrom<ushort, Float16Element>(src, to, dst); break;
            case DType.BFloat16: CastFrom<ushort, BFloat16Element>(src, to, dst); break;
            case DType.Int64: CastFrom<long, Int64Element>(src, to, dst); break;
            case DType.Int32: CastFrom<int, Int32Element>(src, to, dst); break;
            case DType.Int16: CastFrom<short, Int16Element>(src, to, dst); break;
            case DType.Int8: CastFrom<sbyte, Int8Element>(src, to, dst); break;
            case DType.UInt8: CastFrom<byte, UInt8Element>(src, to, dst); break;
            default: CastFrom<byte, BoolElement>(src, to, dst); break;
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

    private static void CheckRange(string primitive, DeviceBuffer buffer, long byteOffset, long bytes)
    {
        if (byteOffset < 0 || bytes < 0 || byteOffset + bytes > buffer.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(byteOffset), $"{primitive}: bytes [{byteOffset}, {byteOffset + bytes}) lie outside a buffer of {buffer.ByteLength} bytes.");
        }
    }

    private void Fill<T>(DeviceBuffer dst, long offset, long count, T value)
        where T : unmanaged
    {
        if (count == 0)
        {
            return;
        }

        var k = Kernel(TypedNames<T, T>.Fill, static a => a.LoadStreamKernel<ArrayView<T>, long, T>(TypedKernels.Fill));
        k(Elements(count), Gpu(dst).ViewAs<T>().SubView(offset, count), count, value);
    }

    private void CopyAs<T>(in StridedView src, in StridedView dst)
        where T : unmanaged
    {
        long total = Shapes.Numel(src.Shape);
        if (total == 0)
        {
            return;
        }

        var s = Gpu(src.Buffer).ViewAs<T>();
        var d = Gpu(dst.Buffer).ViewAs<T>();
        if (src.IsContiguous && dst.IsContiguous)
        {
            BindToThisThread();
            s.SubView(src.Offset, total).CopyTo(d.SubView(dst.Offset, total));
            return;
        }

        var layout = Layouts.Coalesce(src.Shape, src.Strides, dst.Strides);
        long n = layout.InnerCount();
        var k = Kernel(TypedNames<T, T>.Copy, static a => a.LoadStreamKernel<ArrayView<T>, Strides6, ArrayView<T>, Strides6, Shape6, long>(TypedKernels.Copy));
        int so = src.Offset, dOffset = dst.Offset;
        var shape = layout.InnerShape();
        var ss = layout.InnerStrides(0);
        var ds = layout.InnerStrides(1);
        var config = Elements(n);
        layout.ForEachOuter(o => k(config, s.SubView(so + o[0]), ss, d.SubView(dOffset + o[1]), ds, shape, n));
    }

    private void CastFrom<TFrom, TF>(in StridedView src, DType to, DeviceBuffer dst)
        where TFrom : unmanaged
        where TF : struct, IElementType<TFrom>
    {
        switch (to)
        {
            case DType.Float32: CastTo<TFrom, float, TF, Float32Element>(src, dst); break;
            case DType.Float64: CastTo<TFrom, double, TF, Float64Element>(src, dst); break;
            case DType.Float16: CastTo<TFrom, ushort, TF, Float16Element>(src, dst); break;
            case DType.BFloat16: CastTo<TFrom, ushort, TF, BFloat16Element>(src, dst); break;
            case DType.Int64: CastTo<TFrom, long, TF, Int64Element>(src, dst); break;
            case DType.Int32: CastTo<TFrom, int, TF, Int32Element>(src, dst); break;
            case DType.Int16: CastTo<TFrom, short, TF, Int16Element>(src, dst); break;
            case DType.Int8: CastTo<TFrom, sbyte, TF, Int8Element>(src, dst); break;
            case DType.UInt8: CastTo<TFrom, byte, TF, UInt8Element>(src, dst); break;
            default: CastTo<TFrom, byte, TF, BoolElement>(src, dst); break;
        }
    }

    private void CastTo<TFrom, TTo, TF, TT>(in StridedView src, DeviceBuffer dst)
        where TFrom : unmanaged
        where TTo : unmanaged
        where TF : struct, IElementType<TFrom>
        where TT : struct, IElementType<TTo>
    {
        long total = Shapes.Numel(src.Shape);
        if (total == 0)
        {
            return;
        }

        var s = Gpu(src.Buffer).ViewAs<TFrom>();
        var d = Gpu(dst).ViewAs<TTo>();
        if (src.IsContiguous && typeof(TF) == typeof(BFloat16Element) && typeof(TT) == typeof(Float32Element))
        {
            // As the CPU's vectorized path: a bit shift, which keeps a signaling NaN signaling.
            var widen = Kernel("WidenBFloat16", static a => a.LoadStreamKernel<ArrayView<ushort>, ArrayView<uint>, long>(TypedKernels.WidenBFloat16));
            widen(Elements(total), Gpu(src.Buffer).ViewAs<ushort>().SubView(src.Offset, total), Gpu(dst).ViewAs<uint>(), total);
            return;
        }

        if (src.IsContiguous)
        {
            var dense = Kernel(TypedNames<TF, TT>.CastDense, static a => a.LoadStreamKernel<ArrayView<TFrom>, ArrayView<TTo>, long, TF, TT>(TypedKernels.CastDense));
            dense(Elements(total), s.SubView(src.Offset, total), d, total, default, default);
            return;
        }

        var layout = Layouts.Coalesce(src.Shape, src.Strides, Shapes.ContiguousStrides(src.Shape));
        long n = layout.InnerCount();
        var k = Kernel(TypedNames<TF, TT>.Cast, static a => a.LoadStreamKernel<ArrayView<TFrom>, Strides6, ArrayView<TTo>, Shape6, long, TF, TT>(TypedKernels.Cast));
        int so = src.Offset;
        var shape = layout.InnerShape();
        var ss = layout.InnerStrides(0);
        var config = Elements(n);
        layout.ForEachOuter(o => k(config, s.SubView(so + o[0]), ss, d.SubView(o[1]), shape, n, default, default));
    }

    private void Select<T>(in StridedView cond, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape)
        where T : unmanaged
    {
        var layout = Layouts.Coalesce(shape, cond.Strides, a.Strides, b.Strides, Shapes.ContiguousStrides(shape));
        long n = layout.InnerCount();
        if (n == 0 || Shapes.Numel(shape) == 0)
        {
            return;
        }

        var k = Kernel(TypedNames<T, T>.Where, static l => l.LoadStreamKernel<ArrayView<byte>, Strides6, ArrayView<T>, Strides6, ArrayView<T>, Strides6, ArrayView<T>, Shape6, long>(TypedKernels.Where));
        var cv = Gpu(cond.Buffer).ViewAs<byte>();
        var av = Gpu(a.Buffer).ViewAs<T>();
        var bv = Gpu(b.Buffer).ViewAs<T>();
        var yv = Gpu(y).ViewAs<T>();
        int co = cond.Offset, ao = a.Offset, bo = b.Offset;
        var s6 = layout.InnerShape();
        var sc = layout.InnerStrides(0);
        var sa = layout.InnerStrides(1);
        var sb = layout.InnerStrides(2);
        var config = Elements(n);
        layout.ForEachOuter(o => k(config, cv.SubView(co + o[0]), sc, av.SubView(ao + o[1]), sa, bv.SubView(bo + o[2]), sb, yv.SubView(o[3]), s6, n));
    }

    /// <summary>Cache keys of the typed kernels instantiated for a pair of type arguments.</summary>
    private static class TypedNames<TA, TB>
    {
        public static readonly string Fill = "TypedFill:" + typeof(TA);
        public static readonly string Copy = "TypedCopy:" + typeof(TA);
        public static readonly string Where = "Where:" + typeof(TA);
        public static readonly string Cast = $"Cast:{typeof(TA)}:{typeof(TB)}";
        public static readonly string CastDense = $"CastDense:{typeof(TA)}:{typeof(TB)}";
        public static readonly string Binary = $"TypedBinary:{typeof(TA)}:{typeof(TB)}";
        public static readonly string SumToInt64 = $"SumToInt64:{typeof(TA)}:{typeof(TB)}";
        public static readonly string SumFloating = $"SumFloating:{typeof(TA)}:{typeof(TB)}";
        public static readonly string Extreme = $"Extreme:{typeof(TA)}:{typeof(TB)}";
        public static readonly string ArgExtreme = $"ArgExtreme:{typeof(TA)}:{typeof(TB)}";
    }
}
