// A sparse matrix in compressed sparse rows (CSR) and its product with a dense matrix on the CPU:
// Y[n, r, 0:P] = sum over the non-zeros (r, c) of value * X[n, c, 0:P], vectorized over P.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lepton.Backends.Cpu;

/// <summary>
/// A float32 matrix [rows, columns] kept as its non-zero values in compressed sparse rows: row r's values are
/// <c>Values[RowStarts[r] .. RowStarts[r + 1]]</c>, in columns <c>Columns[...]</c>, ascending.
/// </summary>
internal sealed unsafe class SparseRows
{
    private SparseRows(int rows, int columns, int[] rowStarts, int[] columnIndices, float[] values)
    {
        Rows = rows;
        ColumnCount = columns;
        RowStarts = rowStarts;
        Columns = columnIndices;
        Values = values;
    }

    public int Rows { get; }

    public int ColumnCount { get; }

    public int[] RowStarts { get; }

    public int[] Columns { get; }

    public float[] Values { get; }

    /// <summary>How many values are stored.</summary>
    public int NonZeros => RowStarts[Rows];

    /// <summary>
    /// The non-zeros of the dense row-major matrix at <paramref name="dense"/>: [rows, columns], or with
    /// <paramref name="transposed"/> the transpose of the [columns, rows] matrix stored there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static SparseRows FromDense(float* dense, int rows, int columns, bool transposed)
    {
        var starts = new int[rows + 1];
        long count = 0;
        for (int r = 0; r < rows; r++)
        {
            starts[r] = (int)count;
            for (int c = 0; c < columns; c++)
            {
                count += At(dense, r, c, rows, columns, transposed) != 0 ? 1 : 0;
            }
        }

        starts[rows] = (int)count;
        var indices = new int[count];
        var values = new float[count];
        for (int r = 0, k = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                float v = At(dense, r, c, rows, columns, transposed);
                if (v != 0)
                {
                    indices[k] = c;
                    values[k++] = v;
                }
            }
        }

