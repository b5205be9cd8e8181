// Element-wise binary ops defined once, scalar and SIMD. Gradients of binary ops are composed
// from other ops in Ops/Binary.cs, so these carry no derivative.
using System.Numerics;
using Lepton.Kernels;

namespace Lepton.Backends;

/// <summary>An element-wise function of two inputs, in scalar form (what GPU kernels run) and SIMD form.</summary>
public interface IBinaryOp : IScalarBinary
{
    /// <summary>y = f(a, b) on SIMD vectors.</summary>
    Vector<float> Apply(Vector<float> a, Vector<float> b);
}

/// <summary>a + b.</summary>
public readonly struct AddOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => a + b;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a + b;
}

/// <summary>a - b.</summary>
public readonly struct SubOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => a - b;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a - b;
}

/// <summary>a * b.</summary>
public readonly struct MulOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => a * b;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a * b;
}

/// <summary>a / b.</summary>
public readonly struct DivOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => a / b;

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => a / b;
}

/// <summary>max(a, b); NaN propagates.</summary>
public readonly struct MaximumOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => MathF.Max(a, b);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => Vector.Max(a, b);
}

/// <summary>min(a, b); NaN propagates.</summary>
public readonly struct MinimumOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => MathF.Min(a, b);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b) => Vector.Min(a, b);
}

/// <summary>a raised to b.</summary>
public readonly struct PowOp : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => MathF.Pow(a, b);

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b)
    {
        Span<float> x = stackalloc float[Vector<float>.Count];
        Span<float> y = stackalloc float[Vector<float>.Count];
        a.CopyTo(x);
        b.CopyTo(y);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = MathF.Pow(x[i], y[i]);
        }

        return new Vector<float>(x);
    }
}

/// <summary>How two elements are compared by <see cref="CompareOp"/>.</summary>
public enum Comparison
{
    /// <summary>a == b.</summary>
    Equal,

    /// <summary>a != b.</summary>
    NotEqual,

    /// <summary>a &lt; b.</summary>
    Less,

    /// <summary>a &lt;= b.</summary>
    LessOrEqual,

    /// <summary>a &gt; b.</summary>
    Greater,

    /// <summary>a &gt;= b.</summary>
    GreaterOrEqual,
}

/// <summary>1 where the comparison holds, else 0.</summary>
public readonly struct CompareOp(Comparison comparison) : IBinaryOp
{
    /// <inheritdoc />
    public float Apply(float a, float b) => comparison switch
    {
        Comparison.Equal => a == b ? 1f : 0f,
        Comparison.NotEqual => a != b ? 1f : 0f,
        Comparison.Less => a < b ? 1f : 0f,
        Comparison.LessOrEqual => a <= b ? 1f : 0f,
        Comparison.Greater => a > b ? 1f : 0f,
        _ => a >= b ? 1f : 0f,
    };

    /// <inheritdoc />
    public Vector<float> Apply(Vector<float> a, Vector<float> b)
    {
        Vector<int> mask = comparison switch
        {
            Comparison.Equal => Vector.Equals(a, b),
            Comparison.NotEqual => ~Vector.Equals(a, b),
            Comparison.Less => Vector.LessThan(a, b),
            Comparison.LessOrEqual => Vector.LessThanOrEqual(a, b),
            Comparison.Greater => Vector.GreaterThan(a, b),
            _ => Vector.GreaterThanOrEqual(a, b),
        };
        return Vector.ConditionalSelect(mask, Vector<float>.One, Vector<float>.Zero);
    }
}
