// The oracle for IQuantizedKernels: every method on host arrays, each float32 step of the contract replayed as
// one float64 operation rounded once to float32 (exact: float64 holds a float32 product, and rounds a float32
// sum or quotient correctly before the second rounding), integer steps in int32/int64, rounding half to even.
using Lepton.Backends;

namespace Lepton.Tests.Support;

public static class QuantizedReference
{
    /// <summary>Round half to even of a float32 value, as MathF.Round.</summary>
    public static double RoundEven(double v) => Math.Round(v, MidpointRounding.ToEven);

    /// <summary>The float32 product, sum and quotient, each one float64 step rounded once to float32.</summary>
    public static float Mul(float a, float b) => (float)((double)a * b);

    public static float Add(float a, float b) => (float)((double)a + b);

    public static float Sub(float a, float b) => (float)((double)a - b);

    public static float Div(float a, float b) => (float)((double)a / b);

    /// <summary>The requantizing epilogue: clamp(round((float)v * m) + zy, relu ? zy : 0, 255).</summary>
    public static byte Epilogue(int v, float multiplier, int zy, bool relu)
    {
        double r = RoundEven(Mul((float)(double)v, multiplier)) + zy;
        return (byte)Math.Clamp(r, relu ? zy : 0, 255);
    }

    public static int[] QuantizeToInts(float[] x, float scale, int zeroPoint, DType type)
    {
        (int lo, int hi) = type == DType.UInt8 ? (0, 255) : (-127, 127);
        var y = new int[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double q = Add((float)RoundEven(Div(x[i], scale)), zeroPoint);
            y[i] = (int)Math.Clamp(q, lo, hi);
        }

        return y;
    }

    public static float[] Dequantize(int[] q, float scale, int zeroPoint)
    {
        var y = new float[q.Length];
        for (int i = 0; i < q.Length; i++)
        {
            y[i] = Mul(q[i] - zeroPoint, scale);
        }

        return y;
    }

    public static byte[] Requantize(byte[] x, int zeroPointIn, float multiplier, int zeroPointOut)
    {
        var y = new byte[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = (byte)Math.Clamp(RoundEven(Mul(x[i] - zeroPointIn, multiplier)) + zeroPointOut, 0, 255);
        }

        return y;
    }

    public static byte[] Add(byte[] a, int za, float ma, byte[] b, int zb, float mb, int zy, bool relu)
    {
        var y = new byte[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            float v = Add(Mul(a[i] - za, ma), Mul(b[i] - zb, mb));
            y[i] = (byte)Math.Clamp(RoundEven(v) + zy, relu ? zy : 0, 255);
        }

        return y;
    }

    /// <summary>x [N,C,H,W] uint8, w [K,C/groups,R,S] int8 -> y [N,K,P,Q] uint8.</summary>
    public static byte[] Conv2d(in Conv2dGeometry g, byte[] x, int zx, sbyte[] w, int[]? bias, float[] multipliers, int zy, bool relu)
    {
        int p = g.P, q = g.Q, cg = g.CPerGroup, kg = g.KPerGroup;
        var y = new byte[g.N * g.K * p * q];
        for (int n = 0; n < g.N; n++)
        {
            for (int k = 0; k < g.K; k++)
            {
                int group = k / kg;
                for (int op = 0; op < p; op++)
                {
                    for (int oq = 0; oq < q; oq++)
                    {
                        int acc = 0;
                        for (int c = 0; c < cg; c++)
                        {
                            for (int r = 0; r < g.R; r++)
                            {
                                int iy = (op * g.StrideH) - g.PadTop + (r * g.DilationH);
                                for (int s = 0; s < g.S; s++)
                                {
                                    int ix = (oq * g.StrideW) - g.PadLeft + (s * g.DilationW);
                                    int xv = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W
                                        ? x[((((n * g.C) + (group * cg) + c) * g.H) + iy) * g.W + ix] : zx;
                                    acc += w[(((((k * cg) + c) * g.R) + r) * g.S) + s] * (xv - zx);
                                }
                            }
                        }

                        int v = unchecked(acc + (bias?[k] ?? 0));
                        y[(((n * g.K) + k) * p + op) * q + oq] = Epilogue(v, multipliers[k], zy, relu);
                    }
                }
            }
        }

        return y;
    }

