// Gather/scatter, index-select/index-add and counter-based random fills on the CPU.
using System.Runtime.CompilerServices;
using Lepton.Kernels;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gather(DeviceBuffer src, int outer, int srcAxis, int inner, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd)
    {
        float* s = Cpu(src).Pointer, d = Cpu(dst).Pointer;
        int* ix = Cpu(index).As<int>();
        int wrap = negativeFromEnd ? srcAxis : 0;
        CpuParallel.For(outer, (long)indexAxis * inner, (srcAxis, inner, indexAxis, wrap, (nint)s, (nint)ix, (nint)d), static (in (int SrcAxis, int Inner, int IndexAxis, int Wrap, nint S, nint Ix, nint D) state, int o0, int o1) =>
        {
            var (srcAxis, inner, indexAxis, wrap, _, _, _) = state;
            float* s = (float*)state.S, d = (float*)state.D;
            int* ix = (int*)state.Ix;
            for (int o = o0; o < o1; o++)
            {
                for (int j = 0; j < indexAxis; j++)
                {
                    long row = ((long)o * indexAxis) + j;
                    for (int i = 0; i < inner; i++)
                    {
                        int k = FromEnd(ix[(row * inner) + i], wrap);
                        d[(row * inner) + i] = s[((((long)o * srcAxis) + k) * inner) + i];
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ScatterAdd(DeviceBuffer src, int outer, int dstAxis, int inner, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd)
    {
        float* s = Cpu(src).Pointer, d = Cpu(dst).Pointer;
        int* ix = Cpu(index).As<int>();
        int wrap = negativeFromEnd ? dstAxis : 0;
        CpuParallel.For(outer, (long)indexAxis * inner, (dstAxis, inner, indexAxis, wrap, (nint)s, (nint)ix, (nint)d), static (in (int DstAxis, int Inner, int IndexAxis, int Wrap, nint S, nint Ix, nint D) state, int o0, int o1) =>
        {
            var (dstAxis, inner, indexAxis, wrap, _, _, _) = state;
            float* s = (float*)state.S, d = (float*)state.D;
            int* ix = (int*)state.Ix;
            for (int o = o0; o < o1; o++)
            {
                for (int j = 0; j < indexAxis; j++)
                {
                    long row = ((long)o * indexAxis) + j;
                    for (int i = 0; i < inner; i++)
                    {
                        int k = FromEnd(ix[(row * inner) + i], wrap);
                        d[((((long)o * dstAxis) + k) * inner) + i] += s[(row * inner) + i];
                    }
                }
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void IndexSelect(DeviceBuffer src, int outer, int srcAxis, int inner, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd)
    {
        float* s = Cpu(src).Pointer, d = Cpu(dst).Pointer;
        int* ix = Cpu(index).As<int>();
        int wrap = negativeFromEnd ? srcAxis : 0;
        CpuParallel.For(outer * count, inner, (srcAxis, inner, count, wrap, (nint)s, (nint)ix, (nint)d), static (in (int SrcAxis, int Inner, int Count, int Wrap, nint S, nint Ix, nint D) state, int r0, int r1) =>
        {
            var (srcAxis, inner, count, wrap, _, _, _) = state;
            float* s = (float*)state.S, d = (float*)state.D;
            int* ix = (int*)state.Ix;
            for (int r = r0; r < r1; r++)
            {
                int o = r / count, j = r % count;
                long from = ((long)o * srcAxis) + FromEnd(ix[j], wrap);
                new ReadOnlySpan<float>(s + (from * inner), inner).CopyTo(new Span<float>(d + ((long)r * inner), inner));
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void IndexAdd(DeviceBuffer src, int outer, int dstAxis, int inner, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd)
    {
        float* s = Cpu(src).Pointer, d = Cpu(dst).Pointer;
        int* ix = Cpu(index).As<int>();
        int wrap = negativeFromEnd ? dstAxis : 0;
        CpuParallel.For(outer, (long)count * inner, (dstAxis, inner, count, wrap, (nint)s, (nint)ix, (nint)d), static (in (int DstAxis, int Inner, int Count, int Wrap, nint S, nint Ix, nint D) state, int o0, int o1) =>
        {
            var (dstAxis, inner, count, wrap, _, _, _) = state;
            float* s = (float*)state.S, d = (float*)state.D;
            int* ix = (int*)state.Ix;
            for (int o = o0; o < o1; o++)
            {
                for (int j = 0; j < count; j++)
                {
                    float* to = d + ((((long)o * dstAxis) + FromEnd(ix[j], wrap)) * inner);
                    float* from = s + ((((long)o * count) + j) * inner);
                    for (int i = 0; i < inner; i++)
                    {
                        to[i] += from[i];
                    }
                }
            }
        });
    }

    /// <summary>A checked index (the op validated it on the host), negative ones counting back from <paramref name="wrap"/> (the axis's size, or 0 when they are not allowed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int FromEnd(int index, int wrap) => index < 0 ? index + wrap : index;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void RandomUniform(DeviceBuffer dst, int length, ulong seed, ulong start, float low, float high)
    {
        float* d = Cpu(dst).Pointer;
        float range = high - low;
        CpuParallel.For(length, 8, (seed, start, low, range, (nint)d), static (in (ulong Seed, ulong Start, float Low, float Range, nint D) state, int i0, int i1) =>
        {
            var (seed, start, low, range, _) = state;
            float* d = (float*)state.D;
            for (int i = i0; i < i1; i++)
            {
                d[i] = low + (range * Generator.Uniform(seed, start + (ulong)i));
            }
        });
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void RandomNormal(DeviceBuffer dst, int length, ulong seed, ulong start, float mean, float std)
    {
        float* d = Cpu(dst).Pointer;
        int pairs = (length + 1) / 2;
        CpuParallel.For(pairs, 32, (seed, start, mean, std, length, (nint)d), static (in (ulong Seed, ulong Start, float Mean, float Std, int Length, nint D) state, int p0, int p1) =>
        {
            var (seed, start, mean, std, length, _) = state;
            float* d = (float*)state.D;
            for (int p = p0; p < p1; p++)
            {
                ulong c = start + (2 * (ulong)p);
                d[2 * p] = mean + (std * CounterRandom.Normal(seed, c, second: false));
                if ((2 * p) + 1 < length)
                {
                    d[(2 * p) + 1] = mean + (std * CounterRandom.Normal(seed, c, second: true));
                }
            }
        });
    }
}
