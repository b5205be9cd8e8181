// Slicing and indexing as views (backward scatters into zeros through the same view), index
// selection and gather by integer tensors, and concat/stack.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>NumPy-style indexing: integers select (dropping the dimension), ranges slice; a view.</summary>
    /// <example><code>var row = x[1]; var cols = x[.., 0..2]; var last = x[^1];</code></example>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[params TensorIndex[] indices]
    {
        get
        {
            ThrowIfDisposed();
            if (indices.Length > Rank)
            {
                throw new ArgumentException($"Index: {indices.Length} indices given for a tensor of shape {Shapes.Format(shape)}.");
            }

            var spec = new (int Start, int Step, int Count, bool Keep)[Rank];
            for (int d = 0; d < Rank; d++)
            {
                spec[d] = (0, 1, shape[d], true);
                if (d >= indices.Length)
                {
                    continue;
                }

                if (indices[d].Index is { } index)
                {
                    int i = index.GetOffset(shape[d]);
                    if (i < 0 || i >= shape[d])
                    {
                        throw new IndexOutOfRangeException($"Index: index {index} is out of range for dimension {d} of size {shape[d]} (shape {Shapes.Format(shape)}).");
                    }

                    spec[d] = (i, 1, 1, false);
                }
                else
                {
                    var range = indices[d].Range!.Value;
                    int start = Math.Clamp(range.Start.GetOffset(shape[d]), 0, shape[d]);
                    int end = Math.Clamp(range.End.GetOffset(shape[d]), 0, shape[d]);
                    spec[d] = (start, 1, Math.Max(0, end - start), true);
                }
            }

            return StridedSlice("Index", spec);
        }
    }

    /// <summary>Elements start, start + step, ... below end along one axis (a view); end may be negative.</summary>
    /// <example><code>var evens = x.Slice(0, 0, x.Shape[0], step: 2);</code></example>
    public Tensor Slice(int axis, int start, int end, int step = 1)
    {
        int a = Shapes.NormalizeAxis("Slice", axis, Rank);
        if (step <= 0)
        {
            throw new ArgumentException($"Slice: step must be positive, got {step}.");
        }

        int size = shape[a];
        int s = Math.Clamp(start < 0 ? start + size : start, 0, size);
        int e = Math.Clamp(end < 0 ? end + size : end, 0, size);
        var spec = FullSpec();
        spec[a] = (s, step, e > s ? ((e - s - 1) / step) + 1 : 0, true);
        return StridedSlice("Slice", spec);
    }

    /// <summary>length elements starting at start along one axis (a view), like <c>torch.narrow</c>.</summary>
    /// <example><code>var firstTwo = x.Narrow(1, 0, 2);</code></example>
    public Tensor Narrow(int axis, int start, int length)
    {
        int a = Shapes.NormalizeAxis("Narrow", axis, Rank);
        if (start < 0 || length < 0 || (long)start + length > shape[a])
        {
            throw new ArgumentException($"Narrow: [{start}, {(long)start + length}) is outside dimension {a} of shape {Shapes.Format(shape)}.");
        }

        var spec = FullSpec();
        spec[a] = (start, 1, length, true);
        return StridedSlice("Narrow", spec);
    }

    /// <summary>The slice at <paramref name="index"/> along <paramref name="axis"/>, with that dimension removed (a view).</summary>
    /// <example><code>var channel0 = images.Select(1, 0);</code></example>
    public Tensor Select(int axis, int index)
    {
        int a = Shapes.NormalizeAxis("Select", axis, Rank);
        int i = index < 0 ? index + shape[a] : index;
        if (i < 0 || i >= shape[a])
        {
            throw new IndexOutOfRangeException($"Select: index {index} is out of range for dimension {a} of shape {Shapes.Format(shape)}.");
        }

        var spec = FullSpec();
        spec[a] = (i, 1, 1, false);
        return StridedSlice("Select", spec);
    }

    /// <summary>Rows of <paramref name="axis"/> picked by an int32 index vector (a copy), like <c>torch.index_select</c>.</summary>
    /// <param name="axis">The axis the indices pick along.</param>
    /// <param name="index">Int32 indices [count], each a whole number in [-size, size) of the axis; a negative one counts
    /// from the end (-1 is the last row), as ONNX's Gather allows.</param>
    /// <example><code>var batch = images.IndexSelect(0, Tensor.FromArray(new[] { 4, 2, -1 }, [3]));</code></example>
    public Tensor IndexSelect(int axis, Tensor index) => IndexSelect(axis, index, "IndexSelect", negativeFromEnd: true);

    /// <summary>Index-select with errors naming <paramref name="op"/> (Embedding picks rows through it, without negative indices).</summary>
    internal Tensor IndexSelect(int axis, Tensor index, string op, bool negativeFromEnd)
    {
        int a = Shapes.NormalizeAxis(op, axis, Rank);
        CheckIndexTensor(op, index, 1);
        CheckSameDevice(op, this, index);
        var outShape = (int[])shape.Clone();
        outShape[a] = index.shape[0];
        if (!Shapes.IsValidSize(outShape))
        {
            throw Shapes.SizeError(op, outShape, $" (picking {index.shape[0]} rows of {Shapes.Format(shape)} along axis {a})");
        }

        CheckIndexValues(op, index, shape[a], labels: false, negativeFromEnd);
        if (DType.Size() < 4)
        {
            // Picked through an exact widening: 16-bit floats in float32 (recorded), small integers and bool in int32.
            if (DType.IsHalf())
            {
                return Narrowed(Widened.IndexSelect(axis, index, op, negativeFromEnd), DType);
            }

            using var wide = CastTo(DType.Int32);
            using var picked = wide.IndexSelect(axis, index, op, negativeFromEnd);
            return picked.CastTo(DType);
        }

        var (outer, inner) = OuterInner(shape, a);
        int count = index.Numel;
        var x = DenseData();
        var ix = IndexBuffer(index);
        var y = Empty(outShape, Device, DType);

        // The kernels move 4-byte lanes: an 8-byte element is two of them.
        int lanes = DType.Size() / 4;
        Backend.IndexSelect(x.Buffer, outer, shape[a], inner * lanes, ix.Buffer, count, y.Buffer, negativeFromEnd);
        var inputShape = shape;
        return Record(y, "IndexSelectBackward", [this], g =>
        {
            var dx = Zeros(inputShape, DType.Float32, g.Device);
            var gd = g.DenseData();
            g.Backend.IndexAdd(gd.Buffer, outer, inputShape[a], inner, ix.Buffer, count, dx.Buffer, negativeFromEnd);
            return [dx];
        });
    }

    /// <summary>Values along <paramref name="axis"/> at positions given by an int32 index of the same rank, like <c>torch.gather</c>.</summary>
    /// <param name="axis">The axis the indices pick along.</param>
    /// <param name="index">Int32 indices, each a whole number in [-size, size) of the axis (a negative one counts from the
    /// end, as ONNX's GatherElements allows); the result has their shape.</param>
    /// <example><code>var picked = logProbs.Gather(1, labels.Unsqueeze(1));</code></example>
    public Tensor Gather(int axis, Tensor index) => Gather(axis, index, "Gather", labels: false, negativeFromEnd: true);

    /// <summary>Gather with errors naming <paramref name="op"/>, calling the values labels when <paramref name="labels"/>;
    /// negative values count from the end only when <paramref name="negativeFromEnd"/> (not for NllLoss's class indices).</summary>
    internal Tensor Gather(int axis, Tensor index, string op, bool labels, bool negativeFromEnd)
    {
        int a = Shapes.NormalizeAxis(op, axis, Rank);
        CheckIndexTensor(op, index, Rank);
        CheckSameDevice(op, this, index);
        for (int d = 0; d < Rank; d++)
        {
            if (d != a && index.shape[d] != shape[d])
            {
                throw new ArgumentException($"{op}: index shape {Shapes.Format(index.shape)} must match input shape {Shapes.Format(shape)} except along axis {a}.");
            }
        }

        CheckIndexValues(op, index, shape[a], labels, negativeFromEnd);
        if (DType.Size() < 4)
        {
            if (DType.IsHalf())
            {
                return Narrowed(Widened.Gather(axis, index, op, labels, negativeFromEnd), DType);
            }

            using var wide = CastTo(DType.Int32);
            using var picked = wide.Gather(axis, index, op, labels, negativeFromEnd);
            return picked.CastTo(DType);
        }

        var (outer, inner) = OuterInner(shape, a);
        var x = DenseData();
        var ix = IndexBuffer(index);
        var y = Empty((int[])index.shape.Clone(), Device, DType);
        int indexAxis = index.shape[a];
        if (DType.Size() == 8)
        {
            // Two 4-byte lanes per element: each index repeated for both lanes of its element.
            // 8-byte types never require gradients, so nothing keeps the index.
            using var pair = ix.Unsqueeze(-1).Expand([.. ix.shape, 2]).Contiguous();
            Backend.Gather(x.Buffer, outer, shape[a], inner * 2, pair.Buffer, indexAxis, y.Buffer, negativeFromEnd);
            ix.Dispose();
            return y;
        }

        Backend.Gather(x.Buffer, outer, shape[a], inner, ix.Buffer, indexAxis, y.Buffer, negativeFromEnd);
        var inputShape = shape;
        return Record(y, "GatherBackward", [this], g =>
        {
            var dx = Zeros(inputShape, DType.Float32, g.Device);
            var gd = g.DenseData();
            g.Backend.ScatterAdd(gd.Buffer, outer, inputShape[a], inner, ix.Buffer, indexAxis, dx.Buffer, negativeFromEnd);
            return [dx];
        });
    }

    /// <summary>Joins tensors along an existing axis; all other dimensions must match.</summary>
    /// <example><code>var both = Tensor.Concat([a, b], axis: 0);</code></example>
    public static Tensor Concat(Tensor[] tensors, int axis = 0) => Concat("Concat", tensors, axis);

    /// <summary>Concat, with errors naming <paramref name="op"/> (Stack joins through it).</summary>
    private static Tensor Concat(string op, Tensor[] tensors, int axis)
    {
        if (tensors.Length == 0)
        {
            throw new ArgumentException("Concat: at least one tensor is needed.");
        }

        var first = tensors[0];
        int a = Shapes.NormalizeAxis("Concat", axis, first.Rank);
        long total = 0;
        foreach (var t in tensors)
        {
            t.ThrowIfDisposed();
            CheckSameDevice("Concat", first, t);
            bool compatible = t.Rank == first.Rank;
            for (int d = 0; compatible && d < t.Rank; d++)
            {
                compatible = d == a || t.shape[d] == first.shape[d];
            }

            if (!compatible)
            {
                throw new ArgumentException($"Concat: shapes {Shapes.Format(first.shape)} and {Shapes.Format(t.shape)} differ outside axis {a}.");
            }

            total += t.shape[a];
        }

        var outShape = (int[])first.shape.Clone();
        outShape[a] = Shapes.IsExtent(total) ? (int)total : throw Shapes.ExtentError(op, $"axis {a}", total, $"after joining {tensors.Length} tensors of shapes like {Shapes.Format(first.shape)}");
        if (!Shapes.IsValidSize(outShape))
        {
            throw Shapes.SizeError(op, outShape, $" (joining {tensors.Length} tensors along axis {a})");
        }

        var dtype = first.DType;
        foreach (var t in tensors)
        {
            dtype = dtype.Promote(t.DType);
        }

        var y = Empty(outShape, first.Device, dtype);
        var offsets = new int[tensors.Length];
        int offset = 0;
        for (int i = 0; i < tensors.Length; i++)
        {
            offsets[i] = offset;
            var t = tensors[i];
            var dstStrides = y.strides;
            using (var converted = t.DType == dtype ? null : t.CastTo(dtype))
            {
                y.Backend.CopyElements((converted ?? t).View, new Backends.StridedView(y.Buffer, offset * dstStrides[a], t.shape, dstStrides, dtype.Size()));
            }

            offset += t.shape[a];
        }

        return Record(y, "ConcatBackward", tensors, g =>
        {
            var grads = new Tensor?[tensors.Length];
            for (int i = 0; i < tensors.Length; i++)
            {
                grads[i] = tensors[i].RequiresGrad ? g.Narrow(a, offsets[i], tensors[i].shape[a]).Contiguous() : null;
            }

            return grads;
        });
    }

    /// <summary>Joins same-shaped tensors along a new axis.</summary>
    /// <example><code>var batch = Tensor.Stack([x0, x1, x2]);</code></example>
    public static Tensor Stack(Tensor[] tensors, int axis = 0)
    {
        if (tensors.Length == 0)
        {
            throw new ArgumentException("Stack: at least one tensor is needed.");
        }

        foreach (var t in tensors)
        {
            if (!Shapes.SameShape(t.shape, tensors[0].shape))
            {
                throw new ArgumentException($"Stack: shapes {Shapes.Format(tensors[0].shape)} and {Shapes.Format(t.shape)} differ.");
            }
        }

        var expanded = new Tensor[tensors.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            expanded[i] = tensors[i].Unsqueeze(axis);
        }

        return Concat("Stack", expanded, axis < 0 ? axis + tensors[0].Rank + 1 : axis);
    }

    private (int Start, int Step, int Count, bool Keep)[] FullSpec()
    {
        var spec = new (int, int, int, bool)[Rank];
        for (int d = 0; d < Rank; d++)
        {
            spec[d] = (0, 1, shape[d], true);
        }

        return spec;
    }

    /// <summary>Applies a per-dimension (start, step, count, keep) slice to any layout.</summary>
    private static (int[] Shape, int[] Strides, int Offset) SliceLayout(int[] strides, int offset, (int Start, int Step, int Count, bool Keep)[] spec)
    {
        var newShape = new List<int>();
        var newStrides = new List<int>();
        for (int d = 0; d < spec.Length; d++)
        {
            offset += spec[d].Start * strides[d];
            if (spec[d].Keep)
            {
                newShape.Add(spec[d].Count);
                newStrides.Add(strides[d] * spec[d].Step);
            }
        }

        return ([.. newShape], [.. newStrides], offset);
    }

    private Tensor StridedSlice(string name, (int Start, int Step, int Count, bool Keep)[] spec)
    {
        var (newShape, newStrides, newOffset) = SliceLayout(strides, Offset, spec);
        var y = ViewAs(newShape, newStrides, newOffset);
        var inputShape = shape;
        return Record(y, name + "Backward", [this], g =>
        {
            var dx = Zeros(inputShape, g.DType, g.Device);
            var (_, dStrides, dOffset) = SliceLayout(dx.strides, 0, spec);
            g.Backend.CopyElements(g.View, new Backends.StridedView(dx.Buffer, dOffset, newShape, dStrides, g.DType.Size()));
            return [dx];
        });
    }

    private static (int Outer, int Inner) OuterInner(int[] shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++)
        {
            outer *= shape[d];
        }

        for (int d = axis + 1; d < shape.Length; d++)
        {
            inner *= shape[d];
        }

        return (outer, inner);
    }

    /// <summary>
    /// The index as the dense int32 tensor the kernels read: int32 indices themselves, int64 ones narrowed with saturation
    /// (a value beyond the int32 range is out of range for any dimension, and stays so).
    /// </summary>
    internal static Tensor IndexBuffer(Tensor index)
    {
        if (index.DType == DType.Int32)
        {
            return index.DenseData();
        }

        using var low = Full([], int.MinValue, DType.Int64, index.Device);
        using var high = Full([], int.MaxValue, DType.Int64, index.Device);
        using var raised = Empty(index.Shape, index.Device, DType.Int64);
        index.Backend.TypedBinary(TypedBinaryOp.Maximum, DType.Int64, index.View, low.BroadcastView(index.shape), raised.Buffer, index.Shape);
        using var clamped = Empty(index.Shape, index.Device, DType.Int64);
        index.Backend.TypedBinary(TypedBinaryOp.Minimum, DType.Int64, raised.View, high.BroadcastView(index.shape), clamped.Buffer, index.Shape);
        return clamped.CastTo(DType.Int32);
    }

    private static void CheckIndexTensor(string op, Tensor index, int rank)
    {
        index.ThrowIfDisposed();
        if (index.DType is not (DType.Int32 or DType.Int64))
        {
            throw new ArgumentException($"{op}: the index must be an int32 or int64 tensor, got {index.DType.Name()} {Shapes.Format(index.shape)}.");
        }

        if (index.Rank != rank)
        {
            throw new ArgumentException($"{op}: the index must have rank {rank}, got shape {Shapes.Format(index.shape)}.");
        }
    }

    /// <summary>
    /// Every index a whole number in [0, size) (or [-size, size) when <paramref name="negativeFromEnd"/>), checked here on
    /// backends that do not check inside their kernels (those report a bad index, with the same message, at their next read-back).
    /// </summary>
    private static void CheckIndexValues(string op, Tensor index, int size, bool labels, bool negativeFromEnd = false)
    {
        if (index.Backend.ValidatesIndices)
        {
            return;
        }

        // A check that a captured step repeats on every replay's indices.
        var dense = index.DenseData();
        var dtype = dense.DType;
        int count = dense.Numel;
        Capture.StepCapture.Dynamic(op, dense.Backend, [dense.Buffer], 0, (b, s) => IndexValues.Check(b, s[0]!, dtype, count, op, size, labels, negativeFromEnd));
    }
}
