// Int8 kernels of IQuantizedKernels other than the dense GEMM (QuantizedGemmKernels.cs): quantize, dequantize,
// requantize, quantized add, fake quantization and its gradient, uint8 max pooling, the direct int8 convolution, and
// the per-call range of a dynamically quantized input. Grid-stride loops; every float32 step is the contract's.
namespace Lepton.Kernels;

/// <summary>Sizes of an int8 convolution: x [N,C,H,W], w [K,C/groups,R,S] -> y [N,K,P,Q].</summary>
public struct QuantizedConvShape
{
    /// <summary>The convolution's spatial sizes, strides, top/left padding and dilation.</summary>
    public ConvShape Conv;

    /// <summary>Images, filters, groups, and channels and filters per group.</summary>
    public int N, K, Groups, CPerGroup, KPerGroup;
}

/// <summary>Int8 quantization kernels.</summary>
public static class QuantizedKernels
{
    /// <summary>y[i] = clamp(round(x[i] / scale) + zeroPoint, qmin, qmax), stored as one byte (int8 as two's complement).</summary>
    public static void Quantize(ArrayView<float> x, ArrayView<byte> y, long length, float scale, int zeroPoint, int qmin, int qmax)
    {
        for (long i = Grid.GlobalIndex.X; i < length; i += Grid.DimX * Group.DimX)
        {
            y[i] = (byte)StrictFloat.ToClamped(StrictFloat.Round(x[i] / scale) + zeroPoint, qmin, qmax);
        }
    }

    /// <summary>y[i] = (float)(q[i] - zeroPoint) * scale, q read as int8 when <paramref name="signed"/> != 0, else uint8.</summary>
    public static void Dequantize(ArrayView<byte> q, ArrayView<float> y, long length, int signed, float scale, int zeroPoint)
    {
        for (long i = Grid.GlobalIndex.X; i < length; i += Grid.DimX * Group.DimX)
        {
            int v = signed != 0 ? (sbyte)q[i] : q[i];
            y[i] = (float)(v - zeroPoint) * scale;
        }
    }

    /// <summary>y[i] = clamp(round((float)(x[i] - zeroPointIn) * multiplier) + zeroPointOut, 0, 255); y may be x.</summary>
    public static void Requantize(ArrayView<byte> x, ArrayView<byte> y, long length, int zeroPointIn, float multiplier, int zeroPointOut)
    {
        for (long i = Grid.GlobalIndex.X; i < length; i += Grid.DimX * Group.DimX)
        {
            float v = StrictFloat.ClampRequantized((float)(x[i] - zeroPointIn) * multiplier);
            y[i] = (byte)StrictFloat.Clamp((int)StrictFloat.Round(v) + zeroPointOut, 0, 255);
        }
    }

    /// <summary>y[i] = clamp(round((float)(a - za) * ma + (float)(b - zb) * mb) + zy, relu != 0 ? zy : 0, 255), two
    /// products and one sum, none fused.</summary>
    public static void Add(ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, long length, int za, float ma, int zb, float mb, int zy, int relu)
    {
        int low = relu != 0 ? zy : 0;
        for (long i = Grid.GlobalIndex.X; i < length; i += Grid.DimX * Group.DimX)
        {
            float v = StrictFloat.ClampRequantized(StrictFloat.Add(StrictFloat.Mul(a[i] - za, ma), StrictFloat.Mul(b[i] - zb, mb)));
            y[i] = (byte)StrictFloat.Clamp((int)StrictFloat.Round(v) + zy, low, 255);
        }
    }

    /// <summary>x viewed as [outer, channels, inner]: q = round(x / scale[c]) + zeroPoint[c];
    /// y = (clamp(q, qmin, qmax) - zeroPoint[c]) * scale[c] (=).</summary>
    public static void FakeQuantize(ArrayView<float> x, ArrayView<float> y, long total, int channels, int inner, ArrayView<float> scale, ArrayView<float> zeroPoint, int qmin, int qmax)
    {
        for (long i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int c = (int)(i / inner % channels);
            float s = scale[c], z = zeroPoint[c];
            float q = StrictFloat.Round(x[i] / s) + z;
            float clamped = q < qmin ? qmin : q > qmax ? qmax : q;
            y[i] = (clamped - z) * s;
        }
    }

