// Element-wise unary ops defined once: each struct gives the scalar form, the SIMD form and the
// derivative. Backends run them generically, so Relu is written here and nowhere else.
using System.Numerics;
using Lepton.Kernels;

namespace Lepton.Backends;

/// <summary>An element-wise function with its derivative, in scalar form (what GPU kernels run) and SIMD form.</summary>
public interface IUnaryOp : IScalarUnary
{
    /// <summary>y = f(x) on a SIMD vector.</summary>
    Vector<float> Apply(Vector<float> x);

    /// <summary>df/dx on SIMD vectors.</summary>
    Vector<float> Derivative(Vector<float> x, Vector<float> y);
}

/// <summary>Lane-by-lane fallbacks for ops without a closed SIMD form.</summary>
internal static class Lanes
{
    public static Vector<float> Derivative<TOp>(TOp op, Vector<float> x, Vector<float> y) where TOp : struct, IUnaryOp
    {
        Span<float> xs = stackalloc float[Vector<float>.Count];
        Span<float> ys = stackalloc float[Vector<float>.Count];
        x.CopyTo(xs);
        y.CopyTo(ys);
        for (int i = 0; i < xs.Length; i++)
        {
            xs[i] = op.Derivative(xs[i], ys[i]);
        }

        return new Vector<float>(xs);
    }
}

/// <summary>-x.</summary>
public readonly struct NegOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => -x;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => -x;

    /// <inheritdoc />
    public float Derivative(float x, float y) => -1f;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => new Vector<float>(-1f);
}

/// <summary>|x|; derivative sign(x), 0 at 0.</summary>
public readonly struct AbsOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => MathF.Abs(x);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => Vector.Abs(x);

    /// <inheritdoc />
    public float Derivative(float x, float y) => x > 0 ? 1f : x < 0 ? -1f : 0f;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), -Vector<float>.One, Vector<float>.Zero));
}

/// <summary>e^x.</summary>
public readonly struct ExpOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => MathF.Exp(x);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => Vector.Exp(x);

    /// <inheritdoc />
    public float Derivative(float x, float y) => y;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => y;
}

/// <summary>Natural logarithm.</summary>
public readonly struct LogOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => MathF.Log(x);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => Vector.Log(x);

    /// <inheritdoc />
    public float Derivative(float x, float y) => 1f / x;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector<float>.One / x;
}

/// <summary>Square root.</summary>
public readonly struct SqrtOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => MathF.Sqrt(x);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => Vector.SquareRoot(x);

    /// <inheritdoc />
    public float Derivative(float x, float y) => 0.5f / y;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => new Vector<float>(0.5f) / y;
}

/// <summary>max(x, 0); derivative 1 where x &gt; 0.</summary>
public readonly struct ReluOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => x > 0 ? x : 0f;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => Vector.Max(x, Vector<float>.Zero);

    /// <inheritdoc />
    public float Derivative(float x, float y) => x > 0 ? 1f : 0f;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);
}

/// <summary>x where x &gt; 0, else slope * x.</summary>
public readonly struct LeakyReluOp(float slope) : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => x > 0 ? x : slope * x;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, x * slope);

    /// <inheritdoc />
    public float Derivative(float x, float y) => x > 0 ? 1f : slope;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, new Vector<float>(slope));
}

/// <summary>1 / (1 + e^-x).</summary>
public readonly struct SigmoidOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => 1f / (1f + MathF.Exp(-x));

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

    /// <inheritdoc />
    public float Derivative(float x, float y) => y * (1f - y);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => y * (Vector<float>.One - y);
}

/// <summary>Hyperbolic tangent.</summary>
public readonly struct TanhOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => MathF.Tanh(x);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x)
    {
        // tanh(x) = sign(x) * (1 - 2 / (e^{2|x|} + 1)); |x| is clamped so e^{2|x|} stays finite.
        var ax = Vector.Min(Vector.Abs(x), new Vector<float>(15f));
        var e = Vector.Exp(ax + ax);
        var t = Vector<float>.One - (new Vector<float>(2f) / (e + Vector<float>.One));
        return Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), -t, t);
    }

    /// <inheritdoc />
    public float Derivative(float x, float y) => 1f - (y * y);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector<float>.One - (y * y);
}

