// Picking along an axis, with int32 indices: gather and index-select read
// src[o, index, i] into dst [outer, picks, inner]; their adjoints scatter-add back. The two differ only in
// where the index of an element lives (one per element for gather, one per pick for index-select).
// Several indices may name the same destination, so the accumulating kernel uses atomic adds.
namespace Lepton.Kernels;

/// <summary>
/// Indexing kernels; out-of-range indices are recorded in <c>errors</c> and skipped (NaN where a value is read). With
/// <c>fromEnd</c> != 0 an index in [-size, -1] means size + index (ONNX's Gather); otherwise negative indices are errors.
/// </summary>
public static class IndexKernels
{
    /// <summary>dst[o, j, i] = src[o, k, i] with k = index[o, j, i] (gather) or index[j] (index-select, <paramref name="perElement"/> = 0).</summary>
    public static void Take(
        ArrayView<float> src, int srcAxis, ArrayView<int> index, int perElement, ArrayView<float> dst,
        int outer, int picks, int inner, int op, int fromEnd, ArrayView<int> errors)
    {
        long total = (long)outer * picks * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long at = IndexOf(e, perElement, picks, inner);
            int k = index[at];
            if (Valid(k, srcAxis, fromEnd))
            {
                dst[e] = src[SourceOf(e, k < 0 ? k + srcAxis : k, srcAxis, picks, inner)];
            }
            else
            {
                IndexErrors.Report(errors, op, k, srcAxis, at, fromEnd);
                dst[e] = float.NaN;
            }
        }
    }

    /// <summary>dst[o, k, i] += src[o, j, i], the adjoint of <see cref="Take"/> (scatter-add or index-add).</summary>
    public static void PutAdd(
        ArrayView<float> src, ArrayView<int> index, int perElement, ArrayView<float> dst, int dstAxis,
        int outer, int picks, int inner, int op, int fromEnd, ArrayView<int> errors)
    {
        long total = (long)outer * picks * inner;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long at = IndexOf(e, perElement, picks, inner);
            int k = index[at];
            if (Valid(k, dstAxis, fromEnd))
            {
                Atomic.Add(ref dst[SourceOf(e, k < 0 ? k + dstAxis : k, dstAxis, picks, inner)], src[e]);
            }
            else
            {
                IndexErrors.Report(errors, op, k, dstAxis, at, fromEnd);
            }
        }
    }

    /// <summary>Whether index k is valid for an axis of <paramref name="size"/>: in [0, size), or [-size, size) with fromEnd.</summary>
    private static bool Valid(int k, int size, int fromEnd) => fromEnd != 0 ? IndexErrors.InRangeFromEnd(k, size) : IndexErrors.InRange(k, size);

    /// <summary>Where element e's index lives: e itself, or its pick j.</summary>
    private static long IndexOf(long e, int perElement, int picks, int inner) => perElement != 0 ? e : e / inner % picks;

    /// <summary>Element (o, k, i) of the [outer, axis, inner] tensor for element e = (o, j, i) of the picked one.</summary>
    private static long SourceOf(long e, int k, int axis, int picks, int inner)
    {
        long o = e / ((long)picks * inner), i = e % inner;
        return (((o * axis) + k) * inner) + i;
    }
}