    /// <summary>dx = dy where qmin &lt;= round(x / scale[c]) + zeroPoint[c] &lt;= qmax, else 0 (=).</summary>
    public static void FakeQuantizeBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, long total, int channels, int inner, ArrayView<float> scale, ArrayView<float> zeroPoint, int qmin, int qmax)
    {
        for (long i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int c = (int)(i / inner % channels);
            float q = StrictFloat.Round(x[i] / scale[c]) + zeroPoint[c];
            dx[i] = q >= qmin && q <= qmax ? dy[i] : 0f;
        }
    }

    /// <summary>Uint8 max pooling, one thread per output; padding never wins (a window of padding only gives 0).</summary>
    public static void MaxPool(ArrayView<byte> x, ArrayView<byte> y, PoolShape g)
    {
        long total = (long)g.Planes * g.P * g.Q;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            g.Window(e, out long plane, out _, out _, out int hs, out int he, out int ws, out int we);
            int best = 0;
            for (int h = hs; h < he; h += g.DilationH)
            {
                for (int w = ws; w < we; w += g.DilationW)
                {
                    int v = x[plane + (h * g.W) + w];
                    best = v > best ? v : best;
                }
            }

            y[e] = (byte)best;
        }
    }

    /// <summary>
    /// Direct int8 convolution, one thread per output (n, k, p, q), q fastest so neighbouring threads read neighbouring
    /// pixels: acc = sum over the group's channels and the taps inside the image of w * (x - zx) in int32 (a padded tap
    /// reads zx and adds nothing), then the epilogue. x uint8 [N,C,H,W], w int8 [K,C/groups,R,S] -> y [N,K,P,Q].
    /// </summary>
    public static void ConvForward<TEpilogue>(ArrayView<byte> x, ArrayView<byte> w, QuantizedConvShape g, TEpilogue epilogue)
        where TEpilogue : struct, IInt8Epilogue
    {
        var s = g.Conv;
        int zx = epilogue.InputZeroPoint;
        long plane = (long)s.H * s.W;
        long total = (long)g.N * g.K * s.P * s.Q;
        int taps = g.CPerGroup * s.R * s.S;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int q = (int)(e % s.Q), p = (int)(e / s.Q % s.P);
            int k = (int)(e / ((long)s.P * s.Q) % g.K), n = (int)(e / ((long)g.K * s.P * s.Q));
            int h0 = (p * s.StrideH) - s.PadH, w0 = (q * s.StrideW) - s.PadW;
            long image = (((long)n * s.C) + (k / g.KPerGroup * g.CPerGroup)) * plane;
            long filter = (long)k * taps;
            int acc = 0;
            for (int c = 0; c < g.CPerGroup; c++)
            {
                long channel = image + (c * plane);
                for (int r = 0; r < s.R; r++)
                {
                    int h = h0 + (r * s.DilationH);
                    if (h < 0 || h >= s.H)
                    {
                        continue;
                    }

                    long row = channel + ((long)h * s.W);
                    long tap = filter + (((c * s.R) + r) * s.S);
                    for (int t = 0; t < s.S; t++)
                    {
                        int col = w0 + (t * s.DilationW);
                        if (col >= 0 && col < s.W)
                        {
                            acc += (sbyte)w[tap + t] * (x[row + col] - zx);
                        }
                    }
                }
            }

            epilogue.Store(e, k, acc);
        }
    }

    /// <summary>
    /// The range of a dynamically quantized input, on one group: lo = min(0, min x), hi = max(0, max x) (NaN
    /// propagating); range[0] = s = (hi - lo) / 255, or 1 where that is 0; range[1] = z = clamp((int)round(-lo / s), 0, 255).
    /// Shared memory: two floats per warp.
    /// </summary>
    public static void DynamicRange(ArrayView<float> x, long length, ArrayView<float> range)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        for (long i = Group.IdxX; i < length; i += Group.DimX)
        {
            float v = x[i];
            lo = float.IsNaN(v) || float.IsNaN(lo) ? float.NaN : MathF.Min(lo, v);
            hi = float.IsNaN(v) || float.IsNaN(hi) ? float.NaN : MathF.Max(hi, v);
        }

        lo = GroupReduce.Extreme(lo, true, scratch);
        hi = GroupReduce.Extreme(hi, false, scratch);
        if (Group.IsFirstThread)
        {
            lo = float.IsNaN(lo) ? float.NaN : MathF.Min(0f, lo);
            hi = float.IsNaN(hi) ? float.NaN : MathF.Max(0f, hi);
            float s = (hi - lo) / 255f;
            s = s == 0f ? 1f : s;
            range[0] = s;
            range[1] = StrictFloat.Clamp((int)StrictFloat.Round(-lo / s), 0, 255);
        }
    }

    /// <summary>xq[i] = clamp(round(x[i] / s) + z, 0, 255) with s = range[0] and z = range[1] from <see cref="DynamicRange"/>.</summary>
    public static void DynamicQuantize(ArrayView<float> x, ArrayView<byte> xq, long length, ArrayView<float> range)
    {
        float s = range[0], z = range[1];
        for (long i = Grid.GlobalIndex.X; i < length; i += Grid.DimX * Group.DimX)
        {
            xq[i] = (byte)StrictFloat.ToClamped(StrictFloat.Round(x[i] / s) + z, 0, 255);
        }
    }
}
