// Packing uint8 operands into the panel layout of Int8Gemm: a convolution's im2col matrix written panel by panel
// (padding reads the input's zero point), and the rows of a dense layer's input, as bytes or quantized from float32.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lepton.Backends.Cpu;

/// <summary>Writers of <see cref="Int8Gemm"/>'s B panels: [panel][quad][<see cref="Int8Gemm.Nr"/>][4] bytes.</summary>
internal static unsafe class Int8Packing
{
    /// <summary>
    /// Packs the im2col matrix of one image and group: B[d, j] = x[c, p * strideH - padTop + r * dilationH,
    /// q * strideW - padLeft + s * dilationW] for d = (c, r, s) over the group's channels and j = p * Q + q, or
    /// <paramref name="zx"/> outside the image; depth rows past the end are 0 (their weights are 0).
    /// </summary>
    /// <param name="g">The convolution.</param>
    /// <param name="x">The group's first input channel of the image: [C/groups, H, W].</param>
    /// <param name="zx">The input's zero point.</param>
    /// <param name="rows">Scratch of 4 * PaddedColumns(P * Q) bytes.</param>
    /// <param name="b">The panels: PaddedColumns(P * Q) * 4 * Quads(depth) bytes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackConvolution(in Conv2dGeometry g, byte* x, int zx, byte* rows, byte* b)
    {
        int pq = g.P * g.Q, cols = Int8Gemm.PaddedColumns(pq), taps = g.R * g.S, depth = g.CPerGroup * taps;
        int quads = Int8Gemm.Quads(depth);
        nint panelStride = (nint)quads * Int8Gemm.PanelQuadBytes;
        long plane = (long)g.H * g.W;
        for (int quad = 0; quad < quads; quad++)
        {
            for (int t = 0; t < 4; t++)
            {
                int d = (4 * quad) + t;
                byte* row = rows + (t * cols);
                if (d >= depth)
                {
                    new Span<byte>(row, cols).Clear();
                    continue;
                }

                int c = d / taps, r = d / g.S % g.R, s = d % g.S;
                Im2colRow(g, x + (c * plane), zx, r, s, row);
                new Span<byte>(row + pq, cols - pq).Clear();
            }

            Interleave(rows, cols, b + (quad * Int8Gemm.PanelQuadBytes), panelStride);
        }
    }

    /// <summary>
    /// Writes one image's group of channels for the direct convolution: planes of 4 channels, [ceil(C/groups / 4)][plane]
    /// with 4 bytes per element. Element (py, px) of a plane, for py &lt; <paramref name="hp"/> and px &lt; <paramref name="wp"/>
    /// (at py * wp + px), holds its channels at input pixel (py - padTop, px - padLeft): <paramref name="zx"/> outside the
    /// image, 0 for channels past the group's; the rest of each plane of <paramref name="planeElements"/> elements is 0.
    /// </summary>
    /// <param name="g">The convolution.</param>
    /// <param name="x">The group's first input channel of the image: [C/groups, H, W].</param>
    /// <param name="zx">The input's zero point.</param>
    /// <param name="hp">Padded rows: P + (R - 1) * dilationH.</param>
    /// <param name="wp">Padded columns: Q + (S - 1) * dilationW.</param>
    /// <param name="planeElements">Elements per plane, at least hp * wp.</param>
    /// <param name="rows">Scratch of 4 * (wp rounded up to 16) bytes.</param>
    /// <param name="dst">The planes.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackChannelQuads(in Conv2dGeometry g, byte* x, int zx, int hp, int wp, int planeElements, byte* rows, byte* dst)
    {
        int cg = g.CPerGroup, rowLength = (wp + 15) & ~15;
        int lo = Math.Clamp(g.PadLeft, 0, wp), hi = Math.Clamp(g.PadLeft + g.W, lo, wp);
        long plane = (long)g.H * g.W;
        for (int cq = 0; cq < (cg + 3) / 4; cq++)
        {
            byte* planeStart = dst + ((long)cq * planeElements * 4);
            for (int py = 0; py < hp; py++)
            {
                int iy = py - g.PadTop;
                for (int t = 0; t < 4; t++)
                {
                    int c = (4 * cq) + t;
                    var row = new Span<byte>(rows + (t * rowLength), wp);
                    if (c >= cg)
                    {
                        row.Clear();
                    }
                    else if (iy < 0 || iy >= g.H)
                    {
                        row.Fill((byte)zx);
                    }
                    else
                    {
                        row[..lo].Fill((byte)zx);
                        row[hi..].Fill((byte)zx);
                        new ReadOnlySpan<byte>(x + (c * plane) + ((long)iy * g.W) + (lo - g.PadLeft), hi - lo).CopyTo(row[lo..hi]);
                    }
                }

                InterleaveContiguous(rows, rowLength, wp, planeStart + ((long)py * wp * 4));
            }

            new Span<byte>(planeStart + ((long)hp * wp * 4), (planeElements - (hp * wp)) * 4).Clear();
        }
    }

