// The CPU backend: SIMD element-wise loops driven by the op structs, split across cores for large
// work. This file holds memory, copies and element-wise kernels; the other families are partials.
// Kernel methods with loops are marked AggressiveOptimization: a training step calls each only a few
// times, so under tiered compilation they ran as unoptimized code (SIMD helpers not even inlined) for
// the first few dozen steps of a training run, several times longer than with the attribute.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

/// <summary>Runs every primitive on the host with SIMD and multiple threads.</summary>
public sealed unsafe partial class CpuBackend : IBackend, IFusedKernels
{
    /// <summary>Creates the backend with its own buffer pool, sized from the memory this process may use.</summary>
    public CpuBackend()
    {
        Pool = new BufferPool(
            n => new CpuBuffer(n),
            _ => { },
            maxCachedBytes: BufferPool.HostBudget(2L << 30, 4),
            collectThresholdBytes: Math.Max(BufferPool.MinCollectBytes, BufferPool.HostBudget(256L << 20, 8)));
        KernelWarmup.Start();
    }

    /// <inheritdoc />
    public string Name => "cpu";

    /// <inheritdoc />
    public BufferPool Pool { get; }

    /// <inheritdoc />
    public bool ValidatesIndices => false;

    /// <summary>Threads used by CPU kernels (defaults to LEPTON_NUM_THREADS or the core count).</summary>
    public static int Threads
    {
        get => CpuParallel.Threads;
        set => CpuParallel.Threads = value;
    }

    /// <inheritdoc />
    public DeviceBuffer Allocate(int length) => Pool.Rent(length);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> src, DeviceBuffer dst, int dstOffset) =>
        src.CopyTo(Cpu(dst).Span[dstOffset..]);

    /// <inheritdoc />
    public void Download(DeviceBuffer src, int srcOffset, Span<float> dst) =>
        Cpu(src).Span.Slice(srcOffset, dst.Length).CopyTo(dst);

    /// <inheritdoc />
    public void Fill(DeviceBuffer dst, int offset, int length, float value) =>
        Cpu(dst).Span.Slice(offset, length).Fill(value);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Copy(in StridedView src, in StridedView dst)
    {
        var loop = new StridedLoop(src.Shape, src.Strides, dst.Strides);
        float* s = Cpu(src.Buffer).Pointer + src.Offset;
        float* d = Cpu(dst.Buffer).Pointer + dst.Offset;
        CpuParallel.For(loop.RowCount, loop.RowLength, (loop, (nint)s, (nint)d), static (in (StridedLoop Loop, nint S, nint D) c, int r0, int r1) =>
        {
            int n = c.Loop.RowLength, ss = c.Loop.InnerStride(0), ds = c.Loop.InnerStride(1);
            for (int r = r0; r < r1; r++)
            {
                float* sp = (float*)c.S + c.Loop.RowOffset(0, r);
                float* dp = (float*)c.D + c.Loop.RowOffset(1, r);
                if (ss == 1 && ds == 1)
                {
                    new ReadOnlySpan<float>(sp, n).CopyTo(new Span<float>(dp, n));
                }
                else
                {
                    for (int i = 0; i < n; i++)
                    {
                        dp[i * ds] = sp[i * ss];
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Unary<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, int length) where TOp : struct, IUnaryOp
    {
        CpuParallel.For(length, 4, (op, (nint)Cpu(x).Pointer, (nint)Cpu(y).Pointer), static (in (TOp Op, nint X, nint Y) s, int start, int end) =>
        {
            float* xp = (float*)s.X, yp = (float*)s.Y;
            var op = s.Op;
            int w = Vector<float>.Count;
            int i = start;
            for (; i <= end - w; i += w)
            {
                op.Apply(Vector.Load(xp + i)).Store(yp + i);
            }

            for (; i < end; i++)
            {
                yp[i] = op.Apply(xp[i]);
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void UnaryBackward<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int length)
        where TOp : struct, IUnaryOp
    {
        var state = (op, (nint)Cpu(x).Pointer, (nint)Cpu(y).Pointer, (nint)Cpu(dy).Pointer, (nint)Cpu(dx).Pointer);
        CpuParallel.For(length, 4, state, static (in (TOp Op, nint X, nint Y, nint Dy, nint Dx) s, int start, int end) =>
        {
            float* xp = (float*)s.X, yp = (float*)s.Y, gp = (float*)s.Dy, dp = (float*)s.Dx;
            var op = s.Op;
            int w = Vector<float>.Count;
            int i = start;
            for (; i <= end - w; i += w)
            {
                (Vector.Load(gp + i) * op.Derivative(Vector.Load(xp + i), Vector.Load(yp + i))).Store(dp + i);
            }

            for (; i < end; i++)
            {
                dp[i] = gp[i] * op.Derivative(xp[i], yp[i]);
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Binary<TOp>(TOp op, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape) where TOp : struct, IBinaryOp
    {
        var loop = StridedLoop.WithDenseOutput(shape, a.Strides, b.Strides);
        float* ap = Cpu(a.Buffer).Pointer + a.Offset;
        float* bp = Cpu(b.Buffer).Pointer + b.Offset;
        float* yp = Cpu(y).Pointer;
        if (loop.RowCount == 1)
        {
            // One long row: split the row itself across threads.
            var row = (op, (nint)ap, loop.InnerStride(0), (nint)bp, loop.InnerStride(1), (nint)yp);
            CpuParallel.For(loop.RowLength, 1, row, static (in (TOp Op, nint A, int Sa, nint B, int Sb, nint Y) s, int start, int end) =>
                BinaryRow(s.Op, (float*)s.A + (start * s.Sa), s.Sa, (float*)s.B + (start * s.Sb), s.Sb, (float*)s.Y + start, end - start));
            return;
        }

        CpuParallel.For(loop.RowCount, loop.RowLength, (op, loop, (nint)ap, (nint)bp, (nint)yp), static (in (TOp Op, StridedLoop Loop, nint A, nint B, nint Y) s, int r0, int r1) =>
        {
            int n = s.Loop.RowLength, sa = s.Loop.InnerStride(0), sb = s.Loop.InnerStride(1);
            for (int r = r0; r < r1; r++)
            {
                BinaryRow(s.Op, (float*)s.A + s.Loop.RowOffset(0, r), sa, (float*)s.B + s.Loop.RowOffset(1, r), sb, (float*)s.Y + s.Loop.RowOffset(2, r), n);
            }
        });
    }

    internal static CpuBuffer Cpu(DeviceBuffer buffer) =>
        buffer as CpuBuffer ?? throw new ArgumentException($"The CPU backend was given a buffer of another device ({buffer.GetType().Name}).");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BinaryRow<TOp>(TOp op, float* a, int sa, float* b, int sb, float* y, int n) where TOp : struct, IBinaryOp
    {
        int w = Vector<float>.Count;
        int i = 0;
        if (sa == 1 && sb == 1)
        {
            for (; i <= n - w; i += w)
            {
                op.Apply(Vector.Load(a + i), Vector.Load(b + i)).Store(y + i);
            }
        }
        else if (sa == 1 && sb == 0)
        {
            var bv = new Vector<float>(*b);
            for (; i <= n - w; i += w)
            {
                op.Apply(Vector.Load(a + i), bv).Store(y + i);
            }
        }
        else if (sa == 0 && sb == 1)
        {
            var av = new Vector<float>(*a);
            for (; i <= n - w; i += w)
            {
                op.Apply(av, Vector.Load(b + i)).Store(y + i);
            }
        }

        for (; i < n; i++)
        {
            y[i] = op.Apply(a[i * sa], b[i * sb]);
        }
    }
}
