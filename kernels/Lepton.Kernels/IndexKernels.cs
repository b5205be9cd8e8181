// Gather/scatter along an axis and index-select/index-add, with indices stored as exact floats. The
// accumulating forms use atomic adds because several indices may name the same destination.
namespace Lepton.Kernels;

/// <summary>Indexing kernels; out-of-range indices are recorded in <c>errors</c> and skipped (NaN where a value is read).</summary>
public static class IndexKernels
{
    /// <summary>dst[o, j, i] = src[o, index[o, j, i], i].</summary>
    public static void Gather(ArrayView<float> src, int srcAxis, ArrayView<float> index, ArrayView<float> dst, int outer, int indexAxis, int inner, ArrayView<int> errors)
    {
        long total = (long)outer * indexAxis * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long o = e / ((long)indexAxis * inner), i = e % inner;
            float k = index[e];
            if (IndexErrors.InRange(k, srcAxis))
            {
                dst[e] = src[(((o * srcAxis) + (int)k) * inner) + i];
            }
            else
            {
                IndexErrors.Report(errors, IndexErrors.Gather, k, srcAxis);
                dst[e] = float.NaN;
            }
        }
    }

    /// <summary>dst[o, index[o, j, i], i] += src[o, j, i].</summary>
    public static void ScatterAdd(ArrayView<float> src, ArrayView<float> index, ArrayView<float> dst, int dstAxis, int outer, int indexAxis, int inner, ArrayView<int> errors)
    {
        long total = (long)outer * indexAxis * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long o = e / ((long)indexAxis * inner), i = e % inner;
            float k = index[e];
            if (IndexErrors.InRange(k, dstAxis))
            {
                Atomic.Add(ref dst[(((o * dstAxis) + (int)k) * inner) + i], src[e]);
            }
            else
            {
                IndexErrors.Report(errors, IndexErrors.ScatterAdd, k, dstAxis);
            }
        }
    }

    /// <summary>dst[o, j, i] = src[o, index[j], i].</summary>
    public static void IndexSelect(ArrayView<float> src, int srcAxis, ArrayView<float> index, ArrayView<float> dst, int outer, int count, int inner, ArrayView<int> errors)
    {
        long total = (long)outer * count * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long row = e / inner, i = e % inner;
            long o = row / count;
            float k = index[(int)(row % count)];
            if (IndexErrors.InRange(k, srcAxis))
            {
                dst[e] = src[(((o * srcAxis) + (int)k) * inner) + i];
            }
            else
            {
                IndexErrors.Report(errors, IndexErrors.IndexSelect, k, srcAxis);
                dst[e] = float.NaN;
            }
        }
    }

    /// <summary>dst[o, index[j], i] += src[o, j, i].</summary>
    public static void IndexAdd(ArrayView<float> src, ArrayView<float> index, ArrayView<float> dst, int dstAxis, int outer, int count, int inner, ArrayView<int> errors)
    {
        long total = (long)outer * count * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long row = e / inner, i = e % inner;
            long o = row / count;
            float k = index[(int)(row % count)];
            if (IndexErrors.InRange(k, dstAxis))
            {
                Atomic.Add(ref dst[(((o * dstAxis) + (int)k) * inner) + i], src[e]);
            }
            else
            {
                IndexErrors.Report(errors, IndexErrors.IndexAdd, k, dstAxis);
            }
        }
    }
}
