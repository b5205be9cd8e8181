// Iterating up to three same-shaped strided operands and one dense output row by row: dimensions
// are first collapsed where every operand is contiguous across them, so common cases become one
// long row that SIMD loops can take.
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

/// <summary>Row iteration over collapsed strided operands.</summary>
internal sealed class StridedLoop
{
    private readonly int[] shape;
    private readonly int[][] strides;

    public StridedLoop(int[] shape, params int[][] operandStrides)
    {
        // Drop size-1 dims, then merge a dim into its right neighbour when all operands allow it.
        var dims = new List<int>();
        var st = new List<int>[operandStrides.Length];
        for (int k = 0; k < st.Length; k++)
        {
            st[k] = [];
        }

        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1)
            {
                continue;
            }

            dims.Add(shape[i]);
            for (int k = 0; k < st.Length; k++)
            {
                st[k].Add(operandStrides[k][i]);
            }
        }

        for (int i = dims.Count - 2; i >= 0; i--)
        {
            bool mergeable = true;
            for (int k = 0; k < st.Length && mergeable; k++)
            {
                mergeable = st[k][i] == st[k][i + 1] * dims[i + 1];
            }

            if (mergeable)
            {
                // The merged dim steps like the inner one.
                dims[i + 1] *= dims[i];
                dims.RemoveAt(i);
                for (int k = 0; k < st.Length; k++)
                {
                    st[k].RemoveAt(i);
                }
            }
        }

        if (dims.Count == 0)
        {
            dims.Add(1);
            for (int k = 0; k < st.Length; k++)
            {
                st[k].Add(0);
            }
        }

        this.shape = [.. dims];
        strides = new int[st.Length][];
        for (int k = 0; k < st.Length; k++)
        {
            strides[k] = [.. st[k]];
        }
    }

    /// <summary>Length of the innermost (collapsed) dimension.</summary>
    public int RowLength => shape[^1];

    /// <summary>Number of rows: the product of all dims but the last.</summary>
    public int RowCount
    {
        get
        {
            int n = 1;
            for (int i = 0; i < shape.Length - 1; i++)
            {
                n *= shape[i];
            }

            return n;
        }
    }

    /// <summary>Innermost stride of operand k.</summary>
    public int InnerStride(int k) => strides[k][^1];

    /// <summary>Element offset of operand k at the start of row r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int RowOffset(int k, int row)
    {
        int offset = 0;
        var s = strides[k];
        for (int i = shape.Length - 2; i >= 0; i--)
        {
            int d = shape[i];
            offset += (row % d) * s[i];
            row /= d;
        }

        return offset;
    }
}