/// <summary>Exact GELU: x * Phi(x), with erf from Abramowitz and Stegun 7.1.26 (|error| &lt; 1.5e-7).</summary>
public readonly struct GeluOp : IUnaryOp
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <inheritdoc />
    public float Apply(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x)
    {
        var z = x * InvSqrt2;
        var az = Vector.Abs(z);
        var t = Vector<float>.One / (Vector<float>.One + (az * 0.3275911f));
        var poly = t * (new Vector<float>(0.254829592f) + (t * (new Vector<float>(-0.284496736f) + (t * (new Vector<float>(1.421413741f)
            + (t * (new Vector<float>(-1.453152027f) + (t * 1.061405429f))))))));
        var erfAbs = Vector<float>.One - (poly * Vector.Exp(-(az * az)));
        var erf = Vector.ConditionalSelect(Vector.LessThan(z, Vector<float>.Zero), -erfAbs, erfAbs);
        return x * 0.5f * (Vector<float>.One + erf);
    }

    /// <inheritdoc />
    public float Derivative(float x, float y) =>
        (0.5f * (1f + Erf(x * InvSqrt2))) + (x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x));

    internal static float Erf(float z)
    {
        float az = MathF.Abs(z);
        float t = 1f / (1f + (0.3275911f * az));
        float poly = t * (0.254829592f + (t * (-0.284496736f + (t * (1.421413741f + (t * (-1.453152027f + (t * 1.061405429f))))))));
        float r = 1f - (poly * MathF.Exp(-az * az));
        return z < 0 ? -r : r;
    }

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Lanes.Derivative(this, x, y);
}

/// <summary>log(1 + e^x), computed as max(x, 0) + log(1 + e^-|x|) so it never overflows.</summary>
public readonly struct SoftplusOp : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => MathF.Max(x, 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(x)));

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) =>
        Vector.Max(x, Vector<float>.Zero) + Vector.Log(Vector<float>.One + Vector.Exp(-Vector.Abs(x)));

    /// <inheritdoc />
    public float Derivative(float x, float y) => 1f / (1f + MathF.Exp(-x));

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));
}

/// <summary>x times a constant factor (the product a multiplication by a scalar tensor computes).</summary>
public readonly struct ScaleOp(float factor) : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => x * factor;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) => x * factor;

    /// <inheritdoc />
    public float Derivative(float x, float y) => factor;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => new Vector<float>(factor);
}

/// <summary>x raised to a constant power.</summary>
public readonly struct PowScalarOp(float exponent) : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => exponent == 2f ? x * x : MathF.Pow(x, exponent);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x)
    {
        if (exponent == 2f)
        {
            return x * x;
        }

        Span<float> lanes = stackalloc float[Vector<float>.Count];
        x.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++)
        {
            lanes[i] = MathF.Pow(lanes[i], exponent);
        }

        return new Vector<float>(lanes);
    }

    /// <inheritdoc />
    public float Derivative(float x, float y) =>
        exponent == 2f ? 2f * x : exponent == 0f ? 0f : exponent * MathF.Pow(x, exponent - 1f);

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Lanes.Derivative(this, x, y);
}

/// <summary>min(max(x, low), high); derivative 1 inside [low, high] (as PyTorch).</summary>
public readonly struct ClampOp(float low, float high) : IUnaryOp
{
    /// <inheritdoc />
    public float Apply(float x) => x < low ? low : x > high ? high : x;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x) =>
        Vector.Min(Vector.Max(x, new Vector<float>(low)), new Vector<float>(high));

    /// <inheritdoc />
    public float Derivative(float x, float y) => x >= low && x <= high ? 1f : 0f;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, new Vector<float>(low)) & Vector.LessThanOrEqual(x, new Vector<float>(high)), Vector<float>.One, Vector<float>.Zero);
}

/// <summary>Round to nearest, ties to even (as <see cref="MathF.Round(float)"/>); derivative 0.</summary>
/// <remarks>Adding and subtracting 1.5 * 2^23 rounds in the FPU's default mode (to nearest even) for |x| &lt; 2^22;
/// larger floats are integers already. Plain arithmetic, so every backend computes the same bits.</remarks>
public readonly struct RoundOp : IUnaryOp
{
    private const float Shifter = 12582912f;
    private const float Exact = 4194304f;

    /// <inheritdoc />
    public float Apply(float x) => MathF.Abs(x) < Exact ? (x + Shifter) - Shifter : x;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> x)
    {
        var shifter = new Vector<float>(Shifter);
        return Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<float>(Exact)), (x + shifter) - shifter, x);
    }

    /// <inheritdoc />
    public float Derivative(float x, float y) => 0f;

    /// <inheritdoc />
    public Vector<float> Derivative(Vector<float> x, Vector<float> y) => Vector<float>.Zero;
}
