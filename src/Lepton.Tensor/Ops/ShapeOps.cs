// Views that change shape without touching data: reshape, flatten, squeeze/unsqueeze, transpose,
// permute and expand. A copy is made only when reshaping a non-contiguous tensor.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>The same elements in a new shape; one dimension may be -1 (inferred). A view when contiguous.</summary>
    /// <example><code>var flat = x.Reshape(-1); var m = x.Reshape(2, -1);</code></example>
    public Tensor Reshape(params int[] newShape)
    {
        ThrowIfDisposed();
        var target = InferShape("Reshape", newShape);
        Tensor y;
        if (IsContiguous)
        {
            y = ViewAs(target, Shapes.ContiguousStrides(target), Offset);
        }
        else
        {
            using var dense = CopyDense();
            y = dense.ViewAs(target, Shapes.ContiguousStrides(target), 0);
        }

        var inputShape = shape;
        return Record(y, "ReshapeBackward", [this], g => [g.Reshape(inputShape)]);
    }

    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one.</summary>
    /// <example><code>var features = images.Flatten(1); // [N, C*H*W]</code></example>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0)
        {
            return Reshape(1);
        }

        int s = Shapes.NormalizeAxis("Flatten", startDim, Rank), e = Shapes.NormalizeAxis("Flatten", endDim, Rank);
        if (s > e)
        {
            throw new ArgumentException($"Flatten: startDim ({startDim}) comes after endDim ({endDim}) for shape {Shapes.Format(shape)}.");
        }

        var target = new List<int>();
        for (int d = 0; d < s; d++)
        {
            target.Add(shape[d]);
        }

        long merged = 1;
        for (int d = s; d <= e; d++)
        {
            merged *= shape[d];
        }

        target.Add(Shapes.IsExtent(merged) ? (int)merged : throw Shapes.ExtentError("Flatten", "the merged dimension", merged, $"for shape {Shapes.Format(shape)}"));
        for (int d = e + 1; d < Rank; d++)
        {
            target.Add(shape[d]);
        }

        return Reshape([.. target]);
    }

    /// <summary>Removes size-1 dimensions (only <paramref name="axis"/> when given).</summary>
    /// <example><code>var v = x.Squeeze(1);</code></example>
    public Tensor Squeeze(int? axis = null)
    {
        var target = new List<int>();
        int only = axis is null ? -1 : Shapes.NormalizeAxis("Squeeze", axis.Value, Rank);
        for (int d = 0; d < Rank; d++)
        {
            bool drop = shape[d] == 1 && (only < 0 || d == only);
            if (!drop)
            {
                target.Add(shape[d]);
            }
        }

        return Reshape([.. target]);
    }

    /// <summary>
    /// Removes the size-1 dimensions at <paramref name="axes"/> (ONNX's Squeeze): negative axes count from the end, and
    /// an empty list removes every size-1 dimension. Unlike <see cref="Squeeze(int?)"/>, an axis whose size is not 1 is an error.
    /// </summary>
    /// <param name="axes">Distinct axes of this tensor, each of size 1.</param>
    /// <example><code>var v = x.Squeeze([0, -1]); // [1, 3, 1] -> [3]</code></example>
    public Tensor Squeeze(int[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length == 0)
        {
            return Squeeze((int?)null);
        }

        var drop = DistinctAxes("Squeeze", axes, Rank);
        var target = new List<int>();
        for (int d = 0; d < Rank; d++)
        {
            if (!drop[d])
            {
                target.Add(shape[d]);
            }
            else if (shape[d] != 1)
            {
                throw new ArgumentException($"Squeeze: axis {d} has size {shape[d]}, not 1, in shape {Shapes.Format(shape)}.", nameof(axes));
            }
        }

        return Reshape([.. target]);
    }

    /// <summary>
    /// Inserts size-1 dimensions so that they sit at <paramref name="axes"/> of the result (ONNX's Unsqueeze): the
    /// result has rank Rank + axes.Length, and negative axes count from its end.
    /// </summary>
    /// <param name="axes">Distinct axes of the result, each in [-(Rank + axes.Length), Rank + axes.Length).</param>
    /// <example><code>var y = v.Unsqueeze([0, -1]); // [3] -> [1, 3, 1]</code></example>
    public Tensor Unsqueeze(int[] axes)
    {
        ArgumentNullException.ThrowIfNull(axes);
        int rank = Rank + axes.Length;
        var inserted = DistinctAxes("Unsqueeze", axes, rank);
        var target = new int[rank];
        for (int d = 0, from = 0; d < rank; d++)
        {
            target[d] = inserted[d] ? 1 : shape[from++];
        }

        return Reshape(target);
    }

    /// <summary>Marks <paramref name="axes"/> among <paramref name="rank"/> dimensions; errors name the op for an axis out of range or given twice.</summary>
    private static bool[] DistinctAxes(string op, int[] axes, int rank)
    {
        var marked = new bool[rank];
        foreach (int axis in axes)
        {
            int a = axis < 0 ? axis + rank : axis;
            if (a < 0 || a >= rank)
            {
                throw new ArgumentOutOfRangeException(nameof(axes), axis, $"{op}: axis {axis} is out of range for {rank} dimensions (axes [{string.Join(", ", axes)}]).");
            }

            if (marked[a])
            {
                throw new ArgumentException($"{op}: axis {axis} is given twice (axes [{string.Join(", ", axes)}], as dimension {a} of {rank}).", nameof(axes));
            }

            marked[a] = true;
        }

        return marked;
    }

    /// <summary>Inserts a size-1 dimension at <paramref name="axis"/>.</summary>
    /// <example><code>var column = v.Unsqueeze(1);</code></example>
    public Tensor Unsqueeze(int axis)
    {
        int a = Shapes.NormalizeAxis("Unsqueeze", axis, Rank + 1);
        var target = new List<int>(shape);
        target.Insert(a, 1);
        return Reshape([.. target]);
    }

    /// <summary>Swaps two dimensions (a view).</summary>
    /// <example><code>var t = x.Transpose(0, 1);</code></example>
    public Tensor Transpose(int dim0, int dim1)
    {
        var order = new int[Rank];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        int a = Shapes.NormalizeAxis("Transpose", dim0, Rank), b = Shapes.NormalizeAxis("Transpose", dim1, Rank);
        (order[a], order[b]) = (order[b], order[a]);
        return Permute(order);
    }

    /// <summary>The matrix transpose of the last two dimensions (a view).</summary>
    /// <example><code>var wt = w.T;</code></example>
    public Tensor T => Rank < 2 ? Detach() : Transpose(-2, -1);

    /// <summary>Reorders dimensions (a view): result dim i is input dim order[i].</summary>
    /// <example><code>var nhwc = nchw.Permute(0, 2, 3, 1);</code></example>
    public Tensor Permute(params int[] order)
    {
        ThrowIfDisposed();
        if (order.Length != Rank)
        {
            throw new ArgumentException($"Permute: {order.Length} dimensions given for a tensor of shape {Shapes.Format(shape)}.");
        }

        var newShape = new int[Rank];
        var newStrides = new int[Rank];
        var inverse = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = Shapes.NormalizeAxis("Permute", order[i], Rank);
            if (seen[d])
            {
                throw new ArgumentException($"Permute: dimension {d} appears twice in ({string.Join(", ", order)}).");
            }

            seen[d] = true;
            newShape[i] = shape[d];
            newStrides[i] = strides[d];
            inverse[d] = i;
        }

        var y = ViewAs(newShape, newStrides, Offset);
        return Record(y, "PermuteBackward", [this], g => [g.Permute(inverse)]);
    }

    /// <summary>A broadcast view with size-1 dimensions repeated to <paramref name="target"/> (no copy).</summary>
    /// <example><code>var rows = bias.Expand([64, 10]);</code></example>
    public Tensor Expand(params int[] target)
    {
        ThrowIfDisposed();
        var full = Shapes.Broadcast("Expand", shape, target);
        if (!Shapes.SameShape(full, target))
        {
            throw new ArgumentException($"Expand: shape {Shapes.Format(shape)} cannot be expanded to {Shapes.Format(target)}.");
        }

        var y = ViewAs((int[])target.Clone(), Shapes.BroadcastStrides(shape, strides, target), Offset);
        var inputShape = shape;
        return Record(y, "ExpandBackward", [this], g => [g.SumToShape(inputShape)]);
    }

    /// <summary>Same as <see cref="Expand"/>, NumPy's name.</summary>
    /// <example><code>var b = x.BroadcastTo([3, 4]);</code></example>
    public Tensor BroadcastTo(params int[] target) => Expand(target);

    /// <summary>A dense row-major tensor with the same values: a view when already contiguous, else a copy.</summary>
    /// <example><code>var dense = x.T.Contiguous();</code></example>
    public Tensor Contiguous()
    {
        ThrowIfDisposed();
        if (IsContiguous)
        {
            return Record(ViewAs(shape, strides, Offset), "ContiguousBackward", [this], g => [g]);
        }

        return Record(CopyDense(), "ContiguousBackward", [this], g => [g]);
    }

    private int[] InferShape(string op, int[] requested)
    {
        int n = Numel, inferAt = -1;
        long known = 1;
        for (int i = 0; i < requested.Length; i++)
        {
            if (requested[i] == -1)
            {
                if (inferAt >= 0)
                {
                    throw new ArgumentException($"{op}: only one dimension can be -1 in {Shapes.Format(requested)}.");
                }

                inferAt = i;
            }
            else if (requested[i] < 0)
            {
                throw new ArgumentException($"{op}: shape {Shapes.Format(requested)} has a negative size.");
            }
            else
            {
                // Saturated above the element count: a product past it can only fail the checks below.
                known = Math.Min(known * requested[i], (long)n + 1);
            }
        }

        var result = (int[])requested.Clone();
        if (inferAt >= 0)
        {
            if (known == 0 || n % known != 0)
            {
                throw new ArgumentException($"{op}: cannot reshape a tensor of shape {Shapes.Format(shape)} ({n} elements) to {Shapes.Format(requested)}.");
            }

            result[inferAt] = (int)(n / known);
        }
        else if (known != n)
        {
            throw new ArgumentException($"{op}: cannot reshape a tensor of shape {Shapes.Format(shape)} ({n} elements) to {Shapes.Format(requested)}.");
        }

        return result;
    }
}
