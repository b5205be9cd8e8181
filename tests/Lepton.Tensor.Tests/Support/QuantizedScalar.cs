// The int8 contract of IQuantizedKernels written out as plain scalar loops in float32, one operation per step as the
// contract names them: what every backend's bits must equal. Slow and obvious on purpose.
using Lepton.Backends;

namespace Lepton.Tests.Support;

/// <summary>Host-side scalar evaluation of the int8 primitives.</summary>
public static class QuantizedScalar
{
    public static byte[] Quantize(float[] x, float scale, int zeroPoint, DType type)
    {
        var (qmin, qmax) = type == DType.Int8 ? (-127, 127) : (0, 255);
        return Array.ConvertAll(x, v => (byte)Clamp((int)(MathF.Round(v / scale) + zeroPoint), qmin, qmax));
    }

    public static float[] Dequantize(byte[] q, DType type, float scale, int zeroPoint) =>
        Array.ConvertAll(q, v => (float)((type == DType.Int8 ? (sbyte)v : v) - zeroPoint) * scale);

    public static byte[] Requantize(byte[] x, int zeroPointIn, float multiplier, int zeroPointOut) =>
        Array.ConvertAll(x, v => (byte)Clamp((int)(MathF.Round((float)(v - zeroPointIn) * multiplier) + zeroPointOut), 0, 255));

    public static byte[] Add(byte[] a, int za, float ma, byte[] b, int zb, float mb, int zy, bool relu)
    {
        var y = new byte[a.Length];
        for (int i = 0; i < y.Length; i++)
        {
            float pa = (float)(a[i] - za) * ma;
            float pb = (float)(b[i] - zb) * mb;
            float v = pa + pb;
            y[i] = (byte)Clamp((int)(MathF.Round(v) + zy), relu ? zy : 0, 255);
        }

        return y;
    }

    public static float[] FakeQuantize(float[] x, int channels, int inner, float[] scale, float[] zeroPoint, int qmin, int qmax)
    {
        var y = new float[x.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int c = i / inner % channels;
            float q = MathF.Round(x[i] / scale[c]) + zeroPoint[c];
            y[i] = (Math.Clamp(q, qmin, qmax) - zeroPoint[c]) * scale[c];
        }

        return y;
    }

    public static float[] FakeQuantizeBackward(float[] x, float[] dy, int channels, int inner, float[] scale, float[] zeroPoint, int qmin, int qmax)
    {
        var dx = new float[x.Length];
        for (int i = 0; i < dx.Length; i++)
        {
            int c = i / inner % channels;
            float q = MathF.Round(x[i] / scale[c]) + zeroPoint[c];
            dx[i] = q >= qmin && q <= qmax ? dy[i] : 0f;
        }

        return dx;
    }

    public static byte[] MaxPool(in Pool2dGeometry g, byte[] x)
    {
        var y = new byte[g.N * g.C * g.P * g.Q];
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            for (int p = 0; p < g.P; p++)
            {
                for (int q = 0; q < g.Q; q++)
                {
                    int best = 0;
                    for (int i = 0; i < g.KernelH; i++)
                    {
                        for (int j = 0; j < g.KernelW; j++)
                        {
                            int h = (p * g.StrideH) - g.PadTop + (i * g.DilationH), w = (q * g.StrideW) - g.PadLeft + (j * g.DilationW);
                            if (h >= 0 && h < g.H && w >= 0 && w < g.W)
                            {
                                best = Math.Max(best, x[(((plane * g.H) + h) * g.W) + w]);
                            }
                        }
                    }

                    y[(((plane * g.P) + p) * g.Q) + q] = (byte)best;
                }
            }
        }

        return y;
    }

    /// <summary>The requantizing epilogue of one accumulator.</summary>
    public static byte Epilogue(int acc, int[]? bias, float[] multipliers, int zy, bool relu, int channel)
    {
        int v = acc + (bias?[channel] ?? 0);
        return (byte)Clamp((int)MathF.Round((float)v * multipliers[channel]) + zy, relu ? zy : 0, 255);
    }

    public static byte[] Conv2d(in Conv2dGeometry g, byte[] x, int zx, sbyte[] w, int[]? bias, float[] multipliers, int zy, bool relu)
    {
        int cg = g.CPerGroup, kg = g.KPerGroup;
        var y = new byte[g.N * g.K * g.P * g.Q];
        for (int n = 0; n < g.N; n++)
        {
            for (int k = 0; k < g.K; k++)
            {
                for (int p = 0; p < g.P; p++)
                {
                    for (int q = 0; q < g.Q; q++)
                    {
                        int acc = 0;
                        for (int c = 0; c < cg; c++)
                        {
                            for (int r = 0; r < g.R; r++)
                            {
                                for (int s = 0; s < g.S; s++)
                                {
                                    int h = (p * g.StrideH) - g.PadTop + (r * g.DilationH), wc = (q * g.StrideW) - g.PadLeft + (s * g.DilationW);
                                    int xv = h >= 0 && h < g.H && wc >= 0 && wc < g.W ? x[(((((n * g.C) + (k / kg * cg) + c) * g.H) + h) * g.W) + wc] : zx;
                                    acc += w[(((((k * cg) + c) * g.R) + r) * g.S) + s] * (xv - zx);
                                }
                            }
                        }

                        y[(((((n * g.K) + k) * g.P) + p) * g.Q) + q] = Epilogue(acc, bias, multipliers, zy, relu, k);
                    }
                }
            }
        }

        return y;
    }

    public static byte[] Dense(byte[] x, int zx, sbyte[] w, int rows, int depth, int units, int[]? bias, float[] multipliers, int zy, bool relu)
    {
        var y = new byte[rows * units];
        for (int r = 0; r < rows; r++)
        {
            for (int u = 0; u < units; u++)
            {
                int acc = 0;
                for (int d = 0; d < depth; d++)
                {
                    acc += w[(u * depth) + d] * (x[(r * depth) + d] - zx);
                }

                y[(r * units) + u] = Epilogue(acc, bias, multipliers, zy, relu, u);
            }
        }

        return y;
    }

    public static float[] DynamicDense(float[] x, sbyte[] w, float[] weightScales, float[]? bias, int rows, int depth, int units)
    {
        float lo = 0f, hi = 0f;
        foreach (float v in x)
        {
            lo = MathF.Min(lo, v);
            hi = MathF.Max(hi, v);
        }

        float s = (hi - lo) / 255f;
        s = s == 0f ? 1f : s;
        int z = Clamp((int)MathF.Round(-lo / s), 0, 255);
        var y = new float[rows * units];
        for (int r = 0; r < rows; r++)
        {
            for (int u = 0; u < units; u++)
            {
                int acc = 0;
                for (int d = 0; d < depth; d++)
                {
                    int xq = Clamp((int)(MathF.Round(x[(r * depth) + d] / s) + z), 0, 255);
                    acc += w[(u * depth) + d] * (xq - z);
                }

                float product = (float)acc * (s * weightScales[u]);
                y[(r * units) + u] = bias is null ? product : product + bias[u];
            }
        }

        return y;
    }

    private static int Clamp(int value, int low, int high) => Math.Clamp(value, low, high);
}
