// Shape arithmetic shared by every op: element counts, strides, broadcasting and axis checks,
// with error messages that name the op and the shapes involved.
namespace Lepton;

/// <summary>Shape and stride helpers.</summary>
internal static class Shapes
{
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            n *= d;
        }

        if (n > int.MaxValue)
        {
            throw new ArgumentException($"A tensor of shape {Format(shape)} has {n} elements; the limit is {int.MaxValue}.");
        }

        return (int)n;
    }

    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(shape[i], 1);
        }

        return strides;
    }

    public static bool IsContiguous(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        int expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1)
            {
                continue;
            }

            if (strides[i] != expected)
            {
                return false;
            }

            expected *= shape[i];
        }

        return true;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException(
                    $"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            }

            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    /// <summary>Strides that view (shape, strides) as broadcast to target (stride 0 on new or size-1 dims).</summary>
    public static int[] BroadcastStrides(int[] shape, int[] strides, int[] target)
    {
        var result = new int[target.Length];
        int lead = target.Length - shape.Length;
        for (int i = 0; i < target.Length; i++)
        {
            if (i < lead)
            {
                continue;
            }

            int d = shape[i - lead];
            result[i] = d == target[i] ? strides[i - lead] : 0;
        }

        return result;
    }

    public static int NormalizeAxis(string op, int axis, int rank)
    {
        int r = Math.Max(rank, 1);
        if (axis < -r || axis >= r)
        {
            throw new ArgumentOutOfRangeException(
                nameof(axis), axis, $"{op}: axis {axis} is out of range for a tensor of rank {rank} (valid: {-r}..{r - 1}).");
        }

        return axis < 0 ? axis + r : axis;
    }

    public static void CheckShape(string op, ReadOnlySpan<int> shape)
    {
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"{op}: shape {Format(shape)} has a negative size.");
            }
        }
    }

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