    /// <summary>
    /// Packs rows [0, count) of x [count, depth] as B's columns: B[d, r] = x[r, d], zero past the depth and in the
    /// last panel's columns past <paramref name="count"/>. Writes panels [firstPanel, endPanel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackRows(byte* x, int count, int depth, byte* b, int firstPanel, int endPanel)
    {
        nint panelStride = (nint)Int8Gemm.Quads(depth) * Int8Gemm.PanelQuadBytes;
        for (int panel = firstPanel; panel < endPanel; panel++)
        {
            for (int j = 0; j < Int8Gemm.Nr; j++)
            {
                int r = (panel * Int8Gemm.Nr) + j;
                PackColumn(r < count ? x + ((long)r * depth) : null, depth, b + (panel * panelStride) + (j * 4));
            }
        }
    }

    /// <summary>
    /// Quantizes rows [0, count) of float32 x [count, depth] with scale <paramref name="scale"/> and zero point
    /// <paramref name="z"/> (clamp(round(x / scale) + z, 0, 255), the float32 division as written) and packs them as
    /// <see cref="PackRows"/> does. Writes panels [firstPanel, endPanel); <paramref name="row"/> is scratch of depth bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeRows(float* x, int count, int depth, float scale, int z, byte* row, byte* b, int firstPanel, int endPanel)
    {
        nint panelStride = (nint)Int8Gemm.Quads(depth) * Int8Gemm.PanelQuadBytes;
        for (int panel = firstPanel; panel < endPanel; panel++)
        {
            for (int j = 0; j < Int8Gemm.Nr; j++)
            {
                int r = (panel * Int8Gemm.Nr) + j;
                if (r < count)
                {
                    QuantizeToBytes(x + ((long)r * depth), depth, scale, z, 0, 255, row);
                }

                PackColumn(r < count ? row : null, depth, b + (panel * panelStride) + (j * 4));
            }
        }
    }

    /// <summary>y[i] = clamp(round(x[i] / scale) + zeroPoint, lo, hi) as bytes (signed ones for an int8 range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeToBytes(float* x, int length, float scale, int zeroPoint, int lo, int hi, byte* y)
    {
        // Clamped as floats before the conversion, so that huge values and infinities saturate.
        float flo = lo - zeroPoint, fhi = hi - zeroPoint;
        int i = 0;
        if (Avx2.IsSupported)
        {
            var scaleV = Vector256.Create(scale);
            var loV = Vector256.Create(flo);
            var hiV = Vector256.Create(fhi);
            var zV = Vector256.Create(zeroPoint);
            for (; i <= length - 8; i += 8)
            {
                var q = Avx.RoundToNearestInteger(Avx.Divide(Avx.LoadVector256(x + i), scaleV));
                var v = Avx.ConvertToVector256Int32(Avx.Min(Avx.Max(q, loV), hiV)) + zV;
                var bytes = Vector128.Narrow(Vector128.Narrow(v.GetLower(), v.GetUpper()), Vector128<short>.Zero);
                *(long*)(y + i) = bytes.AsInt64().ToScalar();
            }
        }

        for (; i < length; i++)
        {
            float q = Math.Clamp(MathF.Round(x[i] / scale), flo, fhi);
            y[i] = (byte)((int)q + zeroPoint);
        }
    }

    /// <summary>Writes one column of a panel from <paramref name="src"/>'s depth bytes (zero past the depth), or zeros
    /// when <paramref name="src"/> is null.</summary>
    private static void PackColumn(byte* src, int depth, byte* col)
    {
        int quads = Int8Gemm.Quads(depth), full = src is null ? 0 : depth / 4;
        for (int q = 0; q < full; q++)
        {
            *(int*)(col + (q * Int8Gemm.PanelQuadBytes)) = Unsafe.ReadUnaligned<int>(src + (4 * q));
        }

        for (int q = full; q < quads; q++)
        {
            int word = 0;
            for (int t = 0; src is not null && t < 4 && (4 * q) + t < depth; t++)
            {
                word |= src[(4 * q) + t] << (8 * t);
            }

            *(int*)(col + (q * Int8Gemm.PanelQuadBytes)) = word;
        }
    }

