// Float32 sums and extremes along one axis of x viewed as [outer, axis, inner]. A contiguous axis (inner == 1) gets
// one group per row reducing through warp shuffles and shared memory; otherwise one thread per output walks the axis,
// so neighbouring threads read neighbouring addresses.
namespace Lepton.Kernels;

/// <summary>What a reduction kernel computes (the same values as the backend contract's kinds).</summary>
public static class ReduceCode
{
    /// <summary>Sum, NaN-propagating max, NaN-propagating min.</summary>
    public const int Sum = 0, Max = 1, Min = 2;
}

/// <summary>Axis reductions.</summary>
public static class ReduceKernels
{
    /// <summary>y[row] = reduce(x[row, 0..cols)); one group per row. Shared memory: one float per warp.</summary>
    public static void Rows(ArrayView<float> x, ArrayView<float> y, int rows, int cols, int kind)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        bool min = kind == ReduceCode.Min;
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
            else
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
        }
    }

    /// <summary>y[o, i] = reduce over a of x[o, a, i]; one thread per output.</summary>
    public static void Columns(ArrayView<float> x, ArrayView<float> y, int outer, int axis, int inner, int kind)
    {
        bool min = kind == ReduceCode.Min;
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
            else
            {
                float acc = x[start];
                for (int a = 1; a < axis; a++)
                {
                    float v = x[start + ((long)a * inner)];
                    acc = float.IsNaN(v) || float.IsNaN(acc) ? float.NaN : min ? MathF.Min(acc, v) : MathF.Max(acc, v);
                }

                y[e] = acc;
            }
        }
    }
}
