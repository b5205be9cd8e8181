// Kernels for every element type: fills, copies, casts, selection, element-wise arithmetic and comparisons,
// and reductions in the operands' own type. Generic over the element and its IElementType / INumberOps
// struct; grid-stride loops with 64-bit indices, so any launch shape covers any size.
namespace Lepton.Kernels;

/// <summary>Typed element-wise and reduction kernels; results are bit for bit the CPU backend's.</summary>
public static class TypedKernels
{
    /// <summary>y[i] = value for i &lt; n.</summary>
    public static void Fill<T>(ArrayView<T> y, long n, T value)
        where T : unmanaged
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            y[i] = value;
        }
    }

    /// <summary>dst = src element by element, both read and written through strides.</summary>
    public static void Copy<T>(ArrayView<T> src, Strides6 ss, ArrayView<T> dst, Strides6 sd, Shape6 shape, long n)
        where T : unmanaged
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            dst[sd.Offset(shape, i)] = src[ss.Offset(shape, i)];
        }
    }

    /// <summary>dst[i] = (TTo)src[i] over dense data: src [n] -> dst [n].</summary>
    public static void CastDense<TFrom, TTo, TF, TT>(ArrayView<TFrom> src, ArrayView<TTo> dst, long n, TF from, TT to)
        where TFrom : unmanaged
        where TTo : unmanaged
        where TF : struct, IElementType<TFrom>
        where TT : struct, IElementType<TTo>
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            dst[i] = Convert<TFrom, TTo, TF, TT>(src[i], from, to);
        }
    }

    /// <summary>dst[i] = the float32 bits of bfloat16 src[i] over dense data, a shift that keeps every NaN's bits: [n] -> [n].</summary>
    public static void WidenBFloat16(ArrayView<ushort> src, ArrayView<uint> dst, long n)
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            dst[i] = (uint)src[i] << 16;
        }
    }

    /// <summary>dst[i] = (TTo)src[i] with src read through strides: src (shape, strided) -> dst (shape, dense).</summary>
    public static void Cast<TFrom, TTo, TF, TT>(ArrayView<TFrom> src, Strides6 ss, ArrayView<TTo> dst, Shape6 shape, long n, TF from, TT to)
        where TFrom : unmanaged
        where TTo : unmanaged
        where TF : struct, IElementType<TFrom>
        where TT : struct, IElementType<TTo>
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            dst[i] = Convert<TFrom, TTo, TF, TT>(src[ss.Offset(shape, i)], from, to);
        }
    }

    /// <summary>y[i] = c[i] != 0 ? a[i] : b[i] with a bool (byte) condition, all three read through strides; y dense.</summary>
    public static void Where<T>(ArrayView<byte> c, Strides6 sc, ArrayView<T> a, Strides6 sa, ArrayView<T> b, Strides6 sb, ArrayView<T> y, Shape6 shape, long n)
        where T : unmanaged
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            y[i] = c[sc.Offset(shape, i)] != 0 ? a[sa.Offset(shape, i)] : b[sb.Offset(shape, i)];
        }
    }

    /// <summary>y[i] = f(a[i], b[i]) with a and b read through strides (0 where broadcast); y dense, of T or bool.</summary>
    public static void Binary<T, TR, TOp>(ArrayView<T> a, Strides6 sa, ArrayView<T> b, Strides6 sb, ArrayView<TR> y, Shape6 shape, long n, TOp op)
        where T : unmanaged
        where TR : unmanaged
        where TOp : struct, ITypedBinary<T, TR>
    {
        for (long i = Grid.GlobalIndex.X; i < n; i += (long)Grid.DimX * Group.DimX)
        {
            y[i] = op.Apply(a[sa.Offset(shape, i)], b[sb.Offset(shape, i)]);
        }
    }

    /// <summary>y[o, i] = the sum over k of x[o, k, i] in int64 (wrapping): x [outer, axis, inner] -> y [outer, inner].</summary>
    /// <remarks>One thread per output adds in index order, as the CPU does.</remarks>
    public static void SumToInt64<T, TE>(ArrayView<T> x, ArrayView<long> y, int outer, int axis, int inner, TE element)
        where T : unmanaged
        where TE : struct, IElementType<T>
    {
        long outputs = (long)outer * inner;
        for (long e = Grid.GlobalIndex.X; e < outputs; e += (long)Grid.DimX * Group.DimX)
        {
            long start = Start(e, axis, inner);
            long sum = 0;
            for (int k = 0; k < axis; k++)
            {
                sum = unchecked(sum + element.ToInt64(x[start + ((long)k * inner)]));
            }

            y[e] = sum;
        }
    }

    /// <summary>y[o, i] = the sum over k of x[o, k, i] accumulated in float64 and stored in the element type: x [outer, axis, inner] -> y [outer, inner].</summary>
    /// <remarks>One thread per output adds in index order, as the CPU does, so the rounding is the same.</remarks>
    public static void SumFloating<T, TE>(ArrayView<T> x, ArrayView<T> y, int outer, int axis, int inner, TE element)
        where T : unmanaged
        where TE : struct, IElementType<T>
    {
        long outputs = (long)outer * inner;
        for (long e = Grid.GlobalIndex.X; e < outputs; e += (long)Grid.DimX * Group.DimX)
        {
            long start = Start(e, axis, inner);
            double sum = 0;
            for (int k = 0; k < axis; k++)
            {
                sum += element.ToDouble(x[start + ((long)k * inner)]);
            }

            y[e] = element.FromDouble(sum);
        }
    }

    /// <summary>y[o, i] = the max (<paramref name="max"/> != 0) or min over k of x[o, k, i], the first NaN if any: [outer, axis, inner] -> [outer, inner].</summary>
    public static void Extreme<T, TN>(ArrayView<T> x, ArrayView<T> y, int outer, int axis, int inner, int max, TN n)
        where T : unmanaged
        where TN : struct, INumberOps<T>
    {
        long outputs = (long)outer * inner;
        for (long e = Grid.GlobalIndex.X; e < outputs; e += (long)Grid.DimX * Group.DimX)
        {
            long start = Start(e, axis, inner);
            T best = x[start];
            for (int k = 1; k < axis && !n.IsNaN(best); k++)
            {
                T v = x[start + ((long)k * inner)];
                if (n.IsNaN(v) || (max != 0 ? n.Less(best, v) : n.Less(v, best)))
                {
                    best = v;
                }
            }

            y[e] = best;
        }
    }

    /// <summary>
    /// y[o, i] = the k of the max (<paramref name="max"/> != 0) or min of x[o, k, i] as int64, the first or with
    /// <paramref name="last"/> != 0 the last, NaN counting as the largest: [outer, axis, inner] -> [outer, inner].
    /// </summary>
    public static void ArgExtreme<T, TN>(ArrayView<T> x, ArrayView<long> y, int outer, int axis, int inner, int max, int last, TN n)
        where T : unmanaged
        where TN : struct, INumberOps<T>
    {
        long outputs = (long)outer * inner;
        for (long e = Grid.GlobalIndex.X; e < outputs; e += (long)Grid.DimX * Group.DimX)
        {
            long start = Start(e, axis, inner);
            T best = x[start];
            long index = 0;
            for (int k = 1; k < axis; k++)
            {
                T v = x[start + ((long)k * inner)];
                bool better = n.IsNaN(best)
                    ? last != 0 && n.IsNaN(v)
                    : n.IsNaN(v) || (max != 0
                        ? (last != 0 ? n.LessOrEqual(best, v) : n.Less(best, v))
                        : (last != 0 ? n.LessOrEqual(v, best) : n.Less(v, best)));
                if (better)
                {
                    best = v;
                    index = k;
                }
            }

            y[e] = index;
        }
    }

    /// <summary>x converted by the rules of ElementConversions: through double from a floating type, through long otherwise.</summary>
    private static TTo Convert<TFrom, TTo, TF, TT>(TFrom x, TF from, TT to)
        where TFrom : unmanaged
        where TTo : unmanaged
        where TF : struct, IElementType<TFrom>
        where TT : struct, IElementType<TTo> =>
        from.IsFloating ? to.FromDouble(from.ToDouble(x)) : to.FromInt64(from.ToInt64(x));

    /// <summary>Where output e = (o, i) of a reduction starts in x [outer, axis, inner].</summary>
    private static long Start(long e, int axis, int inner)
    {
        long o = e / inner, i = e - (o * inner);
        return (o * axis * inner) + i;
    }
}
