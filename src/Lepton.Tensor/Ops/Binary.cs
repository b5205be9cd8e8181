// Broadcasting element-wise binary ops, C# operators with tensors and scalars, comparisons and
// Where. Gradients are reduced back to each input's shape (SumToShape) where it was broadcast.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>a + b with broadcasting.</summary>
    /// <example><code>var c = a + b;</code></example>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);

    /// <summary>a - b with broadcasting.</summary>
    /// <example><code>var c = a - b;</code></example>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);

    /// <summary>a * b with broadcasting.</summary>
    /// <example><code>var c = a * b;</code></example>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);

    /// <summary>a / b with broadcasting.</summary>
    /// <example><code>var c = a / b;</code></example>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);

    /// <summary>a + s.</summary>
    /// <example><code>var c = a + 1f;</code></example>
    public static Tensor operator +(Tensor a, float s) => Add(a, a.ScalarLike(s));

    /// <summary>s + a.</summary>
    /// <example><code>var c = 1f + a;</code></example>
    public static Tensor operator +(float s, Tensor a) => Add(a.ScalarLike(s), a);

    /// <summary>a - s.</summary>
    /// <example><code>var c = a - 1f;</code></example>
    public static Tensor operator -(Tensor a, float s) => Sub(a, a.ScalarLike(s));

    /// <summary>s - a.</summary>
    /// <example><code>var c = 1f - a;</code></example>
    public static Tensor operator -(float s, Tensor a) => Sub(a.ScalarLike(s), a);

    /// <summary>a * s.</summary>
    /// <example><code>var c = a * 0.5f;</code></example>
    public static Tensor operator *(Tensor a, float s) => Mul(a, a.ScalarLike(s));

    /// <summary>s * a.</summary>
    /// <example><code>var c = 0.5f * a;</code></example>
    public static Tensor operator *(float s, Tensor a) => Mul(a.ScalarLike(s), a);

    /// <summary>a / s.</summary>
    /// <example><code>var c = a / 2f;</code></example>
    public static Tensor operator /(Tensor a, float s) => Div(a, a.ScalarLike(s));

    /// <summary>s / a.</summary>
    /// <example><code>var c = 1f / a;</code></example>
    public static Tensor operator /(float s, Tensor a) => Div(a.ScalarLike(s), a);

    /// <summary>1 where a &lt; b, else 0 (float32).</summary>
    /// <example><code>var mask = a &lt; b;</code></example>
    public static Tensor operator <(Tensor a, Tensor b) => Compare(a, b, Comparison.Less);

    /// <summary>1 where a &gt; b, else 0.</summary>
    /// <example><code>var mask = a &gt; b;</code></example>
    public static Tensor operator >(Tensor a, Tensor b) => Compare(a, b, Comparison.Greater);

    /// <summary>1 where a &lt;= b, else 0.</summary>
    /// <example><code>var mask = a &lt;= b;</code></example>
    public static Tensor operator <=(Tensor a, Tensor b) => Compare(a, b, Comparison.LessOrEqual);

    /// <summary>1 where a &gt;= b, else 0.</summary>
    /// <example><code>var mask = a &gt;= b;</code></example>
    public static Tensor operator >=(Tensor a, Tensor b) => Compare(a, b, Comparison.GreaterOrEqual);

    /// <summary>1 where a &lt; s, else 0.</summary>
    /// <example><code>var mask = a &lt; 0f;</code></example>
    public static Tensor operator <(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.Less);

    /// <summary>1 where a &gt; s, else 0.</summary>
    /// <example><code>var mask = a &gt; 0f;</code></example>
    public static Tensor operator >(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.Greater);

    /// <summary>1 where a &lt;= s, else 0.</summary>
    /// <example><code>var mask = a &lt;= 0f;</code></example>
    public static Tensor operator <=(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.LessOrEqual);

    /// <summary>1 where a &gt;= s, else 0.</summary>
    /// <example><code>var mask = a &gt;= 0f;</code></example>
    public static Tensor operator >=(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.GreaterOrEqual);

    /// <summary>a + b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Add(a, b);</code></example>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(AddOp), "Add", a, b);
        return Record(y, "AddBackward", [a, b], g => [g.SumToShape(a.shape), g.SumToShape(b.shape)]);
    }

    /// <summary>a - b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Sub(a, b);</code></example>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(SubOp), "Sub", a, b);
        return Record(y, "SubBackward", [a, b], g => [g.SumToShape(a.shape), b.RequiresGrad ? (-g).SumToShape(b.shape) : null]);
    }

    /// <summary>a * b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Mul(a, b);</code></example>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(MulOp), "Mul", a, b);
        return Record(y, "MulBackward", [a, b], g =>
            [a.RequiresGrad ? (g * b).SumToShape(a.shape) : null, b.RequiresGrad ? (g * a).SumToShape(b.shape) : null]);
    }

    /// <summary>a / b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Div(a, b);</code></example>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(DivOp), "Div", a, b);
        return Record(y, "DivBackward", [a, b], g =>
            [a.RequiresGrad ? (g / b).SumToShape(a.shape) : null, b.RequiresGrad ? (-(g * y) / b).SumToShape(b.shape) : null]);
    }

    /// <summary>Element-wise maximum with broadcasting; on ties the gradient is split evenly.</summary>
    /// <example><code>var c = Tensor.Maximum(a, b);</code></example>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(MaximumOp), "Maximum", a, b);
        return Record(y, "MaximumBackward", [a, b], g => TieSplitGradients(g, a, b, Comparison.Greater));
    }

    /// <summary>Element-wise minimum with broadcasting; on ties the gradient is split evenly.</summary>
    /// <example><code>var c = Tensor.Minimum(a, b);</code></example>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(MinimumOp), "Minimum", a, b);
        return Record(y, "MinimumBackward", [a, b], g => TieSplitGradients(g, a, b, Comparison.Less));
    }

    /// <summary>a raised to b element-wise, with broadcasting.</summary>
    /// <example><code>var c = a.Pow(b);</code></example>
    public Tensor Pow(Tensor exponent)
    {
        var a = this;
        var y = BinaryKernel(default(PowOp), "Pow", a, exponent);
        return Record(y, "PowBackward", [a, exponent], g =>
            [a.RequiresGrad ? (g * exponent * a.Pow(exponent - 1f)).SumToShape(a.shape) : null,
             exponent.RequiresGrad ? (g * y * a.Log()).SumToShape(exponent.shape) : null]);
    }

    /// <summary>1 where a == b, else 0 (float32).</summary>
    /// <example><code>var correct = predicted.Eq(labels).Mean();</code></example>
    public Tensor Eq(Tensor other) => Compare(this, other, Comparison.Equal);

    /// <summary>1 where a != b, else 0 (float32).</summary>
    /// <example><code>var changed = a.Ne(b);</code></example>
    public Tensor Ne(Tensor other) => Compare(this, other, Comparison.NotEqual);

    /// <summary>Picks a where condition is non-zero, else b; all three broadcast together.</summary>
    /// <example><code>var y = Tensor.Where(x &gt; 0f, x, x * 0.1f);</code></example>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        CheckSameDevice("Where", condition, a);
        CheckSameDevice("Where", a, b);
        var shape = Shapes.Broadcast("Where", Shapes.Broadcast("Where", condition.shape, a.shape), b.shape);
        var y = Empty(shape, a.Device, a.DType == DType.Float32 || b.DType == DType.Float32 ? DType.Float32 : a.DType);
        a.Backend.Where(condition.BroadcastView(shape), a.BroadcastView(shape), b.BroadcastView(shape), y.Buffer, shape);
        return Record(y, "WhereBackward", [a, b], g =>
        {
            var zero = g.ScalarLike(0f);
            return [a.RequiresGrad ? Where(condition, g, zero).SumToShape(a.shape) : null,
                    b.RequiresGrad ? Where(condition, zero, g).SumToShape(b.shape) : null];
        });
    }

    /// <summary>Sums a broadcast gradient back down to <paramref name="target"/> (the inverse of broadcasting).</summary>
    internal Tensor SumToShape(int[] target)
    {
        if (Shapes.SameShape(shape, target))
        {
            return this;
        }

        int lead = shape.Length - target.Length;
        var axes = new List<int>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (i < lead || (target[i - lead] == 1 && shape[i] != 1))
            {
                axes.Add(i);
            }
        }

        return Sum([.. axes], keepDim: true).Reshape((int[])target.Clone());
    }

    /// <summary>A view of this tensor broadcast to <paramref name="target"/>.</summary>
    internal StridedView BroadcastView(int[] target) =>
        new(Buffer, Offset, target, Shapes.BroadcastStrides(shape, strides, target), DType.Size());

    /// <summary>A one-element tensor on this tensor's device.</summary>
    internal Tensor ScalarLike(float value) => Full([], value, DType.Float32, Device);

    private static Tensor BinaryKernel<TOp>(TOp op, string name, Tensor a, Tensor b) where TOp : struct, IBinaryOp
    {
        a.ThrowIfDisposed();
        b.ThrowIfDisposed();
        CheckSameDevice(name, a, b);
        var shape = Shapes.Broadcast(name, a.shape, b.shape);
        var dtype = a.DType == DType.Float32 || b.DType == DType.Float32 || op is DivOp or PowOp ? DType.Float32 : a.DType;
        var y = Empty(shape, a.Device, dtype);
        a.Backend.Binary(op, a.BroadcastView(shape), b.BroadcastView(shape), y.Buffer, shape);
        return y;
    }

    private static Tensor Compare(Tensor a, Tensor b, Comparison comparison) =>
        BinaryKernel(new CompareOp(comparison), comparison.ToString(), a, b);

    private static Tensor?[] TieSplitGradients(Tensor g, Tensor a, Tensor b, Comparison wins)
    {
        var aWins = Compare(a, b, wins) + (Compare(a, b, Comparison.Equal) * 0.5f);
        return [a.RequiresGrad ? (g * aWins).SumToShape(a.shape) : null,
                b.RequiresGrad ? (g * (1f - aWins)).SumToShape(b.shape) : null];
    }
}
