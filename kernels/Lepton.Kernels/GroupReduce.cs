// Reductions across the threads of one group: warp shuffles inside each warp, then one value per warp
// through shared memory. Written against Warp.WarpSize, so they hold for CUDA's 32 and ILGPU-CPU's 4.
namespace Lepton.Kernels;

/// <summary>Group-wide reductions. <c>scratch</c> is shared memory of at least two floats per warp;
/// every thread of the group must call, and every thread receives the result.</summary>
internal static class GroupReduce
{
    public static float Sum(float value, ArrayView<float> scratch)
    {
        for (int delta = Warp.WarpSize / 2; delta > 0; delta /= 2)
        {
            value += Warp.ShuffleDown(value, delta);
        }

        if (Warp.IsFirstLane)
        {
            scratch[Warp.WarpIdx] = value;
        }

        Group.Barrier();
        float total = 0f;
        int warps = Group.DimX / Warp.WarpSize;
        for (int w = 0; w < warps; w++)
        {
            total += scratch[w];
        }

        Group.Barrier();
        return total;
    }

    /// <summary>NaN-propagating maximum (or minimum when <paramref name="min"/>).</summary>
    public static float Extreme(float value, bool min, ArrayView<float> scratch)
    {
        for (int delta = Warp.WarpSize / 2; delta > 0; delta /= 2)
        {
            value = Pick(value, Warp.ShuffleDown(value, delta), min);
        }

        if (Warp.IsFirstLane)
        {
            scratch[Warp.WarpIdx] = value;
        }

        Group.Barrier();
        float result = scratch[0];
        int warps = Group.DimX / Warp.WarpSize;
        for (int w = 1; w < warps; w++)
        {
            result = Pick(result, scratch[w], min);
        }

        Group.Barrier();
        return result;
    }

    /// <summary>Combines per-thread online softmax state (running max m, sum of exp(x - m)) across the group.</summary>
    public static void MaxSumExp(ref float max, ref float sum, ArrayView<float> scratch)
    {
        for (int delta = Warp.WarpSize / 2; delta > 0; delta /= 2)
        {
            float otherMax = Warp.ShuffleDown(max, delta);
            float otherSum = Warp.ShuffleDown(sum, delta);
            Merge(ref max, ref sum, otherMax, otherSum);
        }

        int warps = Group.DimX / Warp.WarpSize;
        if (Warp.IsFirstLane)
        {
            scratch[Warp.WarpIdx] = max;
            scratch[warps + Warp.WarpIdx] = sum;
        }

        Group.Barrier();
        max = scratch[0];
        sum = scratch[warps];
        for (int w = 1; w < warps; w++)
        {
            Merge(ref max, ref sum, scratch[w], scratch[warps + w]);
        }

        Group.Barrier();
    }

    /// <summary>Adds x to online softmax state (max, sum of exp(x - max)).</summary>
    public static void Accumulate(ref float max, ref float sum, float x)
    {
        if (x > max)
        {
            sum = (sum * MathF.Exp(max - x)) + 1f;
            max = x;
        }
        else if (x != float.NegativeInfinity)
        {
            sum += MathF.Exp(x - max);
        }
    }

    private static void Merge(ref float max, ref float sum, float otherMax, float otherSum)
    {
        if (otherSum == 0f)
        {
            return;
        }

        if (sum == 0f)
        {
            max = otherMax;
            sum = otherSum;
            return;
        }

        float m = MathF.Max(max, otherMax);
        sum = (sum * MathF.Exp(max - m)) + (otherSum * MathF.Exp(otherMax - m));
        max = m;
    }

    private static float Pick(float a, float b, bool min)
    {
        if (float.IsNaN(a) || float.IsNaN(b))
        {
            return float.NaN;
        }

        return min ? MathF.Min(a, b) : MathF.Max(a, b);
    }
}
