// Convolution as im2col + GEMM: im2col lays a chunk of images out as a column matrix
// [C*R*S, images*P*Q] for the GEMM kernel; col2im is its adjoint, written as a gather (each input pixel
// sums the column entries that read it), so the backward pass needs no atomics.
namespace Lepton.Kernels;

/// <summary>Sizes of a convolution: x [N,C,H,W], w [K,C/groups,R,S] -> y [N,K,P,Q].</summary>
public struct ConvShape
{
    /// <summary>Input channels and size, filter size, output size, strides, padding (top/left) and dilation.</summary>
    public int C, H, W, R, S, P, Q, StrideH, StrideW, PadH, PadW, DilationH, DilationW;
}

/// <summary>Column-matrix kernels for convolution.</summary>
public static class Conv2dKernels
{
    /// <summary>col[(c*R + r)*S + s, n*P*Q + p*Q + q] = x[firstImage + n, c, p*sh - ph + r*dh, q*sw - pw + s*dw], 0 outside.</summary>
    public static void Im2Col(ArrayView<float> x, ArrayView<float> col, ConvShape g, int firstImage, int images)
    {
        int pq = g.P * g.Q;
        long columns = (long)images * pq;
        long total = (long)g.C * g.R * g.S * columns;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long row = e / columns;
            long column = e % columns;
            int n = (int)(column / pq), at = (int)(column % pq);
            int p = at / g.Q, q = at % g.Q;
            int s = (int)(row % g.S), r = (int)(row / g.S % g.R), c = (int)(row / ((long)g.R * g.S));
            int h = (p * g.StrideH) - g.PadH + (r * g.DilationH);
            int w = (q * g.StrideW) - g.PadW + (s * g.DilationW);
            bool inside = h >= 0 && h < g.H && w >= 0 && w < g.W;
            col[e] = inside ? x[((((long)(firstImage + n) * g.C) + c) * g.H * g.W) + (h * g.W) + w] : 0f;
        }
    }

    /// <summary>dx[firstImage + n, c, h, w] = sum of the col entries Im2Col would read from it (=).</summary>
    public static void Col2Im(ArrayView<float> col, ArrayView<float> dx, ConvShape g, int firstImage, int images)
    {
        int pq = g.P * g.Q;
        long columns = (long)images * pq;
        long total = (long)images * g.C * g.H * g.W;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int w = (int)(e % g.W), h = (int)(e / g.W % g.H);
            int c = (int)(e / ((long)g.H * g.W) % g.C), n = (int)(e / ((long)g.C * g.H * g.W));
            float acc = 0f;
            for (int r = 0; r < g.R; r++)
            {
                int ph = h + g.PadH - (r * g.DilationH);
                if (ph < 0 || ph % g.StrideH != 0 || ph / g.StrideH >= g.P)
                {
                    continue;
                }

                int p = ph / g.StrideH;
                for (int s = 0; s < g.S; s++)
                {
                    int pw = w + g.PadW - (s * g.DilationW);
                    if (pw < 0 || pw % g.StrideW != 0 || pw / g.StrideW >= g.Q)
                    {
                        continue;
                    }

                    long row = (((long)c * g.R) + r) * g.S + s;
                    acc += col[(row * columns) + ((long)n * pq) + (p * g.Q) + (pw / g.StrideW)];
                }
            }

            dx[((long)firstImage * g.C * g.H * g.W) + e] = acc;
        }
    }
}
