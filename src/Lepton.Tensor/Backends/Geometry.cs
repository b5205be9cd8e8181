// Sizes of the convolution and pooling primitives, computed once by the op and passed to kernels.
namespace Lepton.Backends;

/// <summary>Sizes of a 2-D convolution: x [N,C,H,W], w [K,C/groups,R,S] -> y [N,K,P,Q].</summary>
/// <remarks>Each side has its own zero padding; kernels read the top/left amounts to place the windows, and the
/// bottom/right amounts only set the output size (a negative one crops the output, as the CPU's chunked paths do).</remarks>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W, int K, int R, int S,
    int StrideH, int StrideW, int PadTop, int PadBottom, int PadLeft, int PadRight, int DilationH, int DilationW, int Groups)
{
    /// <summary>Output height.</summary>
    public int P => ((H + PadTop + PadBottom - (DilationH * (R - 1)) - 1) / StrideH) + 1;

    /// <summary>Output width.</summary>
    public int Q => ((W + PadLeft + PadRight - (DilationW * (S - 1)) - 1) / StrideW) + 1;

    /// <summary>Input channels per group.</summary>
    public int CPerGroup => C / Groups;

    /// <summary>Output channels per group.</summary>
    public int KPerGroup => K / Groups;
}

/// <summary>Sizes of a 2-D pooling: x [N,C,H,W] -> y [N,C,P,Q]; padding per side as in <see cref="Conv2dGeometry"/>.</summary>
/// <remarks>Window (p, q) starts at row p * StrideH - PadTop and takes KernelH rows DilationH apart (likewise for columns).
/// With <see cref="CeilMode"/> the output size rounds up (PyTorch's ceil_mode): a last, partial window is kept when it
/// starts inside the input or the top/left padding; average pooling clips every window at the bottom/right padding.</remarks>
public readonly record struct Pool2dGeometry(
    int N, int C, int H, int W, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadTop, int PadBottom, int PadLeft, int PadRight,
    int DilationH = 1, int DilationW = 1, bool CeilMode = false)
{
    /// <summary>Output height.</summary>
    public int P => OutputSize(H, KernelH, StrideH, PadTop, PadBottom, DilationH, CeilMode);

    /// <summary>Output width.</summary>
    public int Q => OutputSize(W, KernelW, StrideW, PadLeft, PadRight, DilationW, CeilMode);

    /// <summary>Outputs along one axis, as PyTorch's pooling_output_shape with separate before/after padding.</summary>
    private static int OutputSize(int size, int kernel, int stride, int before, int after, int dilation, bool ceil)
    {
        int span = size + before + after - (dilation * (kernel - 1)) - 1;
        int outputs = ((ceil ? span + stride - 1 : span) / stride) + 1;

        // The last window must start inside the input or the padding before it.
        return ceil && (long)(outputs - 1) * stride >= size + before ? outputs - 1 : outputs;
    }
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

    /// <summary>Index of the largest element (the first, or the last with <c>selectLastIndex</c>); typed reductions only.</summary>
    ArgMax,

    /// <summary>Index of the smallest element (the first, or the last with <c>selectLastIndex</c>); typed reductions only.</summary>
    ArgMin,
}
