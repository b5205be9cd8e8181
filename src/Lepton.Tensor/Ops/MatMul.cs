// Matrix product with NumPy/PyTorch semantics: 1-D operands are promoted, batch dimensions broadcast,
// and operands whose last two dims are a transposed view are passed to GEMM as transposed (no copy).
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Matrix product a @ b, batched and broadcast over leading dimensions.</summary>
    /// <example><code>var y = x.MatMul(w.T); // [N, in] x [in, out]</code></example>
    public Tensor MatMul(Tensor other)
    {
        if (AnyHalf(this, other))
        {
            // 16-bit operands multiply in float32 with float32 accumulation; the product has the promoted type.
            return Narrowed(Widened.MatMul(other.Widened), DType.Promote(other.DType));
        }

        CheckFloat("MatMul");
        other.CheckFloat("MatMul");
        CheckSameDevice("MatMul", this, other);
        if (Rank == 0 || other.Rank == 0)
        {
            throw new ArgumentException($"MatMul: both operands need at least one dimension, got {Shapes.Format(shape)} and {Shapes.Format(other.shape)}.");
        }

        if (Rank == 1 || other.Rank == 1)
        {
            // Promote a vector to a matrix (a row on the left, a column on the right), then drop that dim.
            var product = (Rank == 1 ? Unsqueeze(0) : this).MatMul(other.Rank == 1 ? other.Unsqueeze(1) : other);
            if (other.Rank == 1)
            {
                product = product.Squeeze(-1);
            }

            return Rank == 1 ? product.Squeeze(other.Rank == 1 ? -1 : -2) : product;
        }

        int m = shape[^2], k = shape[^1], n = other.shape[^1];
        if (other.shape[^2] != k)
        {
            throw new ArgumentException(
                $"MatMul: shapes {Shapes.Format(shape)} and {Shapes.Format(other.shape)} do not match ({k} columns vs {other.shape[^2]} rows).");
        }

        if (Rank == 2 && other.Rank == 2)
        {
            return MatMul2d(this, other);
        }

        var batchShape = Shapes.Broadcast("MatMul", shape[..^2], other.shape[..^2]);
        var outShape = new int[batchShape.Length + 2];
        batchShape.CopyTo(outShape, 0);
        outShape[^2] = m;
        outShape[^1] = n;
        CheckProductSize(outShape, this, other);
        var y = Empty(outShape, Device);
        int batch = Shapes.Numel(batchShape);
        if (batch == 0 || m == 0 || n == 0)
        {
            y.Backend.Fill(y.Buffer, 0, y.Numel, 0f);
        }
        else
        {
            using var a = AsGemmOperand(batchShape, out bool transA, out int lda, out long strideA);
            using var b = other.AsGemmOperand(batchShape, out bool transB, out int ldb, out long strideB);
            Backend.Gemm(new GemmArgs(
                transA, transB, m, n, k, 1f,
                a.Buffer, a.Offset, lda, strideA,
                b.Buffer, b.Offset, ldb, strideB,
                0f, y.Buffer, 0, n, (long)m * n, batch));
        }

        var left = this;
        return Record(y, "MatMulBackward", [this, other], g =>
            [left.RequiresGrad ? g.MatMul(other.Transpose(-1, -2)).SumToShape(left.shape) : null,
             other.RequiresGrad ? left.Transpose(-1, -2).MatMul(g).SumToShape(other.shape) : null]);
    }

    /// <summary>
    /// The product of two matrices with the same GEMM calls the batched path makes, but no batch bookkeeping: the
    /// operands go to GEMM as they lie, and the backward's transposes are GEMM flags instead of view tensors.
    /// </summary>
    private static Tensor MatMul2d(Tensor a, Tensor b)
    {
        int m = a.shape[0], k = a.shape[1], n = b.shape[1];
        CheckProductSize([m, n], a, b);
        var y = Empty([m, n], a.Device);
        Gemm2d(a, false, b, false, y);
        return Record(y, "MatMulBackward", [a, b], g =>
        {
            Tensor? da = null, db = null;
            if (a.RequiresGrad)
            {
                da = Empty([m, k], g.Device);
                Gemm2d(g, false, b, true, da);
            }

            if (b.RequiresGrad)
            {
                db = Empty([k, n], g.Device);
                Gemm2d(a, true, g, false, db);
            }

            return [da, db];
        });
    }

    /// <summary>Throws when the product of <paramref name="a"/> and <paramref name="b"/> would have too many elements.</summary>
    private static void CheckProductSize(ReadOnlySpan<int> outShape, Tensor a, Tensor b)
    {
        if (!Shapes.IsValidSize(outShape))
        {
            throw Shapes.SizeError("MatMul", outShape, $" (the product of {Shapes.Format(a.shape)} and {Shapes.Format(b.shape)})");
        }
    }

    /// <summary>y = op(a) op(b) for matrices, op a transpose where asked; y is dense and fully written.</summary>
    internal static void Gemm2d(Tensor a, bool transposeA, Tensor b, bool transposeB, Tensor y)
    {
        int m = y.shape[0], n = y.shape[1], k = transposeA ? a.shape[0] : a.shape[1];
        if (m == 0 || n == 0)
        {
            y.Backend.Fill(y.Buffer, 0, y.Numel, 0f);
            return;
        }

        var (bufferA, offsetA, transA, lda, copyA) = a.GemmMatrix(transposeA);
        var (bufferB, offsetB, transB, ldb, copyB) = b.GemmMatrix(transposeB);
        y.Backend.Gemm(new GemmArgs(transA, transB, m, n, k, 1f, bufferA, offsetA, lda, 0, bufferB, offsetB, ldb, 0, 0f, y.Buffer, 0, n, (long)m * n));
        copyA?.Dispose();
        copyB?.Dispose();
    }

    /// <summary>
    /// How GEMM reads this matrix (or its transpose): in place when its strides allow it, else from a dense copy of
    /// the requested orientation, returned as <c>Copy</c> for the caller to dispose.
    /// </summary>
    private (DeviceBuffer Buffer, int Offset, bool Transposed, int Ld, Tensor? Copy) GemmMatrix(bool transpose)
    {
        int rows = shape[0], cols = shape[1], rs = strides[0], cs = strides[1];
        if (transpose)
        {
            (rows, cols, rs, cs) = (cols, rows, cs, rs);
        }

        if (GemmLayout(rows, cols, rs, cs, out bool transposed, out int ld))
        {
            return (Buffer, Offset, transposed, ld, null);
        }

        var dense = Empty([rows, cols], Device);
        Backend.Copy(new StridedView(Buffer, Offset, [rows, cols], [rs, cs]), dense.View);
        return (dense.Buffer, 0, false, cols, dense);
    }

    /// <summary>
    /// Whether GEMM can read a rows x cols matrix with these strides directly: row-major (<paramref name="transposed"/>
    /// false) or column-major (true), with its leading dimension.
    /// </summary>
    private static bool GemmLayout(int rows, int cols, int rs, int cs, out bool transposed, out int ld)
    {
        bool rowMajor = (cs == 1 || cols == 1) && (rows == 1 || rs >= cols);
        bool colMajor = !rowMajor && (rs == 1 || rows == 1) && (cols == 1 || cs >= rows);
        transposed = colMajor;
        ld = Math.Max(1, rowMajor ? (rows == 1 ? cols : rs) : (cols == 1 ? rows : cs));
        return rowMajor || colMajor;
    }

    /// <summary>
    /// A tensor whose last two dims GEMM can read directly (row-major or transposed) with one uniform
    /// batch stride over <paramref name="batchShape"/>; a dense copy when the layout does not allow it.
    /// </summary>
    private Tensor AsGemmOperand(int[] batchShape, out bool transposed, out int ld, out long batchStride)
    {
        int rows = shape[^2], cols = shape[^1];
        int rs = strides[^2], cs = strides[^1];
        var fullShape = new int[batchShape.Length + 2];
        batchShape.CopyTo(fullShape, 0);
        fullShape[^2] = rows;
        fullShape[^1] = cols;
        var fullStrides = Shapes.BroadcastStrides(shape, strides, fullShape);
        if (GemmLayout(rows, cols, rs, cs, out transposed, out ld) && UniformBatchStride(fullShape, fullStrides, out batchStride))
        {
            return ViewAs(shape, strides, Offset);
        }

        var dense = Empty(fullShape, Device);
        Backend.Copy(new StridedView(Buffer, Offset, fullShape, fullStrides), dense.View);
        transposed = false;
        ld = cols;
        batchStride = (long)rows * cols;
        return dense;
    }

    /// <summary>True when the batch dims (all but the last two) step by one constant stride in row-major order.</summary>
    private static bool UniformBatchStride(int[] fullShape, int[] fullStrides, out long stride)
    {
        stride = 0;
        int batchRank = fullShape.Length - 2;
        long expected = -1;
        for (int d = batchRank - 1; d >= 0; d--)
        {
            if (fullShape[d] == 1)
            {
                continue;
            }

            if (expected < 0)
            {
                stride = fullStrides[d];
                expected = (long)fullStrides[d] * fullShape[d];
                continue;
            }

            if (fullStrides[d] != expected)
            {
                return false;
            }

            expected *= fullShape[d];
        }

        return true;
    }
}
