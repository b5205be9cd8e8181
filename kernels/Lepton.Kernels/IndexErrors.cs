// Index validation on the device: a kernel that meets an index out of range records the first one in a
// small error buffer instead of reading out of bounds; the host raises it at its next read-back.
namespace Lepton.Kernels;

/// <summary>Codes and recording of out-of-range indices. The buffer holds [flag, op, index, size].</summary>
public static class IndexErrors
{
    /// <summary>Which op met the bad index.</summary>
    public const int Gather = 1, ScatterAdd = 2, IndexSelect = 3, IndexAdd = 4, CrossEntropy = 5;

    /// <summary>Ints the error buffer needs.</summary>
    public const int Length = 4;

    /// <summary>Records (op, index, size) unless an earlier error is already recorded.</summary>
    public static void Report(ArrayView<int> errors, int op, float index, int size)
    {
        if (Atomic.CompareExchange(ref errors[0], compare: 0, value: 1) == 0)
        {
            errors[1] = op;
            errors[2] = (int)index;
            errors[3] = size;
        }
    }

    /// <summary>True when <paramref name="value"/> is an integral index in [0, size).</summary>
    public static bool InRange(float value, int size) => value >= 0f && value < size && value == MathF.Floor(value);
}
