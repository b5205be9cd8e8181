// Element-wise unary ops: one generic forward/backward pair drives every op struct in
// Backends/UnaryOps.cs; the public methods below only pick the struct.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>-x.</summary>
    /// <example><code>var y = -x;</code></example>
    public static Tensor operator -(Tensor x) => x.Neg();

    /// <summary>-x.</summary>
    /// <example><code>var y = x.Neg();</code></example>
    public Tensor Neg() => DType is DType.Float32 || DType.IsHalf() ? Unary(default(NegOp), "Neg") : Sub(ScalarLike(0L), this);

    /// <summary>|x|.</summary>
    /// <example><code>var y = x.Abs();</code></example>
    public Tensor Abs() => DType is DType.Float32 || DType.IsHalf() ? Unary(default(AbsOp), "Abs") : Where(this < 0L, Neg(), this);

    /// <summary>e^x.</summary>
    /// <example><code>var y = x.Exp();</code></example>
    public Tensor Exp() => Unary(default(ExpOp), "Exp");

    /// <summary>Natural logarithm.</summary>
    /// <example><code>var y = x.Log();</code></example>
    public Tensor Log() => Unary(default(LogOp), "Log");

    /// <summary>Square root.</summary>
    /// <example><code>var y = x.Sqrt();</code></example>
    public Tensor Sqrt() => Unary(default(SqrtOp), "Sqrt");

    /// <summary>x raised to a constant power.</summary>
    /// <example><code>var y = x.Pow(2);</code></example>
    public Tensor Pow(float exponent) => Unary(new PowScalarOp(exponent), "Pow");

    /// <summary>Limits values to [min, max]; the gradient passes inside [min, max], boundaries included (as PyTorch).</summary>
    /// <param name="min">The lower bound.</param>
    /// <param name="max">The upper bound, at least <paramref name="min"/>.</param>
    /// <example><code>var y = x.Clamp(0f, 1f);</code></example>
    public Tensor Clamp(float min, float max)
    {
        if (min > max)
        {
            throw new ArgumentException($"Clamp: min ({min}) is greater than max ({max}).");
        }

        return Unary(new ClampOp(min, max), "Clamp");
    }

    /// <summary>
    /// Limits values from below, above or both (PyTorch's clamp with either bound None); the gradient passes where
    /// the value is within the given bounds, boundaries included, and is 0 where it was clipped.
    /// </summary>
    /// <param name="min">The lower bound, or null for none.</param>
    /// <param name="max">The upper bound, or null for none.</param>
    /// <example><code>var positive = x.Clamp(min: 0f, max: null); var capped = x.Clamp(null, 6f);</code></example>
    public Tensor Clamp(float? min, float? max)
    {
        if (min is null && max is null)
        {
            throw new ArgumentException("Clamp: min and max are both null; give at least one bound.");
        }

        if ((min is { } low && float.IsNaN(low)) || (max is { } high && float.IsNaN(high)))
        {
            throw new ArgumentException($"Clamp: a bound is NaN (min {min}, max {max}).");
        }

        return Clamp(min ?? float.NegativeInfinity, max ?? float.PositiveInfinity);
    }

    /// <summary>Rounds to the nearest integer, ties to even (as <see cref="MathF.Round(float)"/>); the gradient is 0.</summary>
    /// <example><code>var y = x.Round();</code></example>
    public Tensor Round() => Unary(default(RoundOp), "Round");

    /// <summary>max(x, 0).</summary>
    /// <example><code>var y = x.Relu();</code></example>
    public Tensor Relu() => Unary(default(ReluOp), "Relu");

    /// <summary>x where positive, else slope * x.</summary>
    /// <example><code>var y = x.LeakyRelu(0.01f);</code></example>
    public Tensor LeakyRelu(float negativeSlope = 0.01f) => Unary(new LeakyReluOp(negativeSlope), "LeakyRelu");

    /// <summary>1 / (1 + e^-x).</summary>
    /// <example><code>var y = x.Sigmoid();</code></example>
    public Tensor Sigmoid() => Unary(default(SigmoidOp), "Sigmoid");

    /// <summary>Hyperbolic tangent.</summary>
    /// <example><code>var y = x.Tanh();</code></example>
    public Tensor Tanh() => Unary(default(TanhOp), "Tanh");

    /// <summary>Exact (erf-based) GELU, as PyTorch's default.</summary>
    /// <example><code>var y = x.Gelu();</code></example>
    public Tensor Gelu() => Unary(default(GeluOp), "Gelu");

    /// <summary>log(1 + e^x), computed without overflow.</summary>
    /// <example><code>var y = x.Softplus();</code></example>
    public Tensor Softplus() => Unary(default(SoftplusOp), "Softplus");

    /// <summary>Applies any <see cref="IUnaryOp"/> element-wise, with its derivative recorded for autograd.</summary>
    /// <example><code>var y = x.Unary(new LeakyReluOp(0.2f), "LeakyRelu");</code></example>
    public Tensor Unary<TOp>(TOp op, string name) where TOp : struct, IUnaryOp
    {
        if (DType.IsHalf())
        {
            // Stored in 16 bits, computed in float32: both casts are recorded, so gradients flow in float32.
            return To(DType.Float32).Unary(op, name).To(DType);
        }

        CheckFloat(name);
        var x = DenseData();
        var y = Empty((int[])shape.Clone(), Device);
        int n = y.Numel;
        Backend.Unary(op, x.Buffer, y.Buffer, n);
        return Record(y, name + "Backward", [this], g =>
        {
            var gd = g.DenseData();
            var dx = Empty((int[])x.shape.Clone(), x.Device);
            x.Backend.UnaryBackward(op, x.Buffer, y.Buffer, gd.Buffer, dx.Buffer, n);
            return [dx];
        });
    }
}
