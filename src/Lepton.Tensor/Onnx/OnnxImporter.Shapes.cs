// The shape-moving operators (Flatten, Reshape, Transpose, Concat, Unsqueeze, Pad) and the constant
// folding that turns PyTorch's Shape -> Gather -> Unsqueeze -> Concat chains into static shapes, plus the
// helpers that read a node's inputs and attributes with errors saying what was expected.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

internal sealed partial class OnnxImporter
{
    private SymbolicTensor FlattenNode(NodeProto node)
    {
        var x = Sym(node, 0);
        int axis = Axis(node, AttrInt(node, "axis", 1), x.Shape.Length + 1, allowEnd: true);
        return axis == 1
            ? new Flatten(name: LayerName(node)).Apply(x)
            : throw new NotSupportedException($"Flatten with axis {axis} would fold example dimensions into the batch; only axis 1 is supported.");
    }

    private object ReshapeNode(NodeProto node)
    {
        var target = Const(node, 1).AsInts();
        bool allowZero = AttrInt(node, "allowzero", 0) != 0;
        if (values[node.Input[0]] is Constant data)
        {
            return new Constant(Resolve(target, [.. data.Dims.Select(d => (long)d)], allowZero, node), data.Ints is null ? data.Floats : null, data.Ints, data.FromInitializer);
        }

        var x = Sym(node, 0);
        long[] full = [Batch, .. x.Shape.Select(d => (long)d)];
        var shape = Resolve(target, full, allowZero, node);
        if (shape.Length == 0 || shape[0] != -2)
        {
            throw new NotSupportedException($"the target shape {Format(target)} does not keep the batch dimension first; reshapes across the batch are not supported.");
        }

        return new Reshape(shape[1..], name: LayerName(node)).Apply(x);
    }

    /// <summary>
    /// Resolves a Reshape target against the input's full shape (batch as <see cref="Batch"/>): 0 copies the input's
    /// dimension, one -1 is inferred. The batch comes out as -2 when it stays the first dimension.
    /// </summary>
    private int[] Resolve(long[] target, long[] input, bool allowZero, NodeProto node)
    {
        foreach (long d in target.Where(d => d != Batch))
        {
            InRange(d, "the target shape", -1);
        }

        var shape = new long[target.Length];
        for (int i = 0; i < target.Length; i++)
        {
            shape[i] = target[i] == 0 && !allowZero ? (i < input.Length ? input[i] : throw new InvalidDataException($"target shape {Format(target)} copies dimension {i}, which the input {Format(input)} lacks.")) : target[i];
        }

        bool batched = input.Length > 0 && input[0] == Batch;
        long known = input.Where(d => d != Batch).Aggregate(1L, (p, d) => p * d);
        int inferred = Array.IndexOf(shape, -1L);
        if (batched)
        {
            // The batch must stay first: either as the batch itself, or as -1 with the rest covering one example.
            long rest = shape.Skip(1).Where(d => d != -1).Aggregate(1L, (p, d) => p * d);
            if (shape[0] == -1 && shape.Skip(1).All(d => d > 0) && rest == known)
            {
                shape[0] = Batch;
            }

            if (shape[0] != Batch || shape.Skip(1).Any(d => d == Batch))
            {
                return [];
            }

            int inner = Array.IndexOf(shape, -1L, 1);
            if (inner > 0)
            {
                shape[inner] = rest == 0 || known % rest != 0 ? throw new InvalidDataException($"target shape {Format(target)} does not divide {known} values per example.") : known / rest;
            }
            else if (rest != known)
            {
                throw new InvalidDataException($"target shape {Format(target)} holds {rest} values per example, but the input has {known}.");
            }

            return [-2, .. shape.Skip(1).Select(d => (int)d)];
        }

        long product = shape.Where(d => d != -1).Aggregate(1L, (p, d) => p * d);
        if (inferred >= 0)
        {
            shape[inferred] = known / Math.Max(product, 1);
        }

        return shape.Aggregate(1L, (p, d) => p * d) == known
            ? [.. shape.Select(d => (int)d)]
            : throw new InvalidDataException($"target shape {Format(target)} does not hold the {known} values of {Format(input)}.");
    }

