// Broadcasting element-wise binary ops, C# operators with tensors and scalars, comparisons and
// Where. Gradients are reduced back to each input's shape (SumToShape) where it was broadcast.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>a + b with broadcasting.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var c = a + b;</code></example>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);

    /// <summary>a - b with broadcasting.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var c = a - b;</code></example>
    public static Tensor operator -(Tensor a, Tensor b) => Sub(a, b);

    /// <summary>a * b with broadcasting.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var c = a * b;</code></example>
    public static Tensor operator *(Tensor a, Tensor b) => Mul(a, b);

    /// <summary>a / b with broadcasting.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var c = a / b;</code></example>
    public static Tensor operator /(Tensor a, Tensor b) => Div(a, b);

    /// <summary>a + s.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var c = a + 1f;</code></example>
    public static Tensor operator +(Tensor a, float s) => Add(a, a.ScalarLike(s));

    /// <summary>s + a.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var c = 1f + a;</code></example>
    public static Tensor operator +(float s, Tensor a) => Add(a.ScalarLike(s), a);

    /// <summary>a - s.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var c = a - 1f;</code></example>
    public static Tensor operator -(Tensor a, float s) => Sub(a, a.ScalarLike(s));

    /// <summary>s - a.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var c = 1f - a;</code></example>
    public static Tensor operator -(float s, Tensor a) => Sub(a.ScalarLike(s), a);

    /// <summary>a * s.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var c = a * 0.5f;</code></example>
    public static Tensor operator *(Tensor a, float s) => Mul(a, a.ScalarLike(s));

    /// <summary>s * a.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var c = 0.5f * a;</code></example>
    public static Tensor operator *(float s, Tensor a) => Mul(a.ScalarLike(s), a);

    /// <summary>a / s.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var c = a / 2f;</code></example>
    public static Tensor operator /(Tensor a, float s) => Div(a, a.ScalarLike(s));

    /// <summary>s / a.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var c = 1f / a;</code></example>
    public static Tensor operator /(float s, Tensor a) => Div(a.ScalarLike(s), a);

    /// <summary>a + s with an integer scalar, which keeps an integer tensor's type.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var next = ids + 1;</code></example>
    public static Tensor operator +(Tensor a, long s) => Add(a, a.ScalarLike(s));

    /// <summary>s + a with an integer scalar.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var next = 1 + ids;</code></example>
    public static Tensor operator +(long s, Tensor a) => Add(a.ScalarLike(s), a);

    /// <summary>a - s with an integer scalar.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var previous = ids - 1;</code></example>
    public static Tensor operator -(Tensor a, long s) => Sub(a, a.ScalarLike(s));

    /// <summary>s - a with an integer scalar.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var flipped = 9 - ids;</code></example>
    public static Tensor operator -(long s, Tensor a) => Sub(a.ScalarLike(s), a);

    /// <summary>a * s with an integer scalar.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var doubled = ids * 2;</code></example>
    public static Tensor operator *(Tensor a, long s) => Mul(a, a.ScalarLike(s));

    /// <summary>s * a with an integer scalar.</summary>
    /// <param name="s">The scalar.</param>
    /// <param name="a">The tensor.</param>
    /// <example><code>var doubled = 2 * ids;</code></example>
    public static Tensor operator *(long s, Tensor a) => Mul(a.ScalarLike(s), a);

    /// <summary>a / s with an integer scalar (truncating on integer tensors).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var rows = ids / 28;</code></example>
    public static Tensor operator /(Tensor a, long s) => Div(a, a.ScalarLike(s));

    /// <summary>a % s with an integer scalar: the remainder of truncated division.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var columns = ids % 28;</code></example>
    public static Tensor operator %(Tensor a, long s) => Remainder(a, a.ScalarLike(s));

    /// <summary>a % b with broadcasting: the remainder of truncated division, with the sign of a.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var r = a % b;</code></example>
    public static Tensor operator %(Tensor a, Tensor b) => Remainder(a, b);

    /// <summary>Element-wise and of bool or integer tensors (bitwise on integers).</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var both = a &amp; b;</code></example>
    public static Tensor operator &(Tensor a, Tensor b) => Logical(a, b, TypedBinaryOp.And, "And");

    /// <summary>Element-wise or of bool or integer tensors (bitwise on integers).</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var either = a | b;</code></example>
    public static Tensor operator |(Tensor a, Tensor b) => Logical(a, b, TypedBinaryOp.Or, "Or");

    /// <summary>Element-wise exclusive or of bool or integer tensors (bitwise on integers).</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var one = a ^ b;</code></example>
    public static Tensor operator ^(Tensor a, Tensor b) => Logical(a, b, TypedBinaryOp.Xor, "Xor");

    /// <summary>True where a &lt; s (an integer scalar), as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var small = ids &lt; 10;</code></example>
    public static Tensor operator <(Tensor a, long s) => Compare(a, a.ScalarLike(s), Comparison.Less);

    /// <summary>True where a &gt; s (an integer scalar), as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var large = ids &gt; 10;</code></example>
    public static Tensor operator >(Tensor a, long s) => Compare(a, a.ScalarLike(s), Comparison.Greater);

    /// <summary>True where a &lt;= s (an integer scalar), as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var small = ids &lt;= 10;</code></example>
    public static Tensor operator <=(Tensor a, long s) => Compare(a, a.ScalarLike(s), Comparison.LessOrEqual);

    /// <summary>True where a &gt;= s (an integer scalar), as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var large = ids &gt;= 10;</code></example>
    public static Tensor operator >=(Tensor a, long s) => Compare(a, a.ScalarLike(s), Comparison.GreaterOrEqual);

    /// <summary>True where a &lt; b, as bool.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var mask = a &lt; b;</code></example>
    public static Tensor operator <(Tensor a, Tensor b) => Compare(a, b, Comparison.Less);

    /// <summary>True where a &gt; b, as bool.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var mask = a &gt; b;</code></example>
    public static Tensor operator >(Tensor a, Tensor b) => Compare(a, b, Comparison.Greater);

    /// <summary>True where a &lt;= b, as bool.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var mask = a &lt;= b;</code></example>
    public static Tensor operator <=(Tensor a, Tensor b) => Compare(a, b, Comparison.LessOrEqual);

    /// <summary>True where a &gt;= b, as bool.</summary>
    /// <param name="a">The left operand.</param>
    /// <param name="b">The right operand.</param>
    /// <example><code>var mask = a &gt;= b;</code></example>
    public static Tensor operator >=(Tensor a, Tensor b) => Compare(a, b, Comparison.GreaterOrEqual);

    /// <summary>True where a &lt; s, as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var mask = a &lt; 0f;</code></example>
    public static Tensor operator <(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.Less);

    /// <summary>True where a &gt; s, as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var mask = a &gt; 0f;</code></example>
    public static Tensor operator >(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.Greater);

    /// <summary>True where a &lt;= s, as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var mask = a &lt;= 0f;</code></example>
    public static Tensor operator <=(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.LessOrEqual);

    /// <summary>True where a &gt;= s, as bool.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The scalar.</param>
    /// <example><code>var mask = a &gt;= 0f;</code></example>
    public static Tensor operator >=(Tensor a, float s) => Compare(a, a.ScalarLike(s), Comparison.GreaterOrEqual);

    /// <summary>a + b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Add(a, b);</code></example>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(AddOp), TypedBinaryOp.Add, "Add", a, b);
        return Record(y, "AddBackward", [a, b], g => [g.SumToShape(a.shape), g.SumToShape(b.shape)]);
    }

    /// <summary>a - b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Sub(a, b);</code></example>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(SubOp), TypedBinaryOp.Sub, "Sub", a, b);
        return Record(y, "SubBackward", [a, b], g => [g.SumToShape(a.shape), b.RequiresGrad ? (-g).SumToShape(b.shape) : null]);
    }

    /// <summary>a * b with broadcasting.</summary>
    /// <example><code>var c = Tensor.Mul(a, b);</code></example>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(MulOp), TypedBinaryOp.Mul, "Mul", a, b);
        return Record(y, "MulBackward", [a, b], g =>
            [a.RequiresGrad ? (g * b).SumToShape(a.shape) : null, b.RequiresGrad ? (g * a).SumToShape(b.shape) : null]);
    }

    /// <summary>a / b with broadcasting: true division on floating types, truncated toward zero on integers (where a zero
    /// divisor is an error), in the promoted type of a and b.</summary>
    /// <param name="a">The dividend.</param>
    /// <param name="b">The divisor.</param>
    /// <example><code>var c = Tensor.Div(a, b);</code></example>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(DivOp), TypedBinaryOp.Div, "Div", a, b);
        return Record(y, "DivBackward", [a, b], g =>
            [a.RequiresGrad ? (g / b).SumToShape(a.shape) : null, b.RequiresGrad ? (-(g * y) / b).SumToShape(b.shape) : null]);
    }

    /// <summary>Element-wise maximum with broadcasting; on ties the gradient is split evenly.</summary>
    /// <example><code>var c = Tensor.Maximum(a, b);</code></example>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(MaximumOp), TypedBinaryOp.Maximum, "Maximum", a, b);
        return Record(y, "MaximumBackward", [a, b], g => TieSplitGradients(g, a, b, Comparison.Greater));
    }

    /// <summary>Element-wise minimum with broadcasting; on ties the gradient is split evenly.</summary>
    /// <example><code>var c = Tensor.Minimum(a, b);</code></example>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        var y = BinaryKernel(default(MinimumOp), TypedBinaryOp.Minimum, "Minimum", a, b);
        return Record(y, "MinimumBackward", [a, b], g => TieSplitGradients(g, a, b, Comparison.Less));
    }

    /// <summary>a raised to b element-wise, with broadcasting.</summary>
    /// <example><code>var c = a.Pow(b);</code></example>
    public Tensor Pow(Tensor exponent)
    {
        var a = this;
        var y = BinaryKernel(default(PowOp), null, "Pow", a, exponent);
        return Record(y, "PowBackward", [a, exponent], g =>
            [a.RequiresGrad ? (g * exponent * a.Pow(exponent - 1f)).SumToShape(a.shape) : null,
             exponent.RequiresGrad ? (g * y * a.Log()).SumToShape(exponent.shape) : null]);
    }

    /// <summary>True where a == b, as bool.</summary>
    /// <example><code>var correct = predicted.Eq(labels).Mean();</code></example>
    public Tensor Eq(Tensor other) => Compare(this, other, Comparison.Equal);

    /// <summary>True where a != b, as bool.</summary>
    /// <example><code>var changed = a.Ne(b);</code></example>
    public Tensor Ne(Tensor other) => Compare(this, other, Comparison.NotEqual);

    /// <summary>Picks a where condition is true, else b; all three broadcast together, and a and b promote to one type.</summary>
    /// <param name="condition">A bool tensor (any other type counts non-zero as true).</param>
    /// <param name="a">The values where the condition holds.</param>
    /// <param name="b">The values elsewhere.</param>
    /// <example><code>var y = Tensor.Where(x &gt; 0f, x, x * 0.1f);</code></example>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        CheckSameDevice("Where", condition, a);
        CheckSameDevice("Where", a, b);
        var shape = Shapes.Broadcast("Where", Shapes.Broadcast("Where", condition.shape, a.shape), b.shape);
        var dtype = ResultType(a, b);
        using var temps = new Temporaries();
        var y = Empty(shape, a.Device, dtype);
        a.Backend.Where(temps.As(condition, DType.Bool).BroadcastView(shape), temps.As(a, dtype).BroadcastView(shape), temps.As(b, dtype).BroadcastView(shape), y.Buffer, shape);
        return Record(y, "WhereBackward", [a, b], g =>
        {
            var zero = g.ScalarLike(0f);
            return [a.RequiresGrad ? Where(condition, g, zero).SumToShape(a.shape) : null,
                    b.RequiresGrad ? Where(condition, zero, g).SumToShape(b.shape) : null];
        });
    }

    /// <summary>The remainder of truncated division with broadcasting (C#'s %, ONNX Mod with fmod = 1): it has a's sign.</summary>
    /// <param name="a">The dividend.</param>
    /// <param name="b">The divisor.</param>
    /// <example><code>var r = Tensor.Remainder(ids, Tensor.Full([], 7L, DType.Int64));</code></example>
    public static Tensor Remainder(Tensor a, Tensor b)
    {
        var (shape, dtype) = Promotion("Remainder", a, b);
        if (dtype.IsHalf() || dtype == DType.Bool)
        {
            throw new ArgumentException($"Remainder: {dtype.Name()} tensors {Shapes.Format(a.shape)} and {Shapes.Format(b.shape)} have no remainder; cast to float32 or an integer type.");
        }

        using var temps = new Temporaries();
        var y = Typed(TypedBinaryOp.Remainder, "Remainder", temps.As(a, dtype), temps.As(b, dtype), shape, dtype);

        // a - b * trunc(a / b): the gradient is g for a, and -g * trunc(a / b) = -g * (a - y) / b for b.
        return Record(y, "RemainderBackward", [a, b], g =>
            [a.RequiresGrad ? g.SumToShape(a.shape) : null, b.RequiresGrad ? (-(g * ((a - y) / b))).SumToShape(b.shape) : null]);
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

    /// <summary>
    /// A one-element tensor holding a floating C# scalar as an operand of this tensor: it keeps its value (float32, or
    /// float64 beside a float64 tensor) and is marked so that it does not widen this tensor's type
    /// (<see cref="DTypeExtensions.PromoteWithScalar"/>).
    /// </summary>
    internal Tensor ScalarLike(float value)
    {
        var scalar = Full([], value, DType == DType.Float64 ? DType.Float64 : DType.Float32, Device);
        scalar.IsScalarOperand = true;
        return scalar;
    }

    /// <summary>A one-element int64 tensor holding an integer C# scalar as an operand of this tensor, marked so that it does
    /// not widen this tensor's type; an op whose integer result type cannot hold it throws.</summary>
    internal Tensor ScalarLike(long value)
    {
        var scalar = Full([], value, DType.Int64, Device);
        scalar.IsScalarOperand = true;
        scalar.ScalarInteger = value;
        return scalar;
    }

    /// <summary>True for a tensor made from a C# scalar by <see cref="ScalarLike(float)"/> or <see cref="ScalarLike(long)"/>.</summary>
    internal bool IsScalarOperand { get; private set; }

    /// <summary>The value of an integer scalar operand, for the range check of the op it enters.</summary>
    internal long? ScalarInteger { get; private set; }

    /// <summary>
    /// Runs an element-wise op in the promoted type of a and b: float32, and the 16-bit floats (computed in float32 and
    /// rounded back), through the SIMD op <paramref name="op"/>; every other type through the typed kernel
    /// <paramref name="typed"/> (null: the op has none, and needs a floating type).
    /// </summary>
    private static Tensor BinaryKernel<TOp>(TOp op, TypedBinaryOp? typed, string name, Tensor a, Tensor b) where TOp : struct, IBinaryOp
    {
        var (shape, dtype) = Promotion(name, a, b);
        using var temps = new Temporaries();
        if (dtype == DType.Float32 || dtype.IsHalf())
        {
            var y = Empty(shape, a.Device, DType.Float32);
            a.Backend.Binary(op, temps.As(a, DType.Float32).BroadcastView(shape), temps.As(b, DType.Float32).BroadcastView(shape), y.Buffer, shape);
            if (dtype == DType.Float32)
            {
                return y;
            }

            using (y)
            {
                return y.CastTo(dtype);
            }
        }

        if (typed is not TypedBinaryOp kind || (dtype == DType.Bool && kind is TypedBinaryOp.Sub or TypedBinaryOp.Div))
        {
            throw new ArgumentException(
                $"{name}: not defined for {dtype.Name()} (operands {a.DType.Name()} {Shapes.Format(a.shape)} and {b.DType.Name()} {Shapes.Format(b.shape)}); cast to a floating type first.");
        }

        return Typed(kind, name, temps.As(a, dtype), temps.As(b, dtype), shape, dtype);
    }

    /// <summary>y = op(a, b) by the typed kernel, a and b already of <paramref name="dtype"/>.</summary>
    private static Tensor Typed(TypedBinaryOp op, string name, Tensor a, Tensor b, int[] shape, DType dtype)
    {
        if (op is TypedBinaryOp.Div or TypedBinaryOp.Remainder)
        {
            CheckNoZeroDivisor(name, b, dtype);
        }

        var y = Empty(shape, a.Device, op.ResultType(dtype));
        a.Backend.TypedBinary(op, dtype, a.BroadcastView(shape), b.BroadcastView(shape), y.Buffer, shape);
        return y;
    }

    /// <summary>The broadcast shape of a and b and their result type: the promoted type, where a C# scalar operand does not
    /// widen the tensor's type, and an integer scalar must fit an integer result.</summary>
    private static (int[] Shape, DType DType) Promotion(string name, Tensor a, Tensor b)
    {
        a.ThrowIfDisposed();
        b.ThrowIfDisposed();
        CheckSameDevice(name, a, b);
        var dtype = ResultType(a, b);
        foreach (var t in (ReadOnlySpan<Tensor>)[a, b])
        {
            if (t.ScalarInteger is long v && dtype.IsInteger() && !Fits(v, dtype))
            {
                throw new ArgumentException(
                    $"{name}: the scalar {v} does not fit {dtype.Name()} (operands {a.DType.Name()} {Shapes.Format(a.shape)} and {b.DType.Name()} {Shapes.Format(b.shape)}); cast the tensor to a wider type first.");
            }
        }

        return (Shapes.Broadcast(name, a.shape, b.shape), dtype);
    }

    /// <summary>The type of an op on a and b, a C# scalar operand leaving the other operand's type as it is.</summary>
    private static DType ResultType(Tensor a, Tensor b) =>
        b.IsScalarOperand && !a.IsScalarOperand ? a.DType.PromoteWithScalar(b.DType.IsFloatingPoint())
        : a.IsScalarOperand && !b.IsScalarOperand ? b.DType.PromoteWithScalar(a.DType.IsFloatingPoint())
        : a.DType.Promote(b.DType);

    private static bool Fits(long v, DType dtype) => dtype switch
    {
        DType.Int8 => v is >= sbyte.MinValue and <= sbyte.MaxValue,
        DType.UInt8 => v is >= byte.MinValue and <= byte.MaxValue,
        DType.Int16 => v is >= short.MinValue and <= short.MaxValue,
        DType.Int32 => v is >= int.MinValue and <= int.MaxValue,
        _ => true,
    };

    /// <summary>Integer division by zero has no value: it is reported before any kernel runs (one read-back).</summary>
    private static void CheckNoZeroDivisor(string name, Tensor divisor, DType dtype)
    {
        if (!dtype.IsInteger())
        {
            return;
        }

        // Read on the host, also at every replay of a captured step: an integer is zero when all its bytes are.
        var dense = divisor.DenseData();
        int bytes = dense.Numel * dtype.Size();
        Capture.StepCapture.Dynamic(name, dense.Backend, [dense.Buffer], 0, (b, s) =>
        {
            byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(bytes, 1));
            try
            {
                b.DownloadBytes(s[0]!, 0, rented.AsSpan(0, bytes));
                for (int i = 0; i < bytes; i += dtype.Size())
                {
                    if (rented.AsSpan(i, dtype.Size()).IndexOfAnyExcept((byte)0) < 0)
                    {
                        throw new DivideByZeroException($"{name}: integer division by zero ({dtype.Name()} divisor {Shapes.Format(dense.shape)}).");
                    }
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        });
    }

    private static Tensor Compare(Tensor a, Tensor b, Comparison comparison)
    {
        // Compared exactly in the wider of the two real types: a scalar operand counts with its own type here (uint8 < 256
        // compares in int64, float16 < 0.1f in float32).
        a.ThrowIfDisposed();
        b.ThrowIfDisposed();
        CheckSameDevice(comparison.ToString(), a, b);
        var shape = Shapes.Broadcast(comparison.ToString(), a.shape, b.shape);
        var dtype = a.DType.Promote(b.DType);
        var compute = dtype.IsHalf() ? DType.Float32 : dtype;
        var op = comparison switch
        {
            Comparison.Equal => TypedBinaryOp.Equal,
            Comparison.NotEqual => TypedBinaryOp.NotEqual,
            Comparison.Less => TypedBinaryOp.Less,
            Comparison.LessOrEqual => TypedBinaryOp.LessOrEqual,
            Comparison.Greater => TypedBinaryOp.Greater,
            _ => TypedBinaryOp.GreaterOrEqual,
        };
        using var temps = new Temporaries();
        return Typed(op, comparison.ToString(), temps.As(a, compute), temps.As(b, compute), shape, compute);
    }

    private static Tensor Logical(Tensor a, Tensor b, TypedBinaryOp op, string name)
    {
        var (shape, dtype) = Promotion(name, a, b);
        if (dtype != DType.Bool && !dtype.IsInteger())
        {
            throw new ArgumentException($"{name}: needs bool or integer tensors, got {a.DType.Name()} {Shapes.Format(a.shape)} and {b.DType.Name()} {Shapes.Format(b.shape)}.");
        }

        using var temps = new Temporaries();
        return Typed(op, name, temps.As(a, dtype), temps.As(b, dtype), shape, dtype);
    }

    private static Tensor?[] TieSplitGradients(Tensor g, Tensor a, Tensor b, Comparison wins)
    {
        using var winsMask = Compare(a, b, wins);
        using var tieMask = Compare(a, b, Comparison.Equal);
        var aWins = winsMask.CastTo(DType.Float32) + (tieMask * 0.5f);
        return [a.RequiresGrad ? (g * aWins).SumToShape(a.shape) : null,
                b.RequiresGrad ? (g * (1f - aWins)).SumToShape(b.shape) : null];
    }
}