    /// <summary>Row (c, r, s) of the im2col matrix over all P * Q outputs.</summary>
    private static void Im2colRow(in Conv2dGeometry g, byte* plane, int zx, int r, int s, byte* row)
    {
        int x0 = (s * g.DilationW) - g.PadLeft, sw = g.StrideW, q = g.Q;
        int qlo = Math.Min(x0 >= 0 ? 0 : (-x0 + sw - 1) / sw, q);
        int qhi = Math.Clamp(g.W - x0 <= 0 ? 0 : (g.W - x0 + sw - 1) / sw, qlo, q);
        for (int p = 0; p < g.P; p++)
        {
            byte* dst = row + (p * q);
            int iy = (p * g.StrideH) - g.PadTop + (r * g.DilationH);
            if (iy < 0 || iy >= g.H)
            {
                new Span<byte>(dst, q).Fill((byte)zx);
                continue;
            }

            byte* src = plane + ((long)iy * g.W) + x0;
            new Span<byte>(dst, qlo).Fill((byte)zx);
            new Span<byte>(dst + qhi, q - qhi).Fill((byte)zx);
            if (sw == 1)
            {
                new ReadOnlySpan<byte>(src + qlo, qhi - qlo).CopyTo(new Span<byte>(dst + qlo, qhi - qlo));
            }
            else
            {
                for (int j = qlo; j < qhi; j++)
                {
                    dst[j] = src[j * sw];
                }
            }
        }
    }

    /// <summary>Interleaves four rows of <paramref name="cols"/> bytes into one quad of every panel: 4 bytes per column.</summary>
    private static void Interleave(byte* rows, int cols, byte* b, nint panelStride)
    {
        byte* r0 = rows, r1 = rows + cols, r2 = rows + (2 * cols), r3 = rows + (3 * cols);
        int j = 0;
        if (Sse2.IsSupported)
        {
            for (; j < cols; j += 16)
            {
                byte* dst = b + ((j / Int8Gemm.Nr) * panelStride) + (j % Int8Gemm.Nr * 4);
                Interleave16(r0 + j, r1 + j, r2 + j, r3 + j, dst);
            }
        }

        for (; j < cols; j++)
        {
            byte* dst = b + ((j / Int8Gemm.Nr) * panelStride) + (j % Int8Gemm.Nr * 4);
            dst[0] = r0[j];
            dst[1] = r1[j];
            dst[2] = r2[j];
            dst[3] = r3[j];
        }
    }

    /// <summary>Interleaves sixteen bytes of each of four rows into 64 bytes at <paramref name="dst"/>: byte j of the rows
    /// r0, r1, r2, r3 lands at dst[4j .. 4j + 3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave16(byte* r0, byte* r1, byte* r2, byte* r3, byte* dst)
    {
        var v0 = Sse2.LoadVector128(r0);
        var v1 = Sse2.LoadVector128(r1);
        var v2 = Sse2.LoadVector128(r2);
        var v3 = Sse2.LoadVector128(r3);
        var lo01 = Sse2.UnpackLow(v0, v1).AsInt16();
        var hi01 = Sse2.UnpackHigh(v0, v1).AsInt16();
        var lo23 = Sse2.UnpackLow(v2, v3).AsInt16();
        var hi23 = Sse2.UnpackHigh(v2, v3).AsInt16();
        Sse2.Store((short*)dst, Sse2.UnpackLow(lo01, lo23).AsInt16());
        Sse2.Store((short*)(dst + 16), Sse2.UnpackHigh(lo01, lo23).AsInt16());
        Sse2.Store((short*)(dst + 32), Sse2.UnpackLow(hi01, hi23).AsInt16());
        Sse2.Store((short*)(dst + 48), Sse2.UnpackHigh(hi01, hi23).AsInt16());
    }

    /// <summary>Interleaves the first <paramref name="count"/> bytes of four rows <paramref name="rowLength"/> apart into
    /// 4 * count contiguous bytes.</summary>
    private static void InterleaveContiguous(byte* rows, int rowLength, int count, byte* dst)
    {
        byte* r0 = rows, r1 = rows + rowLength, r2 = rows + (2 * rowLength), r3 = rows + (3 * rowLength);
        int j = 0;
        if (Sse2.IsSupported)
        {
            for (; j <= count - 16; j += 16)
            {
                Interleave16(r0 + j, r1 + j, r2 + j, r3 + j, dst + (4 * j));
            }
        }

        for (; j < count; j++)
        {
            byte* d = dst + (4 * j);
            d[0] = r0[j];
            d[1] = r1[j];
            d[2] = r2[j];
            d[3] = r3[j];
        }
    }
}