    private object TransposeNode(NodeProto node)
    {
        bool swapsTimeAndBatch = AttrInts(node, "perm") is [1, 0, 2];
        switch (values[node.Input[0]])
        {
            case TimeFirst timeFirst when swapsTimeAndBatch:
                return timeFirst.Sequence;
            case SymbolicTensor { Shape.Length: 2 } sequence when swapsTimeAndBatch:
                return new TimeFirst(sequence);
            case RecurrentOutput { AllSteps: true } output when AttrInts(node, "perm") is [2, 0, 1, 3]:
                return new PerDirection(output.Sequence);
        }

        var x = Sym(node, 0);
        int rank = x.Shape.Length + 1;
        var perm = AttrInts(node, "perm") ?? [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
        foreach (long p in perm)
        {
            InRange(p, "perm", 0, rank - 1);
        }

        if (perm.Length != rank || perm[0] != 0)
        {
            throw new NotSupportedException($"perm {Format(perm)} moves the batch dimension (or does not match rank {rank}); only permutations of the example's dimensions are supported.");
        }

        return new Permute([.. perm.Skip(1).Select(p => (int)p)], name: LayerName(node)).Apply(x);
    }

    private object ConcatNode(NodeProto node)
    {
        var inputs = node.Input.Select(i => values[i]).ToList();
        if (inputs.All(v => v is Constant))
        {
            var parts = inputs.Cast<Constant>().ToList();
            if (parts.Any(p => p.Dims.Length != 1))
            {
                throw new NotSupportedException("only 1-D constants (shapes) are concatenated at import.");
            }

            return parts.Any(p => p.Ints is null)
                ? new Constant([parts.Sum(p => p.Count)], [.. parts.SelectMany(p => p.Floats)], null, false)
                : new Constant([parts.Sum(p => p.Count)], null, [.. parts.SelectMany(p => p.Ints!)], false);
        }

        if (inputs.Any(v => v is not SymbolicTensor))
        {
            throw new NotSupportedException("concatenating computed values with constants (or with parts of a recurrent pattern) is not supported.");
        }

        var symbolic = inputs.Cast<SymbolicTensor>().ToArray();
        int axis = Axis(node, AttrInt(node, "axis", 0), symbolic[0].Shape.Length + 1);
        return new Concatenate(axis, LayerName(node)).Apply(symbolic);
    }

    private Constant ConstantNode(NodeProto node)
    {
        var attribute = node.Attribute.FirstOrDefault() ?? throw new InvalidDataException("a Constant node needs a value attribute.");
        return attribute.Name switch
        {
            "value" => ReadConstant(attribute.T ?? throw new InvalidDataException("its value attribute holds no tensor."), $"node '{NodeName(node)}'", fromInitializer: false),
            "value_float" => new Constant([], [attribute.F], null, false),
            "value_floats" => new Constant([attribute.Floats.Count], [.. attribute.Floats], null, false),
            "value_int" => new Constant([], null, [attribute.I], false),
            "value_ints" => new Constant([attribute.Ints.Count], null, [.. attribute.Ints], false),
            _ => throw new NotSupportedException($"a Constant given as '{attribute.Name}' is not supported."),
        };
    }

    private Constant ShapeNode(NodeProto node)
    {
        long[] shape = values[node.Input[0]] switch
        {
            SymbolicTensor s => [Batch, .. s.Shape.Select(d => (long)d)],
            Constant c => [.. c.Dims.Select(d => (long)d)],
            _ => throw new InvalidDataException("its input is neither computed nor constant."),
        };
        int rank = shape.Length;
        int start = (int)Math.Clamp(AttrInt(node, "start", 0) is var s0 && s0 < 0 ? s0 + rank : s0, 0, rank);
        int end = (int)Math.Clamp(AttrInt(node, "end", rank) is var e0 && e0 < 0 ? e0 + rank : e0, 0, rank);
        long[] slice = end > start ? shape[start..end] : [];
        return new Constant([slice.Length], null, slice, false);
    }

    private object GatherNode(NodeProto node)
    {
        int axis = (int)AttrInt(node, "axis", 0);
        switch (values[node.Input[0]], values[node.Input[1]])
        {
            case (RecurrentOutput { AllSteps: false } last, Constant { Count: 1, Dims.Length: 0 } direction) when axis == 0 && direction.AsInts()[0] is 0 or -1:
                return Step(node, last.Sequence, -1);
            case (PerDirection perDirection, Constant { Count: 1, Dims.Length: 0 } direction) when axis == 2 && direction.AsInts()[0] is 0 or -1:
                return perDirection.Sequence;
            case (SymbolicTensor { Shape.Length: 2 } sequence, Constant { Count: 1, Dims.Length: 0 } index) when axis == 1:
                return Step(node, sequence, index.AsInts()[0]);
        }

