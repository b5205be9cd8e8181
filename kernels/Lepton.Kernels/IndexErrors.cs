// Index validation on the device: a kernel that meets an index out of range records the first one in a
// small error buffer instead of reading out of bounds; the host raises it at its next read-back.
namespace Lepton.Kernels;

/// <summary>
/// Codes and recording of bad indices (outside [0, size), or [-size, size) where negative ones count from the end). The
/// buffer holds [flag, op, the index, size, position, whether negatives were allowed], the
/// position being the index's row-major place among the indices.
/// </summary>
public static class IndexErrors
{
    /// <summary>Which op met the bad index.</summary>
    public const int Gather = 1, ScatterAdd = 2, IndexSelect = 3, IndexAdd = 4, CrossEntropy = 5;

    /// <summary>Ints the error buffer needs.</summary>
    public const int Length = 6;

    /// <summary>Records (op, index, size, position, fromEnd) unless an earlier error is already recorded.</summary>
    public static void Report(ArrayView<int> errors, int op, int index, int size, long position, int fromEnd = 0)
    {
        if (Atomic.CompareExchange(ref errors[0], compare: 0, value: 1) == 0)
        {
            errors[1] = op;
            errors[2] = index;
            errors[3] = size;
            errors[4] = (int)position;
            errors[5] = fromEnd;
        }
    }

    /// <summary>True when <paramref name="value"/> is an index in [0, size).</summary>
    public static bool InRange(int value, int size) => value >= 0 && value < size;

    /// <summary>True when <paramref name="value"/> is an index in [-size, size) (negative ones count from the end).</summary>
    public static bool InRangeFromEnd(int value, int size) => value >= -size && value < size;
}