    /// <summary>x [rows, depth] uint8, w [units, depth] int8 -> y [rows, units] uint8.</summary>
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

                y[(r * units) + u] = Epilogue(unchecked(acc + (bias?[u] ?? 0)), multipliers[u], zy, relu);
            }
        }

        return y;
    }

    /// <summary>Dynamically quantized dense layer: x [rows, depth] float32, w [units, depth] int8 -> y [rows, units] float32.</summary>
    public static float[] DynamicDense(float[] x, sbyte[] w, float[] weightScales, float[]? bias, int rows, int depth, int units)
    {
        float lo = 0, hi = 0;
        foreach (float v in x)
        {
            lo = Math.Min(lo, v);
            hi = Math.Max(hi, v);
        }

        float s = Div(Sub(hi, lo), 255f);
        if (s == 0)
        {
            s = 1;
        }

        int z = (int)Math.Clamp(RoundEven(Div(-lo, s)), 0, 255);
        var xq = new int[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            xq[i] = (int)Math.Clamp(Add((float)RoundEven(Div(x[i], s)), z), 0, 255);
        }

        var y = new float[rows * units];
        for (int r = 0; r < rows; r++)
        {
            for (int u = 0; u < units; u++)
            {
                long acc = 0;
                for (int d = 0; d < depth; d++)
                {
                    acc += w[(u * depth) + d] * (xq[(r * depth) + d] - z);
                }

                float product = Mul((float)(double)acc, Mul(s, weightScales[u]));
                y[(r * units) + u] = bias is null ? product : Add(product, bias[u]);
            }
        }

        return y;
    }

    /// <summary>Uint8 max pooling; padding never wins and an all-padding window gives 0.</summary>
    public static byte[] MaxPool2d(in Pool2dGeometry g, byte[] x)
    {
        int p = g.P, q = g.Q;
        var y = new byte[g.N * g.C * p * q];
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            for (int op = 0; op < p; op++)
            {
                for (int oq = 0; oq < q; oq++)
                {
                    int best = 0;
                    for (int r = 0; r < g.KernelH; r++)
                    {
                        int iy = (op * g.StrideH) - g.PadTop + (r * g.DilationH);
                        for (int s = 0; s < g.KernelW; s++)
                        {
                            int ix = (oq * g.StrideW) - g.PadLeft + (s * g.DilationW);
                            if (iy >= 0 && iy < g.H && ix >= 0 && ix < g.W)
                            {
                                best = Math.Max(best, x[(((plane * g.H) + iy) * g.W) + ix]);
                            }
                        }
                    }

                    y[(((plane * p) + op) * q) + oq] = (byte)best;
                }
            }
        }

        return y;
    }

    /// <summary>The unclamped quantized value of fake quantization: round(x / scale) + zeroPoint in float32.</summary>
    public static float FakeQuantizeLevel(float x, float scale, float zeroPoint) => Add((float)RoundEven(Div(x, scale)), zeroPoint);

    public static float[] FakeQuantize(float[] x, int outer, int channels, int inner, float[] scale, float[] zeroPoint, int qmin, int qmax)
    {
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / inner % channels;
            float q = Math.Clamp(FakeQuantizeLevel(x[i], scale[c], zeroPoint[c]), qmin, qmax);
            y[i] = Mul(Sub(q, zeroPoint[c]), scale[c]);
        }

        return y;
    }

    public static float[] FakeQuantizeBackward(float[] x, float[] dy, int outer, int channels, int inner, float[] scale, float[] zeroPoint, int qmin, int qmax)
    {
        var dx = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / inner % channels;
            float q = FakeQuantizeLevel(x[i], scale[c], zeroPoint[c]);
            dx[i] = q >= qmin && q <= qmax ? dy[i] : 0f;
        }

        return dx;
    }
}
