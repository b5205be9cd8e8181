// Shape arithmetic shared by every op: element counts, strides, broadcasting and axis checks,
// with error messages that name the op and the shapes involved.
namespace Lepton;

/// <summary>Shape and stride helpers.</summary>
internal static class Shapes
{
    /// <summary>The most elements a tensor holds: buffers are float arrays indexed by int.</summary>
    public const int MaxElements = int.MaxValue;

    /// <summary>The element count of a shape; throws when a size is negative or the count exceeds <see cref="MaxElements"/>.</summary>
    public static int Numel(ReadOnlySpan<int> shape) => CheckSize(null, shape);

    /// <summary>
    /// The element count of <paramref name="shape"/>, computed in 64 bits: an error names <paramref name="op"/>, the shape,
    /// what it was made from (<paramref name="origin"/>, e.g. " (broadcast from [2] and [3])") and what is wrong.
    /// </summary>
    public static int CheckSize(string? op, ReadOnlySpan<int> shape, string? origin = null)
    {
        long n = SaturatedCount(shape);
        return n is >= 0 and <= MaxElements ? (int)n : throw SizeError(op, shape, origin);
    }

    /// <summary>True when no size is negative and the element count is at most <see cref="MaxElements"/> (no allocation).</summary>
    public static bool IsValidSize(ReadOnlySpan<int> shape) => SaturatedCount(shape) is >= 0 and <= MaxElements;

    /// <summary>The error for a shape that <see cref="IsValidSize"/> rejects, naming the op, the shape and its origin.</summary>
    public static ArgumentException SizeError(string? op, ReadOnlySpan<int> shape, string? origin)
    {
        string prefix = op is null ? "A tensor of " : op + ": ";
        var exact = System.Numerics.BigInteger.One;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                return new ArgumentException($"{prefix}shape {Format(shape)}{origin} has a negative size ({d}).");
            }

            exact *= d;
        }

        return new ArgumentException($"{prefix}shape {Format(shape)}{origin} has {exact} elements; a tensor holds at most {MaxElements}.");
    }

    /// <summary>A size computed in 64 bits from user input, checked to be a valid dimension (0..int.MaxValue).</summary>
    public static bool IsExtent(long value) => value is >= 0 and <= int.MaxValue;

    /// <summary>The error for a computed dimension that <see cref="IsExtent"/> rejects.</summary>
    public static ArgumentException ExtentError(string op, string what, long value, string origin) =>
        new($"{op}: {what} would be {value} {origin}; a dimension must be in [0, {int.MaxValue}].");

    /// <summary>The element count saturated just above <see cref="MaxElements"/>; -1 when a size is negative.</summary>
    private static long SaturatedCount(ReadOnlySpan<int> shape)
    {
        // No product of a saturated count and an int overflows a long.
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                return -1;
            }

            n = Math.Min(n * d, (long)MaxElements + 1);
        }

        return n;
    }

    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        // Saturated: only an empty tensor's shape can make the product exceed int, and no element is addressed then.
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = (int)s;
            s = Math.Min(s * Math.Max(shape[i], 1), int.MaxValue);
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

        return IsValidSize(result) ? result : throw SizeError(op, result, $" (broadcast from {Format(a)} and {Format(b)})");
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

    /// <summary>Checks a shape given by the user: no negative size, at most <see cref="MaxElements"/> elements.</summary>
    public static int CheckShape(string op, ReadOnlySpan<int> shape) => CheckSize(op, shape);

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
