// Max and average pooling. Forward passes run one thread per output; backward passes run one thread per
// input element and gather from the outputs whose windows cover it, so no atomics and a fixed order.
namespace Lepton.Kernels;

/// <summary>Sizes of a pooling: x [N,C,H,W] -> y [N,C,P,Q], with padding per side and the window's taps Dilation apart.</summary>
public struct PoolShape
{
    /// <summary>Planes (N*C), input and output sizes, window, stride, padding and dilation.</summary>
    public int Planes, H, W, P, Q, KernelH, KernelW, StrideH, StrideW, PadTop, PadBottom, PadLeft, PadRight, DilationH, DilationW;

    /// <summary>The divisor of output (p, q) for average pooling (which has no dilation): the window clipped at the
    /// bottom/right padding, or to the image when padding does not count.</summary>
    public readonly float Divisor(int p, int q, int countIncludePad)
    {
        int h0 = (p * StrideH) - PadTop, w0 = (q * StrideW) - PadLeft;
        if (countIncludePad != 0)
        {
            int hEnd = XMin(h0 + KernelH, H + PadBottom), wEnd = XMin(w0 + KernelW, W + PadRight);
            return (hEnd - h0) * (wEnd - w0);
        }

        return (XMin(h0 + KernelH, H) - XMax(h0, 0)) * (XMin(w0 + KernelW, W) - XMax(w0, 0));
    }

    internal static int XMin(int a, int b) => a < b ? a : b;

    internal static int XMax(int a, int b) => a > b ? a : b;

    /// <summary>Output element e's plane start in x, its position (p, q) and its first in-image taps (hs, ws) with ends
    /// past the last (he, we); taps step by the dilation.</summary>
    internal readonly void Window(long e, out long plane, out int p, out int q, out int hs, out int he, out int ws, out int we)
    {
        q = (int)(e % Q);
        p = (int)((e / Q) % P);
        plane = e / ((long)P * Q) * H * W;
        int h0 = (p * StrideH) - PadTop, w0 = (q * StrideW) - PadLeft;
        hs = FirstTap(h0, DilationH);
        he = XMin(h0 + ((KernelH - 1) * DilationH) + 1, H);
        ws = FirstTap(w0, DilationW);
        we = XMin(w0 + ((KernelW - 1) * DilationW) + 1, W);
    }

    /// <summary>The first tap at or after 0 of a window starting at <paramref name="start"/> with taps <paramref name="dilation"/> apart.</summary>
    internal static int FirstTap(int start, int dilation) => start >= 0 ? start : start + ((-start + dilation - 1) / dilation * dilation);

    /// <summary>Input element e's position (h, w), its plane's start in y, and the outputs [p0, p1) x [q0, q1) whose
    /// window's extent covers it (with dilation, not every one of them has a tap on it).</summary>
    internal readonly void Cover(long e, out long outPlane, out int h, out int w, out int p0, out int p1, out int q0, out int q1)
    {
        w = (int)(e % W);
        h = (int)((e / W) % H);
        outPlane = e / ((long)H * W) * P * Q;
        Covering(h, PadTop, ((KernelH - 1) * DilationH) + 1, StrideH, P, out p0, out p1);
        Covering(w, PadLeft, ((KernelW - 1) * DilationW) + 1, StrideW, Q, out q0, out q1);
    }

    /// <summary>First and last+1 output index along one axis whose window covers input position x.</summary>
    internal static void Covering(int x, int pad, int kernel, int stride, int outputs, out int first, out int end)
    {
        // Output o covers [o*stride - pad, o*stride - pad + kernel).
        int lo = x + pad - kernel + 1;
        first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
        end = XMin(((x + pad) / stride) + 1, outputs);
    }
}

/// <summary>Pooling kernels.</summary>
public static class PoolKernels
{
    /// <summary>Max pooling: y and, as int32, the position of each max within its input plane (padding never wins).</summary>
    public static void MaxForward(ArrayView<float> x, ArrayView<float> y, ArrayView<int> indices, PoolShape g)
    {
        long total = (long)g.Planes * g.P * g.Q;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            g.Window(e, out long plane, out int p, out int q, out int hs, out int he, out int ws, out int we);
            float best = float.NegativeInfinity;

            // A window of padding alone (possible with dilation) has no position: -1, which no input matches.
            int bestAt = hs < he && ws < we ? (hs * g.W) + ws : -1;
            for (int h = hs; h < he; h += g.DilationH)
            {
                for (int w = ws; w < we; w += g.DilationW)
                {
                    int at = (h * g.W) + w;
                    float v = x[plane + at];

                    // As on the CPU: a NaN takes the position and stays the maximum.
                    if (v > best || float.IsNaN(v))
                    {
                        bestAt = at;
                    }

                    best = float.IsNaN(best) || float.IsNaN(v) ? float.NaN : MathF.Max(best, v);
                }
            }

            y[e] = best;
            indices[e] = bestAt;
        }
    }

    /// <summary>dx[plane, at] = sum of dy over the outputs whose saved index is at.</summary>
    public static void MaxBackward(ArrayView<float> dy, ArrayView<int> indices, ArrayView<float> dx, PoolShape g)
    {
        long total = (long)g.Planes * g.H * g.W;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            g.Cover(e, out long outPlane, out int h, out int w, out int p0, out int p1, out int q0, out int q1);
            int at = (h * g.W) + w;
            float acc = 0f;
            for (int p = p0; p < p1; p++)
            {
                for (int q = q0; q < q1; q++)
                {
                    long o = outPlane + (p * g.Q) + q;
                    if (indices[o] == at)
                    {
                        acc += dy[o];
                    }
                }
            }

            dx[e] = acc;
        }
    }

    /// <summary>Average pooling forward (dilation 1).</summary>
    public static void AvgForward(ArrayView<float> x, ArrayView<float> y, PoolShape g, int countIncludePad)
    {
        long total = (long)g.Planes * g.P * g.Q;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            g.Window(e, out long plane, out int p, out int q, out int hs, out int he, out int ws, out int we);
            float sum = 0f;
            for (int h = hs; h < he; h++)
            {
                for (int w = ws; w < we; w++)
                {
                    sum += x[plane + (h * g.W) + w];
                }
            }

            y[e] = sum / g.Divisor(p, q, countIncludePad);
        }
    }

    /// <summary>Average pooling backward: each input gathers dy / divisor from the windows covering it.</summary>
    public static void AvgBackward(ArrayView<float> dy, ArrayView<float> dx, PoolShape g, int countIncludePad)
    {
        long total = (long)g.Planes * g.H * g.W;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            g.Cover(e, out long outPlane, out int h, out int w, out int p0, out int p1, out int q0, out int q1);
            float acc = 0f;
            for (int p = p0; p < p1; p++)
            {
                for (int q = q0; q < q1; q++)
                {
                    acc += dy[outPlane + (p * g.Q) + q] / g.Divisor(p, q, countIncludePad);
                }
            }

            dx[e] = acc;
        }
    }
}
