// Reductions along any set of axes with keepDim: sum, mean, max, min, argmax/argmin, var/std and
// logsumexp. The backend reduces one axis of a dense [outer, axis, inner] layout; several axes are
// reduced one after another. Mean is the sum scaled in the same node; var, std and logsumexp are
// compositions.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Sum over <paramref name="axes"/> (all axes when null).</summary>
    /// <example><code>var total = x.Sum(); var rows = x.Sum([1], keepDim: true);</code></example>
    public Tensor Sum(int[]? axes = null, bool keepDim = false)
    {
        var normalized = NormalizeAxes("Sum", axes);
        var y = ReduceKernel(ReduceKind.Sum, "Sum", normalized, keepDim);
        var inputShape = shape;
        return Record(y, "SumBackward", [this], g => [SpreadOverReduced(g, inputShape, normalized)]);
    }

    /// <summary>Sum over one axis.</summary>
    /// <example><code>var perRow = x.Sum(1);</code></example>
    public Tensor Sum(int axis, bool keepDim = false) => Sum([axis], keepDim);

    /// <summary>Mean over <paramref name="axes"/> (all axes when null).</summary>
    /// <example><code>var loss = errors.Mean();</code></example>
    public Tensor Mean(int[]? axes = null, bool keepDim = false)
    {
        var normalized = NormalizeAxes("Mean", axes);
        int count = ReducedCount(normalized);
        if (count == 0)
        {
            throw new ArgumentException($"Mean: cannot average over an empty dimension of shape {Shapes.Format(shape)}.");
        }

        if (DType != DType.Float32)
        {
            if (!DType.IsFloatingPoint())
            {
                throw new ArgumentException($"Mean: needs a floating tensor, got {DType.Name()} {Shapes.Format(shape)}; cast with To(DType.Float32) first.");
            }

            if (DType.IsHalf())
            {
                return Narrowed(Widened.Mean(normalized, keepDim), DType);
            }

            using var divisor = Scalar(count, DType.Float64, Device);
            return Sum(normalized, keepDim) / divisor;
        }

        // One node: the sum times 1/count, with the products a multiplication by a scalar tensor would give.
        var scale = new ScaleOp(1f / count);
        var sum = ReduceKernel(ReduceKind.Sum, "Mean", normalized, keepDim);
        var y = Empty((int[])sum.shape.Clone(), Device);
        Backend.Unary(scale, sum.Buffer, y.Buffer, y.Numel);
        sum.Dispose();
        var inputShape = shape;
        return Record(y, "MeanBackward", [this], g =>
        {
            var gd = g.DenseData();
            var scaled = Empty((int[])g.shape.Clone(), g.Device);
            g.Backend.Unary(scale, gd.Buffer, scaled.Buffer, scaled.Numel);
            return [SpreadOverReduced(scaled, inputShape, normalized)];
        });
    }

    /// <summary>Mean over one axis.</summary>
    /// <example><code>var perRow = x.Mean(1);</code></example>
    public Tensor Mean(int axis, bool keepDim = false) => Mean([axis], keepDim);

    /// <summary>Maximum over <paramref name="axes"/> (all when null); ties share the gradient evenly.</summary>
    /// <example><code>var m = x.Max([1]);</code></example>
    public Tensor Max(int[]? axes = null, bool keepDim = false) => Extreme(ReduceKind.Max, "Max", axes, keepDim);

    /// <summary>Maximum over one axis.</summary>
    /// <example><code>var m = x.Max(1);</code></example>
    public Tensor Max(int axis, bool keepDim = false) => Max([axis], keepDim);

    /// <summary>Minimum over <paramref name="axes"/> (all when null); ties share the gradient evenly.</summary>
    /// <example><code>var m = x.Min([0]);</code></example>
    public Tensor Min(int[]? axes = null, bool keepDim = false) => Extreme(ReduceKind.Min, "Min", axes, keepDim);

    /// <summary>Minimum over one axis.</summary>
    /// <example><code>var m = x.Min(0);</code></example>
    public Tensor Min(int axis, bool keepDim = false) => Min([axis], keepDim);

    /// <summary>Index of the first maximum along <paramref name="axis"/> (over the flattened tensor when null), as int64
    /// like PyTorch; NaN counts as the largest value.</summary>
    /// <param name="axis">The axis to search (negative counts from the end); null searches the flattened tensor.</param>
    /// <param name="keepDim">Keep the searched axis with size 1.</param>
    /// <param name="selectLastIndex">Return the last index of the maximum on ties instead of the first (ONNX's select_last_index).</param>
    /// <example><code>var predicted = logits.ArgMax(1); var lastBest = scores.ArgMax(1, selectLastIndex: true);</code></example>
    public Tensor ArgMax(int? axis = null, bool keepDim = false, bool selectLastIndex = false) =>
        ArgExtreme(ReduceKind.ArgMax, "ArgMax", axis, keepDim, selectLastIndex);

    /// <summary>Index of the first minimum along <paramref name="axis"/> (over the flattened tensor when null), as int64;
    /// a NaN counts as the minimum (NaN propagates, as in PyTorch).</summary>
    /// <param name="axis">The axis to search (negative counts from the end); null searches the flattened tensor.</param>
    /// <param name="keepDim">Keep the searched axis with size 1.</param>
    /// <param name="selectLastIndex">Return the last index of the minimum on ties instead of the first (ONNX's select_last_index).</param>
    /// <example><code>var nearest = distances.ArgMin(1);</code></example>
    public Tensor ArgMin(int? axis = null, bool keepDim = false, bool selectLastIndex = false) =>
        ArgExtreme(ReduceKind.ArgMin, "ArgMin", axis, keepDim, selectLastIndex);

    /// <summary>Variance over <paramref name="axes"/>; <paramref name="correction"/> 1 gives the unbiased estimate (PyTorch's default).</summary>
    /// <example><code>var v = x.Var([0], correction: 0);</code></example>
    public Tensor Var(int[]? axes = null, bool keepDim = false, int correction = 1)
    {
        var normalized = NormalizeAxes("Var", axes);
        int count = ReducedCount(normalized);
        var centered = this - Mean(normalized, keepDim: true);
        return (centered * centered).Sum(normalized, keepDim) * (1f / Math.Max(count - correction, 0));
    }

    /// <summary>Standard deviation over <paramref name="axes"/>: the square root of <see cref="Var"/>.</summary>
    /// <example><code>var s = x.Std([0]);</code></example>
    public Tensor Std(int[]? axes = null, bool keepDim = false, int correction = 1) => Var(axes, keepDim, correction).Sqrt();

    /// <summary>log(sum(exp(x))) over <paramref name="axes"/>, computed stably by shifting by the maximum.</summary>
    /// <example><code>var lse = logits.LogSumExp([1]);</code></example>
    public Tensor LogSumExp(int[]? axes = null, bool keepDim = false)
    {
        var normalized = NormalizeAxes("LogSumExp", axes);
        Tensor shift;
        using (NoGrad())
        {
            var max = Max(normalized, keepDim: true);
            shift = Where(max.Abs() < float.PositiveInfinity, max, max.ScalarLike(0f));
        }

        var result = (this - shift).Exp().Sum(normalized, keepDim: true).Log() + shift;
        return keepDim ? result : result.Reshape(ReducedShape(shape, normalized, false));
    }

    private Tensor Extreme(ReduceKind kind, string name, int[]? axes, bool keepDim)
    {
        var normalized = NormalizeAxes(name, axes);
        var y = ReduceKernel(kind, name, normalized, keepDim);
        var x = this;
        return Record(y, name + "Backward", [this], g =>
        {
            var keep = KeepDimShape(x.shape, normalized);
            var hits = x.Eq(y.Reshape(keep)).To(DType.Float32);
            var share = hits / hits.Sum(normalized, keepDim: true);
            return [share * g.Reshape(keep)];
        });
    }

    private Tensor ArgExtreme(ReduceKind kind, string name, int? axis, bool keepDim, bool selectLastIndex)
    {
        if (axis is null)
        {
            var flat = Reshape(-1).ArgExtreme(kind, name, 0, false, selectLastIndex);
            return keepDim ? flat.Reshape(KeepDimShape(shape, AllAxes())) : flat;
        }

        return ReduceKernel(kind, name, [Shapes.NormalizeAxis(name, axis.Value, Rank)], keepDim, selectLastIndex);
    }

    /// <summary>
    /// Runs the backend reduction once per axis, highest axis first; no autograd. Float32 sums and extremes use the SIMD
    /// kernels; other types the typed ones (sums of integers and bools in int64, arg-extremes as int64); 16-bit floats
    /// reduce in float32 and round back.
    /// </summary>
    private Tensor ReduceKernel(ReduceKind kind, string name, int[] axes, bool keepDim, bool selectLastIndex = false)
    {
        ThrowIfDisposed();
        foreach (int axis in axes)
        {
            if (shape[axis] == 0 && kind != ReduceKind.Sum)
            {
                throw new ArgumentException($"{name}: cannot reduce over the empty dimension {axis} of shape {Shapes.Format(shape)}.");
            }
        }

        bool arg = kind is ReduceKind.ArgMax or ReduceKind.ArgMin;
        if (DType.IsHalf())
        {
            using var wide = CastTo(DType.Float32);
            var reduced = wide.ReduceKernel(kind, name, axes, keepDim, selectLastIndex);
            if (arg)
            {
                return reduced;
            }

            using (reduced)
            {
                return reduced.CastTo(DType);
            }
        }

        var current = DenseData();
        var currentShape = (int[])shape.Clone();
        for (int i = axes.Length - 1; i >= 0; i--)
        {
            int axis = axes[i];
            int outer = 1, inner = 1;
            for (int d = 0; d < axis; d++)
            {
                outer *= currentShape[d];
            }

            for (int d = axis + 1; d < currentShape.Length; d++)
            {
                inner *= currentShape[d];
            }

            var nextShape = (int[])currentShape.Clone();
            nextShape[axis] = 1;
            var type = current.DType;
            var resultType = arg ? DType.Int64 : kind == ReduceKind.Sum && (type.IsInteger() || type == DType.Bool) ? DType.Int64 : type;
            var next = Empty(nextShape, Device, resultType);
            if (currentShape[axis] == 0)
            {
                Backend.FillBits(next.Buffer, resultType.Size(), 0, next.Numel, 0);
            }
            else if (type == DType.Float32 && !arg)
            {
                Backend.Reduce(kind, current.Buffer, outer, currentShape[axis], inner, next.Buffer);
            }
            else
            {
                Backend.TypedReduce(kind, type, current.Buffer, outer, currentShape[axis], inner, next.Buffer, selectLastIndex);
            }

            current.Dispose();
            current = next;
            currentShape = nextShape;
        }

        var finalShape = ReducedShape(shape, axes, keepDim);
        var result = new Tensor(current.Storage, 0, finalShape, Shapes.ContiguousStrides(finalShape), current.DType);
        current.Dispose();
        return result;
    }

    private int[] NormalizeAxes(string op, int[]? axes)
    {
        if (axes is null)
        {
            return AllAxes();
        }

        var result = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            result[i] = Shapes.NormalizeAxis(op, axes[i], Rank);
        }

        Array.Sort(result);
        for (int i = 1; i < result.Length; i++)
        {
            if (result[i] == result[i - 1])
            {
                throw new ArgumentException($"{op}: axis {result[i]} is listed twice.");
            }
        }

        if (Rank == 0)
        {
            return [];
        }

        return result;
    }

    private int[] AllAxes()
    {
        var all = new int[Rank];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = i;
        }

        return all;
    }

    private int ReducedCount(int[] axes)
    {
        int count = 1;
        foreach (int a in axes)
        {
            count *= shape[a];
        }

        return count;
    }

    private static int[] KeepDimShape(int[] shape, int[] axes) => ReducedShape(shape, axes, keepDim: true);

    /// <summary>The gradient of a sum over <paramref name="axes"/>: each element of <paramref name="g"/> copied to every
    /// input position it summed, as a new dense tensor of <paramref name="inputShape"/>.</summary>
    private static Tensor SpreadOverReduced(Tensor g, int[] inputShape, int[] axes)
    {
        var gd = g.DenseData();
        var keep = KeepDimShape(inputShape, axes);
        var spread = Empty((int[])inputShape.Clone(), g.Device, g.DType);
        var source = new StridedView(gd.Buffer, 0, inputShape, Shapes.BroadcastStrides(keep, Shapes.ContiguousStrides(keep), inputShape), g.DType.Size());
        g.Backend.CopyElements(source, spread.View);
        return spread;
    }

    private static int[] ReducedShape(int[] shape, int[] axes, bool keepDim)
    {
        var result = new List<int>(shape.Length);
        for (int d = 0; d < shape.Length; d++)
        {
            if (Array.IndexOf(axes, d) < 0)
            {
                result.Add(shape[d]);
            }
            else if (keepDim)
            {
                result.Add(1);
            }
        }

        return [.. result];
    }
}
