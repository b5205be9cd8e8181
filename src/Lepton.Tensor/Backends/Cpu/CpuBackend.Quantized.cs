// The int8 kernels of IQuantizedKernels on the CPU that work element by element or plane by plane: quantize,
// dequantize, requantize, quantized add, uint8 max pooling and fake quantization; plus the argument checks
// every quantized kernel shares. The convolution and dense layers are in CpuBackend.QuantizedGemm.cs.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend : IQuantizedKernels
{
    /// <summary>Elements per work item of the element-wise loops (the lengths are 64-bit, the loops' counts are not).</summary>
    private const int QuantizedBlock = 1 << 14;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Quantize(DeviceBuffer x, long length, float scale, int zeroPoint, DType type, DeviceBuffer y)
    {
        const string op = nameof(Quantize);
        var (lo, hi) = QuantizedArguments.Range(type, op);
        QuantizedArguments.Scale(scale, op);
        QuantizedArguments.ZeroPoint(zeroPoint, lo, hi, op, nameof(zeroPoint));
        float* xp = (float*)Sized(x, length, 4, op, nameof(x));
        byte* yp = Sized(y, length, 1, op, nameof(y));
        ForBlocks(length, 8, (length, scale, zeroPoint, lo, hi, (nint)xp, (nint)yp), static (in (long Length, float Scale, int Zero, int Lo, int Hi, nint X, nint Y) s, long start, long end) =>
            Int8Packing.QuantizeToBytes((float*)s.X + start, (int)(end - start), s.Scale, s.Zero, s.Lo, s.Hi, (byte*)s.Y + start));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Dequantize(DeviceBuffer q, DType type, long length, float scale, int zeroPoint, DeviceBuffer y)
    {
        const string op = nameof(Dequantize);
        var (lo, hi) = QuantizedArguments.Range(type, op);
        QuantizedArguments.ZeroPoint(zeroPoint, lo, hi, op, nameof(zeroPoint));
        byte* qp = Sized(q, length, 1, op, nameof(q));
        float* yp = (float*)Sized(y, length, 4, op, nameof(y));
        ForBlocks(length, 2, (type == DType.Int8, scale, zeroPoint, (nint)qp, (nint)yp), static (in (bool Signed, float Scale, int Zero, nint Q, nint Y) s, long start, long end) =>
        {
            float* y = (float*)s.Y;
            if (s.Signed)
            {
                sbyte* q = (sbyte*)s.Q;
                for (long i = start; i < end; i++)
                {
                    y[i] = (float)(q[i] - s.Zero) * s.Scale;
                }
            }
            else
            {
                byte* q = (byte*)s.Q;
                for (long i = start; i < end; i++)
                {
                    y[i] = (float)(q[i] - s.Zero) * s.Scale;
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Requantize(DeviceBuffer x, long length, int zeroPointIn, float multiplier, int zeroPointOut, DeviceBuffer y)
    {
        const string op = nameof(Requantize);
        QuantizedArguments.ZeroPoint(zeroPointIn, 0, 255, op, nameof(zeroPointIn));
        QuantizedArguments.ZeroPoint(zeroPointOut, 0, 255, op, nameof(zeroPointOut));
        QuantizedArguments.Scale(multiplier, op, nameof(multiplier));
        byte* xp = Sized(x, length, 1, op, nameof(x)), yp = Sized(y, length, 1, op, nameof(y));
        ForBlocks(length, 4, (zeroPointIn, multiplier, zeroPointOut, (nint)xp, (nint)yp), static (in (int Zin, float M, int Zout, nint X, nint Y) s, long start, long end) =>
        {
            byte* x = (byte*)s.X, y = (byte*)s.Y;
            for (long i = start; i < end; i++)
            {
                float p = Math.Clamp((float)(x[i] - s.Zin) * s.M, -512f, 512f);
                y[i] = (byte)Math.Clamp((int)MathF.Round(p) + s.Zout, 0, 255);
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void QuantizedAdd(DeviceBuffer a, int za, float ma, DeviceBuffer b, int zb, float mb, long length, int zy, bool relu, DeviceBuffer y)
    {
        const string op = nameof(QuantizedAdd);
        QuantizedArguments.ZeroPoint(za, 0, 255, op, nameof(za));
        QuantizedArguments.ZeroPoint(zb, 0, 255, op, nameof(zb));
        QuantizedArguments.ZeroPoint(zy, 0, 255, op, nameof(zy));
        QuantizedArguments.Scale(ma, op, nameof(ma));
        QuantizedArguments.Scale(mb, op, nameof(mb));
        byte* ap = Sized(a, length, 1, op, nameof(a)), bp = Sized(b, length, 1, op, nameof(b)), yp = Sized(y, length, 1, op, nameof(y));
        var state = (za, ma, zb, mb, zy, relu ? zy : 0, (nint)ap, (nint)bp, (nint)yp);
        ForBlocks(length, 6, state, static (in (int Za, float Ma, int Zb, float Mb, int Zy, int Lo, nint A, nint B, nint Y) s, long start, long end) =>
        {
            byte* a = (byte*)s.A, b = (byte*)s.B, y = (byte*)s.Y;
            for (long i = start; i < end; i++)
            {
                float pa = (float)(a[i] - s.Za) * s.Ma;
                float pb = (float)(b[i] - s.Zb) * s.Mb;
                float v = Math.Clamp(pa + pb, -512f, 512f);
                y[i] = (byte)Math.Clamp((int)MathF.Round(v) + s.Zy, s.Lo, 255);
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void QuantizedMaxPool2d(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y)
    {
        const string op = nameof(QuantizedMaxPool2d);
        QuantizedArguments.Check(g.N >= 0 && g.C >= 0 && g.H > 0 && g.W > 0 && g.KernelH > 0 && g.KernelW > 0 && g.StrideH > 0 && g.StrideW > 0
            && g.DilationH > 0 && g.DilationW > 0 && g.P > 0 && g.Q > 0, op, $"invalid pooling {g}.");
        long planes = (long)g.N * g.C;
        byte* xp = Sized(x, planes * g.H * g.W, 1, op, nameof(x)), yp = Sized(y, planes * g.P * g.Q, 1, op, nameof(y));
        QuantizedArguments.Check(planes <= int.MaxValue, op, $"{planes} planes are more than one call takes.");
        var geo = g;
        CpuParallel.For((int)planes, (long)g.P * g.Q * g.KernelH * g.KernelW, (geo, (nint)xp, (nint)yp), static (in (Pool2dGeometry G, nint X, nint Y) s, int start, int end) =>
        {
            var g = s.G;
            int p = g.P, q = g.Q;
            bool pairs = g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.PadTop == 0 && g.PadLeft == 0
                && g.DilationH == 1 && g.DilationW == 1 && 2 * p <= g.H && 2 * q <= g.W;
            for (int plane = start; plane < end; plane++)
            {
                byte* x = (byte*)s.X + ((long)plane * g.H * g.W);
                byte* y = (byte*)s.Y + ((long)plane * p * q);
                if (pairs)
                {
                    MaxPoolPairs(x, g.W, p, q, y);
                    continue;
                }

                for (int oy = 0; oy < p; oy++)
                {
                    for (int ox = 0; ox < q; ox++)
                    {
                        int best = 0;
                        for (int r = 0; r < g.KernelH; r++)
                        {
                            int iy = (oy * g.StrideH) - g.PadTop + (r * g.DilationH);
                            if ((uint)iy >= (uint)g.H)
                            {
                                continue;
                            }

                            for (int t = 0; t < g.KernelW; t++)
                            {
                                int ix = (ox * g.StrideW) - g.PadLeft + (t * g.DilationW);
                                if ((uint)ix < (uint)g.W)
                                {
                                    best = Math.Max(best, x[(iy * g.W) + ix]);
                                }
                            }
                        }

                        y[(oy * q) + ox] = (byte)best;
                    }
                }
            }
        });
    }

    /// <summary>
    /// 2x2 windows at stride 2 over one plane whose windows all lie inside it, without a data-dependent branch: the
    /// larger of two rows, sixteen bytes at a time, then of each pair of neighbouring bytes (a pair read as one 16-bit
    /// lane, low and high byte). Row ends go through small buffers so no load reads past the plane.
    /// </summary>
    private static void MaxPoolPairs(byte* x, int width, int p, int q, byte* y)
    {
        if (!Vector128.IsHardwareAccelerated)
        {
            for (int oy = 0; oy < p; oy++, y += q)
            {
                byte* top = x + (2L * oy * width), bottom = top + width;
                for (int ox = 0; ox < q; ox++)
                {
                    int a = Math.Max(top[2 * ox], top[(2 * ox) + 1]), b = Math.Max(bottom[2 * ox], bottom[(2 * ox) + 1]);
                    y[ox] = (byte)Math.Max(a, b);
                }
            }

            return;
        }

        int padded = (width + 15) & ~15;
        byte* rows = stackalloc byte[padded + 16];
        byte* outs = stackalloc byte[(padded / 2) + 16];
        byte* ends = stackalloc byte[32];
        var low = Vector128.Create((ushort)0xFF);
        int whole = width & ~15, rest = width - whole;
        for (int oy = 0; oy < p; oy++, y += q)
        {
            byte* top = x + (2L * oy * width), bottom = top + width;
            for (int c = 0; c < whole; c += 16)
            {
                Vector128.Max(Vector128.Load(top + c), Vector128.Load(bottom + c)).Store(rows + c);
            }

            if (rest > 0)
            {
                Unsafe.CopyBlockUnaligned(ends, top + whole, (uint)rest);
                Unsafe.CopyBlockUnaligned(ends + 16, bottom + whole, (uint)rest);
                Vector128.Max(Vector128.Load(ends), Vector128.Load(ends + 16)).Store(rows + whole);
            }

            for (int ox = 0; ox < q; ox += 8)
            {
                var pairs = Vector128.Load(rows + (2 * ox)).AsUInt16();
                var larger = Vector128.Max(pairs & low, Vector128.ShiftRightLogical(pairs, 8));
                Vector128.Narrow(larger, larger).Store(outs + ox);
            }

            Unsafe.CopyBlockUnaligned(y, outs, (uint)q);
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FakeQuantize(DeviceBuffer x, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer y)
    {
        const string op = nameof(FakeQuantize);
        long length = QuantizedArguments.FakeQuantize(outer, channels, inner, qmin, qmax, op);
        float* xp = (float*)Sized(x, length, 4, op, nameof(x)), yp = (float*)Sized(y, length, 4, op, nameof(y));
        float* sp = (float*)Sized(scale, channels, 4, op, nameof(scale)), zp = (float*)Sized(zeroPoint, channels, 4, op, nameof(zeroPoint));
        var state = (channels, inner, (float)qmin, (float)qmax, (nint)xp, (nint)sp, (nint)zp, (nint)yp);
        ForBlocks(length, 6, state, static (in (int Channels, int Inner, float Qmin, float Qmax, nint X, nint S, nint Z, nint Y) s, long start, long end) =>
        {
            float* x = (float*)s.X, y = (float*)s.Y, scales = (float*)s.S, zeros = (float*)s.Z;
            for (long i = start; i < end; i++)
            {
                int c = (int)(i / s.Inner % s.Channels);
                float sc = scales[c], z = zeros[c];
                float q = Math.Clamp(MathF.Round(x[i] / sc) + z, s.Qmin, s.Qmax);
                y[i] = (q - z) * sc;
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FakeQuantizeBackward(DeviceBuffer x, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer scale, DeviceBuffer zeroPoint, int qmin, int qmax, DeviceBuffer dx)
    {
        const string op = nameof(FakeQuantizeBackward);
        long length = QuantizedArguments.FakeQuantize(outer, channels, inner, qmin, qmax, op);
        float* xp = (float*)Sized(x, length, 4, op, nameof(x)), gp = (float*)Sized(dy, length, 4, op, nameof(dy));
        float* dp = (float*)Sized(dx, length, 4, op, nameof(dx));
        float* sp = (float*)Sized(scale, channels, 4, op, nameof(scale)), zp = (float*)Sized(zeroPoint, channels, 4, op, nameof(zeroPoint));
        var state = (channels, inner, (float)qmin, (float)qmax, (nint)xp, (nint)gp, (nint)sp, (nint)zp, (nint)dp);
        ForBlocks(length, 6, state, static (in (int Channels, int Inner, float Qmin, float Qmax, nint X, nint Dy, nint S, nint Z, nint Dx) s, long start, long end) =>
        {
            float* x = (float*)s.X, dy = (float*)s.Dy, dx = (float*)s.Dx, scales = (float*)s.S, zeros = (float*)s.Z;
            for (long i = start; i < end; i++)
            {
                int c = (int)(i / s.Inner % s.Channels);
                float q = MathF.Round(x[i] / scales[c]) + zeros[c];
                dx[i] = q >= s.Qmin && q <= s.Qmax ? dy[i] : 0f;
            }
        });
    }

    /// <summary>Elements [start, end) of a 64-bit loop, with the loop's state.</summary>
    private delegate void LongRangeBody<TState>(in TState state, long start, long end);

    /// <summary>Runs body over [0, length) in blocks of <see cref="QuantizedBlock"/> elements, split across threads.</summary>
    private static void ForBlocks<TState>(long length, long workPerElement, in TState state, LongRangeBody<TState> body)
    {
        int blocks = (int)((length + QuantizedBlock - 1) / QuantizedBlock);
        CpuParallel.For(blocks, workPerElement * QuantizedBlock, (state, length, body), static (in (TState State, long Length, LongRangeBody<TState> Body) s, int b0, int b1) =>
            s.Body(in s.State, (long)b0 * QuantizedBlock, Math.Min(s.Length, (long)b1 * QuantizedBlock)));
    }

    /// <summary>The buffer's first byte, after checking that it holds <paramref name="count"/> elements of <paramref name="size"/> bytes.</summary>
    private static byte* Sized(DeviceBuffer buffer, long count, int size, string op, string name)
    {
        QuantizedArguments.Sized(buffer, count, size, op, name);
        return Cpu(buffer).Base;
    }
}