        if (values[node.Input[0]] is Constant data && values[node.Input[1]] is Constant indices)
        {
            if (data.Dims.Length != 1 || axis != 0)
            {
                throw new NotSupportedException("only gathers from 1-D constants (shapes) are folded at import.");
            }

            var picked = indices.AsInts().Select(i => i < 0 ? i + data.Count : i).Select(i => i >= 0 && i < data.Count ? (int)i : throw new InvalidDataException($"index {i} is outside a constant of {data.Count} values.")).ToArray();
            return data.Ints is not null
                ? new Constant(indices.Dims, null, [.. picked.Select(i => data.Ints[i])], false)
                : new Constant(indices.Dims, [.. picked.Select(i => data.Floats[i])], null, false);
        }

        if (values[node.Input[0]] is Constant table && values[node.Input[1]] is SymbolicTensor ids && axis == 0 && table.Dims.Length == 2)
        {
            var embedding = new Embedding(table.Dims[0], table.Dims[1], name: LayerName(node));
            var y = embedding.Apply(ids);
            assignments.Add((embedding.Embeddings, table));
            return y;
        }

        throw new NotSupportedException("only Gather of ids from a 2-D table (an embedding) or of constant shapes is supported.");
    }

    private object UnsqueezeNode(NodeProto node)
    {
        var axes = Const(node, 1).AsInts();
        var input = values[node.Input[0]];
        int[] dims = input is Constant c ? c.Dims : [-1, .. AsSymbolic(node, 0).Shape];
        int rank = dims.Length + axes.Length;
        foreach (long a in axes)
        {
            InRange(a, "axes", -rank, rank - 1);
        }

        var normalized = axes.Select(a => (int)(a < 0 ? a + rank : a)).Order().ToArray();
        var shape = dims.ToList();
        foreach (int a in normalized)
        {
            shape.Insert(a >= 0 && a <= shape.Count ? a : throw new InvalidDataException($"axes {Format(axes)} are out of range for rank {dims.Length}."), 1);
        }

        if (input is Constant constant)
        {
            return new Constant([.. shape], constant.Ints is null ? constant.Floats : null, constant.Ints, constant.FromInitializer);
        }

        return normalized.Contains(0)
            ? throw new NotSupportedException("unsqueezing before the batch dimension is not supported.")
            : new Reshape([.. shape.Skip(1)], name: LayerName(node)).Apply(AsSymbolic(node, 0));
    }

    private object SqueezeNode(NodeProto node)
    {
        var input = values[node.Input[0]];
        if (input is RecurrentOutput output)
        {
            long[] directionAxis = Has(node, 1) ? Const(node, 1).AsInts() : [];
            return (output.AllSteps, directionAxis) switch
            {
                (true, [1]) => new TimeFirst(output.Sequence),
                (false, [0]) => Step(node, output.Sequence, -1),
                _ => throw new NotSupportedException($"squeezing axes {Format(directionAxis)} of a recurrent output is not supported."),
            };
        }

        int[] dims = input is Constant c ? c.Dims : [-1, .. AsSymbolic(node, 0).Shape];
        long[] axes = Has(node, 1) ? Const(node, 1).AsInts() : [.. Enumerable.Range(1, dims.Length - 1).Where(i => dims[i] == 1).Select(i => (long)i)];
        var drop = new HashSet<int>();
        foreach (long a in axes)
        {
            int axis = (int)InRange(a < 0 ? a + dims.Length : a, "axes", 0, dims.Length - 1);
            drop.Add(dims[axis] == 1 || dims[axis] == -1 ? axis : throw new InvalidDataException($"axis {a} has size {dims[axis]}, not 1."));
        }

        int[] shape = [.. dims.Where((_, i) => !drop.Contains(i))];
        if (input is Constant constant)
        {
            return new Constant(shape, constant.Ints is null ? constant.Floats : null, constant.Ints, constant.FromInitializer);
        }

