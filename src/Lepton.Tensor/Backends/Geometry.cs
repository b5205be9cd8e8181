// Sizes of the convolution and pooling primitives, computed once by the op and passed to kernels.
namespace Lepton.Backends;

/// <summary>Sizes of a 2-D convolution: x [N,C,H,W], w [K,C/groups,R,S] -> y [N,K,P,Q].</summary>
/// <remarks>PadH/PadW pad the top/left and bottom/right; ExtraPadH/ExtraPadW add to the bottom/right only
/// (TensorFlow-style "same" padding when the total is odd).</remarks>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W, int K, int R, int S,
    int StrideH, int StrideW, int PadH, int PadW, int DilationH, int DilationW, int Groups,
    int ExtraPadH = 0, int ExtraPadW = 0)
{
    /// <summary>Output height.</summary>
    public int P => ((H + (2 * PadH) + ExtraPadH - (DilationH * (R - 1)) - 1) / StrideH) + 1;

    /// <summary>Output width.</summary>
    public int Q => ((W + (2 * PadW) + ExtraPadW - (DilationW * (S - 1)) - 1) / StrideW) + 1;

    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;

    /// <summary>Output channels per group.</summary>
    public int KPerGroup => K / Groups;
}

/// <summary>Sizes of a 2-D pooling: x [N,C,H,W] -> y [N,C,P,Q]; padding as in <see cref="Conv2dGeometry"/>.</summary>
public readonly record struct Pool2dGeometry(
    int N, int C, int H, int W, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadH, int PadW, int ExtraPadH = 0, int ExtraPadW = 0)
{
    /// <summary>Output height.</summary>
    public int P => ((H + (2 * PadH) + ExtraPadH - KernelH) / StrideH) + 1;

    /// <summary>Output width.</summary>
    public int Q => ((W + (2 * PadW) + ExtraPadW - KernelW) / StrideW) + 1;
}

/// <summary>A strided batched GEMM: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b], row-major.</summary>
/// <remarks>op(A) is M x K, op(B) is K x N, C is M x N with leading dimension Ldc.
/// TransA means A is stored K x M (so op(A) = A^T).</remarks>
public readonly record struct GemmArgs(
    bool TransA, bool TransB, int M, int N, int K, float Alpha,
    DeviceBuffer A, int OffsetA, int Lda, long BatchStrideA,
    DeviceBuffer B, int OffsetB, int Ldb, long BatchStrideB,
    float Beta, DeviceBuffer C, int OffsetC, int Ldc, long BatchStrideC, int Batch = 1);

/// <summary>What a reduction computes along its axis.</summary>
public enum ReduceKind
{
    /// <summary>Sum of the elements.</summary>
    Sum,

    /// <summary>Largest element.</summary>
    Max,

    /// <summary>Smallest element.</summary>
    Min,

    /// <summary>Index of the first largest element.</summary>
    ArgMax,

    /// <summary>Index of the first smallest element.</summary>
    ArgMin,
}
