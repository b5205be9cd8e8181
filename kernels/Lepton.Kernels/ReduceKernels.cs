// Reductions along one axis of x viewed as [outer, axis, inner]. A contiguous axis (inner == 1) gets one
// group per row reducing through warp shuffles and shared memory; otherwise one thread per output walks
// the axis, so neighbouring threads read neighbouring addresses.
namespace Lepton.Kernels;

/// <summary>What a reduction kernel computes (the same order as the backend contract's kinds).</summary>
public static class ReduceCode
{
    /// <summary>Sum, max, min, argmax, argmin (first index on ties), argmax and argmin (last index on ties).</summary>
    public const int Sum = 0, Max = 1, Min = 2, ArgMax = 3, ArgMin = 4, ArgMaxLast = 5, ArgMinLast = 6;
}

/// <summary>Axis reductions.</summary>
public static class ReduceKernels
{
    /// <summary>y[row] = reduce(x[row, 0..cols)); one group per row. Shared memory: two floats per warp.</summary>
    public static void Rows(ArrayView<float> x, ArrayView<float> y, int rows, int cols, int kind)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        bool min = kind == ReduceCode.Min || kind == ReduceCode.ArgMin || kind == ReduceCode.ArgMinLast;
        bool last = kind == ReduceCode.ArgMaxLast || kind == ReduceCode.ArgMinLast;
        for (int row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            long start = (long)row * cols;
            if (kind == ReduceCode.Sum)
            {
                float acc = 0f;
                for (int c = Group.IdxX; c < cols; c += Group.DimX)
                {
                    acc += x[start + c];
                }

                acc = GroupReduce.Sum(acc, scratch);
                if (Group.IsFirstThread)
                {
                    y[row] = acc;
                }
            }
            else if (kind == ReduceCode.Max || kind == ReduceCode.Min)
            {
                float acc = min ? float.PositiveInfinity : float.NegativeInfinity;
                for (int c = Group.IdxX; c < cols; c += Group.DimX)
                {
                    float v = x[start + c];
                    acc = float.IsNaN(v) || float.IsNaN(acc) ? float.NaN : min ? MathF.Min(acc, v) : MathF.Max(acc, v);
                }

                acc = GroupReduce.Extreme(acc, min, scratch);
                if (Group.IsFirstThread)
                {
                    y[row] = acc;
                }
            }
            else
            {
                // Threads own ascending positions, so a strict comparison keeps each thread's first best (a non-strict one its last).
                float best = min ? float.PositiveInfinity : float.NegativeInfinity;
                int bestIndex = int.MaxValue;
                for (int c = Group.IdxX; c < cols; c += Group.DimX)
                {
                    float v = x[start + c];
                    if (bestIndex == int.MaxValue || GroupReduce.Better(v, c, best, bestIndex, min, last))
                    {
                        best = v;
                        bestIndex = c;
                    }
                }

                bestIndex = GroupReduce.ArgExtreme(best, bestIndex, min, last, scratch);
                if (Group.IsFirstThread)
                {
                    y[row] = bestIndex;
                }
            }
        }
    }

    /// <summary>y[o, i] = reduce over a of x[o, a, i]; one thread per output.</summary>
    public static void Columns(ArrayView<float> x, ArrayView<float> y, int outer, int axis, int inner, int kind)
    {
        bool min = kind == ReduceCode.Min || kind == ReduceCode.ArgMin || kind == ReduceCode.ArgMinLast;
        bool last = kind == ReduceCode.ArgMaxLast || kind == ReduceCode.ArgMinLast;
        int outputs = outer * inner;
        for (int e = Grid.GlobalIndex.X; e < outputs; e += Grid.DimX * Group.DimX)
        {
            int o = e / inner, i = e % inner;
            long start = ((long)o * axis * inner) + i;
            if (kind == ReduceCode.Sum)
            {
                float acc = 0f;
                for (int a = 0; a < axis; a++)
                {
                    acc += x[start + ((long)a * inner)];
                }

                y[e] = acc;
            }
            else if (kind == ReduceCode.Max || kind == ReduceCode.Min)
            {
                float acc = x[start];
                for (int a = 1; a < axis; a++)
                {
                    float v = x[start + ((long)a * inner)];
                    acc = float.IsNaN(v) || float.IsNaN(acc) ? float.NaN : min ? MathF.Min(acc, v) : MathF.Max(acc, v);
                }

                y[e] = acc;
            }
            else
            {
                float best = x[start];
                int bestIndex = 0;
                for (int a = 1; a < axis; a++)
                {
                    float v = x[start + ((long)a * inner)];
                    if (GroupReduce.Better(v, a, best, bestIndex, min, last))
                    {
                        best = v;
                        bestIndex = a;
                    }
                }

                y[e] = bestIndex;
            }
        }
    }
}
