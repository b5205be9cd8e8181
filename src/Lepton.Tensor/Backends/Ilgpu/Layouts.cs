// Turns the strided views of an element-wise op into the fixed six-dimension layout kernels take:
// size-1 dimensions are dropped, dimensions that are contiguous for every operand are merged, and
// the rest is left-padded with size-1 dimensions. Anything still deeper is split into launches.
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

/// <summary>A shape and per-operand strides reduced to at most six dimensions (or more, then split by the caller).</summary>
internal readonly struct Layouts
{
    private Layouts(int[] shape, int[][] strides)
    {
        Shape = shape;
        Strides = strides;
    }

    public int[] Shape { get; }

    public int[][] Strides { get; }

    public int Rank => Shape.Length;

    public static Layouts Coalesce(int[] shape, params int[][] strides)
    {
        List<int> dims = [];
        List<int>[] s = [.. strides.Select(_ => new List<int>())];
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1)
            {
                continue;
            }

            int last = dims.Count - 1;
            bool merge = last >= 0;
            for (int k = 0; k < strides.Length && merge; k++)
            {
                merge = s[k][last] == strides[k][d] * shape[d];
            }

            if (merge)
            {
                dims[last] *= shape[d];
                for (int k = 0; k < strides.Length; k++)
                {
                    s[k][last] = strides[k][d];
                }
            }
            else
            {
                dims.Add(shape[d]);
                for (int k = 0; k < strides.Length; k++)
                {
                    s[k].Add(strides[k][d]);
                }
            }
        }

        return new Layouts([.. dims], [.. s.Select(l => l.ToArray())]);
    }

    /// <summary>The innermost min(rank, 6) dimensions as a kernel shape.</summary>
    public Shape6 InnerShape()
    {
        var n = Pad(Shape, 1);
        return new Shape6 { N0 = n[0], N1 = n[1], N2 = n[2], N3 = n[3], N4 = n[4], N5 = n[5] };
    }

    /// <summary>Operand k's strides of the innermost min(rank, 6) dimensions.</summary>
    public Strides6 InnerStrides(int k)
    {
        var s = Pad(Strides[k], 0);
        return new Strides6 { S0 = s[0], S1 = s[1], S2 = s[2], S3 = s[3], S4 = s[4], S5 = s[5] };
    }

    /// <summary>Elements in the innermost min(rank, 6) dimensions.</summary>
    public int InnerCount()
    {
        int count = 1;
        for (int d = Math.Max(0, Rank - Shape6.MaxRank); d < Rank; d++)
        {
            count *= Shape[d];
        }

        return count;
    }

    /// <summary>Calls <paramref name="launch"/> with each operand's element offset for every index of the outer (beyond six) dimensions.</summary>
    public void ForEachOuter(Action<long[]> launch)
    {
        int outerRank = Math.Max(0, Rank - Shape6.MaxRank);
        int outerCount = 1;
        for (int d = 0; d < outerRank; d++)
        {
            outerCount *= Shape[d];
        }

        var offsets = new long[Strides.Length];
        for (int i = 0; i < outerCount; i++)
        {
            int rest = i;
            Array.Clear(offsets);
            for (int d = outerRank - 1; d >= 0; d--)
            {
                int coordinate = rest % Shape[d];
                rest /= Shape[d];
                for (int k = 0; k < offsets.Length; k++)
                {
                    offsets[k] += (long)coordinate * Strides[k][d];
                }
            }

            launch(offsets);
        }
    }

    private int[] Pad(int[] values, int fill)
    {
        var padded = new int[Shape6.MaxRank];
        Array.Fill(padded, fill);
        int take = Math.Min(values.Length, Shape6.MaxRank);
        Array.Copy(values, values.Length - take, padded, Shape6.MaxRank - take, take);
        return padded;
    }
}