        return drop.Contains(0)
            ? throw new NotSupportedException("squeezing the batch dimension is not supported.")
            : new Reshape(shape[1..], name: LayerName(node)).Apply(AsSymbolic(node, 0));
    }

    /// <summary>A mean over all spatial axes (PyTorch's x.mean([2, 3])) is global average pooling.</summary>
    private SymbolicTensor ReduceMeanNode(NodeProto node)
    {
        var x = Sym(node, 0);
        int rank = x.Shape.Length + 1;
        long[] axes = (opset >= 18 ? (Has(node, 1) ? Const(node, 1).AsInts() : null) : AttrInts(node, "axes"))
            ?? throw new NotSupportedException("a mean over every axis (the batch included) is not supported.");
        var normalized = axes.Select(a => InRange(a < 0 ? a + rank : a, "axes", 0, rank - 1)).Order().ToArray();
        bool keep = AttrInt(node, "keepdims", 1) != 0;
        string name = LayerName(node);
        SymbolicTensor pooled = (rank, normalized) switch
        {
            (4, [2, 3]) => new GlobalAveragePooling2D(name: name).Apply(x),
            (3, [2]) => new GlobalAveragePooling1D(name: name).Apply(x),
            _ => throw new NotSupportedException($"ReduceMean over axes {Format(axes)} of a rank-{rank} tensor is not supported; only means over all spatial axes (global average pooling) are."),
        };
        return keep ? new Reshape([x.Shape[0], .. Enumerable.Repeat(1, rank - 2)], name: name + "_keepdims").Apply(pooled) : pooled;
    }

    private object CastNode(NodeProto node)
    {
        var to = (TensorProto.Types.DataType)AttrInt(node, "to", 0);
        bool toInteger = to is TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Int32;
        return values[node.Input[0]] switch
        {
            Constant c when toInteger => new Constant(c.Dims, null, c.AsInts(), c.FromInitializer),
            Constant c when to is TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double => new Constant(c.Dims, c.Floats, null, c.FromInitializer),
            SymbolicTensor s when to == TensorProto.Types.DataType.Float && s.DType == DType.Float32 => s,
            SymbolicTensor s when toInteger && s.DType is DType.Int32 or DType.Int64 => s,
            _ => throw new NotSupportedException($"Cast to {to} is not supported here."),
        };
    }

    private SymbolicTensor PadNode(NodeProto node)
    {
        var x = Sym(node, 0);
        var pads = Const(node, 1).AsInts();
        foreach (long p in pads)
        {
            InRange(p, "pads", 0);
        }

        if (AttrString(node, "mode", "constant") != "constant" || (Has(node, 2) && Scalar(node, 2) != 0f) || Has(node, 3))
        {
            throw new NotSupportedException("only zero padding (mode constant, value 0, all axes) is supported.");
        }

        if (x.Shape.Length == 2 && pads.Length == 6 && pads[0] == 0 && pads[1] == 0 && pads[3] == 0 && pads[4] == 0)
        {
            return new ZeroPadding1D(((int)pads[2], (int)pads[5]), name: LayerName(node)).Apply(x);
        }

        if (x.Shape.Length != 3 || pads.Length != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0)
        {
            throw new NotSupportedException($"only padding of the length of sequences or the height and width of images is supported (pads {Format(pads)}).");
        }

        return new ZeroPadding2D(((int)pads[2], (int)pads[6], (int)pads[3], (int)pads[7]), name: LayerName(node)).Apply(x);
    }

    private static Constant FoldBinary(string op, Constant l, Constant r)
    {
        if (l.Count != r.Count && l.Count != 1 && r.Count != 1)
        {
            throw new NotSupportedException($"folding {op} of constants of shapes {Shapes.Format(l.Dims)} and {Shapes.Format(r.Dims)} is not supported.");
        }

        int count = Math.Max(l.Count, r.Count);
        int[] dims = l.Count >= r.Count ? l.Dims : r.Dims;
        if (l.Ints is not null && r.Ints is not null)
        {
            return new Constant(dims, null, [.. Enumerable.Range(0, count).Select(i => Apply(op, l.Ints[l.Count == 1 ? 0 : i], r.Ints[r.Count == 1 ? 0 : i]))], false);
        }

        return new Constant(dims, [.. Enumerable.Range(0, count).Select(i => ApplyFloat(op, l.Floats[l.Count == 1 ? 0 : i], r.Floats[r.Count == 1 ? 0 : i]))], null, false);

        static long Apply(string op, long a, long b) => a == Batch || b == Batch
            ? throw new NotSupportedException("arithmetic on the batch size is not supported.")
            : op switch { "Add" => a + b, "Sub" => a - b, "Mul" => a * b, _ => b == 0 ? throw new InvalidDataException("division by zero in a constant.") : a / b };

        static float ApplyFloat(string op, float a, float b) => op switch { "Add" => a + b, "Sub" => a - b, "Mul" => a * b, _ => a / b };
    }

