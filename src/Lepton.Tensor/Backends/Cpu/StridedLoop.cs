// Iterating up to four same-shaped strided operands row by row: dimensions are first collapsed where
// every operand is contiguous across them, so common cases become one long row that SIMD loops can
// take. A value type with its dimensions inline, so setting up a loop allocates nothing.
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

/// <summary>Row iteration over collapsed strided operands.</summary>
internal struct StridedLoop
{
    /// <summary>The most dimensions left once size-1 dimensions are dropped and mergeable ones merged.</summary>
    public const int MaxRank = 25;

    private const int MaxOperands = 4;

    // The collapsed shape, then each operand's strides, MaxRank entries each.
    private Inline values;
    private int rank;

    /// <summary>Two operands, both with explicit strides (a copy).</summary>
    public StridedLoop(int[] shape, int[] strides0, int[] strides1)
        : this(shape, 2, strides0, strides1, null, denseLast: false)
    {
    }

    private StridedLoop(int[] shape, int operands, int[] strides0, int[] strides1, int[]? strides2, bool denseLast)
    {
        // From the last dimension to the first: skip size-1 dims, and merge a dim into the one to its right
        // (collected last) when every operand steps across both as across one. Collected right to left.
        Span<int> all = values;
        int dense = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            int d = shape[i];
            if (d == 1)
            {
                continue;
            }

            bool merge = rank > 0;
            for (int k = 0; k < operands && merge; k++)
            {
                int inner = rank - 1;
                merge = Stride(k, i, strides0, strides1, strides2, denseLast, operands, dense) == all[Slot(k, inner)] * all[inner];
            }

            if (merge)
            {
                all[rank - 1] *= d;
            }
            else
            {
                if (rank == MaxRank)
                {
                    throw new NotSupportedException(
                        $"An element-wise loop over shape {Shapes.Format(shape)} has more than {MaxRank} dimensions that cannot be merged; make the operands contiguous first.");
                }

                all[rank] = d;
                for (int k = 0; k < operands; k++)
                {
                    all[Slot(k, rank)] = Stride(k, i, strides0, strides1, strides2, denseLast, operands, dense);
                }

                rank++;
            }

            dense *= Math.Max(d, 1);
        }

        if (rank == 0)
        {
            all[0] = 1;
            for (int k = 0; k < operands; k++)
            {
                all[Slot(k, 0)] = 0;
            }

            rank = 1;
        }

        // Outermost first, as the row arithmetic reads them.
        all[..rank].Reverse();
        for (int k = 0; k < operands; k++)
        {
            all.Slice(Slot(k, 0), rank).Reverse();
        }
    }

    /// <summary>Length of the innermost (collapsed) dimension.</summary>
    public readonly int RowLength => values[rank - 1];

    /// <summary>Number of rows: the product of all dims but the last.</summary>
    public readonly int RowCount
    {
        get
        {
            int n = 1;
            for (int i = 0; i < rank - 1; i++)
            {
                n *= values[i];
            }

            return n;
        }
    }

    /// <summary>Three operands: two with explicit strides and a dense output (a binary op).</summary>
    public static StridedLoop WithDenseOutput(int[] shape, int[] strides0, int[] strides1) =>
        new(shape, 3, strides0, strides1, null, denseLast: true);

    /// <summary>Four operands: three with explicit strides and a dense output (a select).</summary>
    public static StridedLoop WithDenseOutput(int[] shape, int[] strides0, int[] strides1, int[] strides2) =>
        new(shape, 4, strides0, strides1, strides2, denseLast: true);

    /// <summary>Innermost stride of operand k.</summary>
    public readonly int InnerStride(int k) => values[Slot(k, rank - 1)];

    /// <summary>Element offset of operand k at the start of row r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public readonly int RowOffset(int k, int row)
    {
        int offset = 0;
        int first = Slot(k, 0);
        for (int i = rank - 2; i >= 0; i--)
        {
            int d = values[i];
            offset += (row % d) * values[first + i];
            row /= d;
        }

        return offset;
    }

    /// <summary>Where operand k's stride for collapsed dim i sits in <see cref="values"/>.</summary>
    private static int Slot(int k, int i) => ((k + 1) * MaxRank) + i;

    /// <summary>Operand k's stride along original dim i; the last operand's is the dense one with <paramref name="denseLast"/>.</summary>
    private static int Stride(int k, int i, int[] strides0, int[] strides1, int[]? strides2, bool denseLast, int operands, int dense) =>
        denseLast && k == operands - 1 ? dense : k switch
        {
            0 => strides0[i],
            1 => strides1[i],
            _ => strides2![i],
        };

    [InlineArray((MaxOperands + 1) * MaxRank)]
    private struct Inline
    {
        private int element;
    }
}
