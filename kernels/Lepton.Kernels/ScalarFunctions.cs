// The scalar forms of element-wise functions, which GPU kernels are generic over. The tensor library's
// op structs implement these (and add SIMD forms for the CPU), so each function is written once.
namespace Lepton.Kernels;

/// <summary>An element-wise function y = f(x) and its derivative, in scalar form (what a GPU thread runs).</summary>
public interface IScalarUnary
{
    /// <summary>y = f(x).</summary>
    float Apply(float x);

    /// <summary>df/dx given the input x and the output y = f(x).</summary>
    float Derivative(float x, float y);
}

/// <summary>An element-wise function y = f(a, b) in scalar form.</summary>
public interface IScalarBinary
{
    /// <summary>y = f(a, b).</summary>
    float Apply(float a, float b);
}

/// <summary>The counter-based random stream shared by every backend: number i of a seed's stream is a
/// hash of (seed, i), so results never depend on how the work is split across threads or launches.</summary>
public static class CounterRandom
{
    /// <summary>A 64-bit hash of (seed, counter): SplitMix64's finalizer over a mixed key.</summary>
    public static ulong Hash(ulong seed, ulong counter)
    {
        ulong z = (seed * 0x9E3779B97F4A7C15UL) ^ (counter + 0x632BE59BD9B4E019UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A float uniform in [0, 1) from (seed, counter), using the top 24 bits.</summary>
    public static float Uniform(ulong seed, ulong counter) => (Hash(seed, counter) >> 40) * (1.0f / 16777216.0f);

    /// <summary>Element 2p (or 2p+1 when <paramref name="second"/>) of the normal stream: Box-Muller on counters (2p, 2p+1).</summary>
    public static float Normal(ulong seed, ulong pairCounter, bool second)
    {
        float u1 = 1f - Uniform(seed, pairCounter);
        float u2 = Uniform(seed, pairCounter + 1);
        float r = MathF.Sqrt(-2f * MathF.Log(u1));
        float angle = 2f * MathF.PI * u2;
        return second ? r * MathF.Sin(angle) : r * MathF.Cos(angle);
    }
}