    /// <summary>Input <paramref name="index"/> as a batch-first computed tensor (not a constant, nor a marker of a recurrent pattern).</summary>
    private SymbolicTensor AsSymbolic(NodeProto node, int index) => values[Input(node, index)] as SymbolicTensor
        ?? throw new NotSupportedException($"input {index} ('{node.Input[index]}') is not a batch-first tensor computed from the model's input here.");

    private SymbolicTensor Apply(NodeProto node, Layer layer) => layer.Apply(Sym(node, 0));

    private bool Has(NodeProto node, int index) => index < node.Input.Count && node.Input[index].Length > 0;

    private SymbolicTensor Sym(NodeProto node, int index) => values[Input(node, index)] switch
    {
        SymbolicTensor s => s,
        Constant => throw new NotSupportedException($"input {index} ('{node.Input[index]}') is a constant; it must be computed from the model's input."),
        _ => throw new NotSupportedException($"input {index} ('{node.Input[index]}') is part of a recurrent pattern (time-first or a recurrent node's raw output) that {node.OpType} cannot take."),
    };

    private Constant Const(NodeProto node, int index) => values[Input(node, index)] as Constant
        ?? throw new NotSupportedException($"input {index} ('{node.Input[index]}') is computed from the model's input; it must be a constant (an initializer).");

    private float Scalar(NodeProto node, int index)
    {
        var c = Const(node, index);
        return c.Count == 1 ? c.Floats[0] : throw new InvalidDataException($"input {index} ('{node.Input[index]}') should be a single value, not shape {Shapes.Format(c.Dims)}.");
    }

    private static string Input(NodeProto node, int index) => index < node.Input.Count && node.Input[index].Length > 0
        ? node.Input[index]
        : throw new InvalidDataException($"it has no input {index}.");

    private static AttributeProto? Attr(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    private static long AttrInt(NodeProto node, string name, long fallback) => Attr(node, name) is { } a ? a.I : fallback;

    private static float AttrFloat(NodeProto node, string name, float fallback) => Attr(node, name) is { } a ? a.F : fallback;

    private static string AttrString(NodeProto node, string name, string fallback) => Attr(node, name) is { } a ? a.S.ToStringUtf8() : fallback;

    private static long[]? AttrInts(NodeProto node, string name) => Attr(node, name) is { } a ? [.. a.Ints] : null;

    /// <summary>An axis of a tensor of <paramref name="rank"/> (batch included) made non-negative; the batch axis is refused.</summary>
    private static int Axis(NodeProto node, long axis, int rank, bool allowEnd = false)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a > rank || (a == rank && !allowEnd))
        {
            throw new InvalidDataException($"axis {axis} is out of range for rank {rank}.");
        }

        return a != 0 ? (int)a : throw new NotSupportedException($"{node.OpType} over the batch axis is not supported.");
    }

    /// <summary>Integer attributes (sizes, strides, pads) each checked to lie in [<paramref name="min"/>, int.MaxValue].</summary>
    private static long[]? Sizes(NodeProto node, string name, long min) => AttrInts(node, name) is { } values
        ? [.. values.Select(v => InRange(v, name, min))]
        : null;

    /// <summary><paramref name="value"/> when it lies in [<paramref name="min"/>, <paramref name="max"/>] (default int.MaxValue).</summary>
    private static long InRange(long value, string what, long min, long max = int.MaxValue) => value >= min && value <= max
        ? value
        : throw new InvalidDataException($"{what} holds {value}, outside [{min}, {max}].");

    private static string Format(long[] values) => "[" + string.Join(", ", values.Select(v => v == Batch ? "batch" : v.ToString())) + "]";
}