        return new SparseRows(rows, columns, starts, indices, values);
    }

    private static float At(float* dense, int r, int c, int rows, int columns, bool transposed) =>
        transposed ? dense[((long)c * rows) + r] : dense[((long)r * columns) + c];

    /// <summary>
    /// y[n, r, 0:p] = sum_k Values[k] * x[n, Columns[k], 0:p] over row r's non-zeros (=), for n below
    /// <paramref name="count"/>: x is [count, ColumnCount, p], y [count, Rows, p], both dense.
    /// </summary>
    // x: [N, C, P], this: [K, C] sparse -> y: [N, K, P]
    public void Multiply(float* x, float* y, int count, int p) => Run(x, y, count, p, rowsLast: false);

    /// <summary>
    /// y[b, r] = sum_k Values[k] * x[b, Columns[k]] (=): x [batch, ColumnCount] times the transpose of this, as a
    /// Dense layer multiplies its inputs by its kernel. x is transposed into a scratch array first, so that the
    /// products run along the batch.
    /// </summary>
    // x: [B, C], this: [K, C] sparse -> y: [B, K]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MultiplyTransposed(float* x, float* y, int batch)
    {
        if (batch == 1)
        {
            Run(x, y, 1, 1, rowsLast: false);
            return;
        }

        long length = ((long)batch * ColumnCount) + AliasSlack;
        if (scratch is null || scratch.Length < length)
        {
            scratch = GC.AllocateUninitializedArray<float>((int)length, pinned: true);
        }

        fixed (float* start = scratch)
        {
            // Start xt half a page away from x (modulo 4 KiB), so the transpose's stores do not alias its loads.
            long shift = ((((long)x - (long)start) & 4095) + 2048) & 4095;
            float* xt = start + (shift / sizeof(float));
            var state = (X: (nint)x, Xt: (nint)xt, Batch: batch, Columns: ColumnCount);
            int blocks = (ColumnCount + 7) / 8;
            CpuParallel.For(blocks, 64L * batch, state, static (in (nint X, nint Xt, int Batch, int Columns) s, int first, int last) =>
                Transpose((float*)s.X, (float*)s.Xt, s.Batch, s.Columns, first * 8, Math.Min(last * 8, s.Columns)));
            Run(xt, y, 1, batch, rowsLast: true);
        }
    }

    /// <summary>Extra scratch floats, room to place the transposed copy away from the source's 4 KiB alias.</summary>
    private const int AliasSlack = 1024;

    /// <summary>xt [columns, batch] = x [batch, columns]^T for columns [firstColumn, endColumn), by 8 x 8 tiles where AVX runs. Columns go outside, so that
    /// each 8 rows of xt are written whole while they are in cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Transpose(float* x, float* xt, int batch, int columns, int firstColumn, int endColumn)
    {
        int c0 = firstColumn;
        if (System.Runtime.Intrinsics.X86.Avx.IsSupported)
        {
            for (; c0 + 8 <= endColumn; c0 += 8)
            {
                int b = 0;
                for (; b + 8 <= batch; b += 8)
                {
                    CpuGemm.Transpose8x8(x + ((long)b * columns) + c0, columns, xt + ((long)c0 * batch) + b, batch);
                }

                for (; b < batch; b++)
                {
                    for (int c = c0; c < c0 + 8; c++)
                    {
                        xt[((long)c * batch) + b] = x[((long)b * columns) + c];
                    }
                }
            }
        }

        for (int c = c0; c < endColumn; c++)
        {
            for (int b = 0; b < batch; b++)
            {
                xt[((long)c * batch) + b] = x[((long)b * columns) + c];
            }
        }
    }

    /// <summary>A transposing thread's own scratch (each Predict thread has one; the helpers only read it).</summary>
    [ThreadStatic]
    private static float[]? scratch;



    private void Run(float* x, float* y, int count, int p, bool rowsLast)
    {
        long perRow = Math.Max(1, (long)NonZeros / Math.Max(Rows, 1)) * p;
        var state = (Self: this, X: (nint)x, Y: (nint)y, P: p);
        if (rowsLast)
        {
            // y [P, Rows]: blocks of 16 rows go through a tile, so that y is written 16 contiguous values at a time.
            int blocks = (Rows + TileRows - 1) / TileRows;
            CpuParallel.For(blocks, perRow * TileRows, state, static (in (SparseRows Self, nint X, nint Y, int P) s, int start, int end) =>
            {
                for (int block = start; block < end; block++)
                {
                    s.Self.RowBlock(block * TileRows, (float*)s.X, (float*)s.Y, s.P);
                }
            });
            return;
        }

        CpuParallel.For(count * Rows, perRow, state, static (in (SparseRows Self, nint X, nint Y, int P) s, int start, int end) =>
        {
            for (int item = start; item < end; item++)
            {
                int n = item / s.Self.Rows, r = item - (n * s.Self.Rows);
                float* xn = (float*)s.X + ((long)n * s.Self.ColumnCount * s.P);
                s.Self.Row(r, xn, s.P, s.P, (float*)s.Y + ((((long)n * s.Self.Rows) + r) * s.P));
            }
        });
    }

    private const int TileRows = 16;
    private const int TileColumns = 64;

    /// <summary>y[j, r0 + i] for rows r0 + i of one block and every j below <paramref name="p"/>, through a stack tile.</summary>
    private void RowBlock(int r0, float* x, float* y, int p)
    {
        float* tile = stackalloc float[TileRows * TileColumns];
        int rows = Math.Min(TileRows, Rows - r0);
        for (int j0 = 0; j0 < p; j0 += TileColumns)
        {
            int width = Math.Min(TileColumns, p - j0);
            for (int i = 0; i < rows; i++)
            {
                Row(r0 + i, x + j0, p, width, tile + (i * TileColumns));
            }

            for (int j = 0; j < width; j++)
            {
                float* yj = y + ((long)(j0 + j) * Rows) + r0;
                for (int i = 0; i < rows; i++)
                {
                    yj[i] = tile[(i * TileColumns) + j];
                }
            }
        }
    }

    /// <summary>yr[0:width] = row r of this times x [ColumnCount, width] whose rows are <paramref name="ldx"/> apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Row(int r, float* x, int ldx, int width, float* yr)
    {
        int begin = RowStarts[r], end = RowStarts[r + 1];
        fixed (int* columns = Columns)
        fixed (float* values = Values)
        {
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j + 64 <= width; j += 64)
                {
                    Block512x4(columns, values, begin, end, x + j, yr + j, ldx);
                }

                for (; j + 16 <= width; j += 16)
                {
                    var acc = Vector512<float>.Zero;
                    for (int k = begin; k < end; k++)
                    {
                        acc = Vector512.FusedMultiplyAdd(Vector512.Create(values[k]), Vector512.Load(x + ((long)columns[k] * ldx) + j), acc);
                    }

                    acc.Store(yr + j);
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 8 <= width; j += 8)
                {
                    var acc = Vector256<float>.Zero;
                    for (int k = begin; k < end; k++)
                    {
                        acc = Vector256.FusedMultiplyAdd(Vector256.Create(values[k]), Vector256.Load(x + ((long)columns[k] * ldx) + j), acc);
                    }

                    acc.Store(yr + j);
                }
            }

            if (width == 1 && ldx == 1)
            {
                // One column: a gathered dot product with four independent sums (AVX2 gathers measured no faster).
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int k = begin;
                for (; k + 4 <= end; k += 4)
                {
                    s0 += values[k] * x[columns[k]];
                    s1 += values[k + 1] * x[columns[k + 1]];
                    s2 += values[k + 2] * x[columns[k + 2]];
                    s3 += values[k + 3] * x[columns[k + 3]];
                }

                for (; k < end; k++)
                {
                    s0 += values[k] * x[columns[k]];
                }

                yr[0] = (s0 + s1) + (s2 + s3);
                return;
            }

            for (; j < width; j++)
            {
                float sum = 0;
                for (int k = begin; k < end; k++)
                {
                    sum += values[k] * x[((long)columns[k] * ldx) + j];
                }

                yr[j] = sum;
            }
        }
    }

    /// <summary>yr[0:64] over 4 zmm accumulators that stay in registers for the whole row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block512x4(int* columns, float* values, int begin, int end, float* x, float* yr, int ldx)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int k = begin; k < end; k++)
        {
            var w = Vector512.Create(values[k]);
            float* xk = x + ((long)columns[k] * ldx);
            a0 = Vector512.FusedMultiplyAdd(w, Vector512.Load(xk), a0);
            a1 = Vector512.FusedMultiplyAdd(w, Vector512.Load(xk + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(w, Vector512.Load(xk + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(w, Vector512.Load(xk + 48), a3);
        }

        a0.Store(yr);
        a1.Store(yr + 16);
        a2.Store(yr + 32);
        a3.Store(yr + 48);
    }
}
