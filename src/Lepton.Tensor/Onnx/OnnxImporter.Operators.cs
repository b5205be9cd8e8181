// Each supported ONNX operator as layers or as folded constants: Conv -> Conv2D (with ZeroPadding2D for
// padding that is neither "valid" nor "same"), Gemm/MatMul -> Dense, Add/Sub/Mul/Div -> Add or Arithmetic,
// BatchNormalization, pooling, activations, Flatten/Reshape/Transpose/Concat, and Shape/Gather/Unsqueeze/
// Concat chains folded to static shapes.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Onnx.Proto;

namespace Lepton.Onnx;

internal sealed partial class OnnxImporter
{
    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "Gelu", "Clip", "Softmax",
        "LogSoftmax", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape", "Transpose", "Concat",
        "Dropout", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Pad", "ReduceMean", "Cast",
        "LSTM", "GRU", "RNN", "ConstantOfShape", "Slice",
    };

    private void ImportNode(NodeProto node)
    {
        object result = node.OpType switch
        {
            "Conv" => Conv(node),
            "Gemm" => Gemm(node),
            "MatMul" => MatMul(node),
            "Add" or "Sub" or "Mul" or "Div" => Binary(node),
            "Relu" => Apply(node, new ReLU(name: LayerName(node))),
            "LeakyRelu" => Apply(node, new ReLU(AttrFloat(node, "alpha", 0.01f), name: LayerName(node))),
            "Sigmoid" or "Tanh" or "Softplus" => Apply(node, new Activation(node.OpType.ToLowerInvariant(), name: LayerName(node))),
            "Gelu" => AttrString(node, "approximate", "none") == "none"
                ? Apply(node, new Activation("gelu", name: LayerName(node)))
                : throw new NotSupportedException("only the exact GELU (approximate = \"none\") is supported."),
            "Clip" => Apply(node, new Clip(Has(node, 1) ? Scalar(node, 1) : null, Has(node, 2) ? Scalar(node, 2) : null, name: LayerName(node))),
            "Softmax" or "LogSoftmax" => SoftmaxNode(node),
            "MaxPool" or "AveragePool" => Pool(node),
            "GlobalAveragePool" => GlobalAveragePool(node),
            "BatchNormalization" => BatchNorm(node),
            "Flatten" => FlattenNode(node),
            "Reshape" => ReshapeNode(node),
            "Transpose" => TransposeNode(node),
            "Concat" => ConcatNode(node),
            "Dropout" => DropoutNode(node),
            "Identity" => values[node.Input[0]],
            "Constant" => ConstantNode(node),
            "Shape" => ShapeNode(node),
            "Gather" => GatherNode(node),
            "Unsqueeze" => UnsqueezeNode(node),
            "Squeeze" => SqueezeNode(node),
            "ReduceMean" => ReduceMeanNode(node),
            "Cast" => CastNode(node),
            "Pad" => PadNode(node),
            "LSTM" or "GRU" or "RNN" => RecurrentNode(node),
            "ConstantOfShape" => ConstantOfShapeNode(node),
            "Slice" => SliceNode(node),
            _ => throw new NotSupportedException("the operator is not supported."),
        };
        object[] results = result as object[] ?? [result];
        for (int i = 0; i < node.Output.Count; i++)
        {
            if (i < results.Length)
            {
                values[node.Output[i]] = results[i];
            }
            else if (consumed.Contains(node.Output[i]))
            {
                throw new NotSupportedException($"its output {i} ('{node.Output[i]}') is used, which is not supported (only the first {results.Length} output(s) of {node.OpType} are imported).");
            }
        }
    }

    private SymbolicTensor Conv(NodeProto node)
    {
        var x = Sym(node, 0);
        var w = Const(node, 1);
        var b = Has(node, 2) ? Const(node, 2) : null;
        int spatial = w.Dims.Length - 2;
        if (spatial is not (1 or 2) || x.Shape.Length != spatial + 1)
        {
            throw new NotSupportedException($"only 1-D and 2-D convolutions are supported; the weight has shape {Shapes.Format(w.Dims)} and the input {Shapes.Format(x.Shape)} per example.");
        }

        int group = (int)InRange(AttrInt(node, "group", 1), "group", 1);
        if (x.Shape[0] != w.Dims[1] * group)
        {
            throw new InvalidDataException($"the weight '{node.Input[1]}' of shape {Shapes.Format(w.Dims)} with group={group} expects {w.Dims[1] * group} input channels, but the input has {x.Shape[0]} (shape {Shapes.Format(x.Shape)}).");
        }

        CheckKernelShape(node, w.Dims[2..]);
        if (b is not null && b.Count != w.Dims[0])
        {
            throw new InvalidDataException($"the bias '{node.Input[2]}' has {b.Count} values for {w.Dims[0]} filters.");
        }

        var strides = Sizes(node, "strides", 1) ?? Ones(spatial);
        var dilations = Sizes(node, "dilations", 1) ?? Ones(spatial);
        var (padding, explicitPads) = Padding(node, x.Shape[1..], w.Dims[2..], strides, dilations);
        string name = LayerName(node);
        Conv2D? conv2d = null;
        Conv1D? conv1d = null;
        if (spatial == 2)
        {
            if (explicitPads is { } p)
            {
                x = new ZeroPadding2D(((int)p[0], (int)p[2], (int)p[1], (int)p[3]), name: name + "_pad").Apply(x);
                padding = "valid";
            }

            conv2d = new Conv2D(w.Dims[0], (w.Dims[2], w.Dims[3]), ((int)strides[0], (int)strides[1]), padding, ((int)dilations[0], (int)dilations[1]), useBias: b is not null, groups: group, name: name);
        }
        else
        {
            if (explicitPads is { } p)
            {
                x = new ZeroPadding1D(((int)p[0], (int)p[1]), name: name + "_pad").Apply(x);
                padding = "valid";
            }

            conv1d = new Conv1D(w.Dims[0], w.Dims[2], (int)strides[0], padding, (int)dilations[0], useBias: b is not null, groups: group, name: name);
        }

        Layer layer = (Layer?)conv2d ?? conv1d!;
        var y = layer.Apply(x);
        assignments.Add((conv2d?.Kernel ?? conv1d!.Kernel, w));
        if (b is not null)
        {
            assignments.Add((conv2d is not null ? conv2d.Bias! : conv1d!.Bias!, b));
        }

        return y;
    }

    private SymbolicTensor Gemm(NodeProto node)
    {
        var a = Sym(node, 0);
        var b = Const(node, 1);
        if (AttrInt(node, "transA", 0) != 0)
        {
            throw new NotSupportedException("transA = 1 (a transposed batch) is not supported.");
        }

        if (a.Shape.Length != 1 || b.Dims.Length != 2)
        {
            throw new InvalidDataException($"Gemm needs a matrix input and a matrix weight; got an input of shape {Shapes.Format(a.Shape)} per example and a weight of shape {Shapes.Format(b.Dims)}.");
        }

        bool transB = AttrInt(node, "transB", 0) != 0;
        int k = transB ? b.Dims[1] : b.Dims[0], units = transB ? b.Dims[0] : b.Dims[1];
        if (k != a.Shape[0])
        {
            throw new InvalidDataException($"the weight '{node.Input[1]}' of shape {Shapes.Format(b.Dims)} (transB={(transB ? 1 : 0)}) takes {k} features, but the input has {a.Shape[0]}.");
        }

        float alpha = AttrFloat(node, "alpha", 1f), beta = AttrFloat(node, "beta", 1f);
        var kernel = new float[k * units];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < units; j++)
            {
                kernel[(i * units) + j] = alpha * b.Floats[transB ? (j * k) + i : (i * units) + j];
            }
        }

        Constant? bias = null;
        if (Has(node, 2))
        {
            var c = Const(node, 2);
            if (c.Count != units && c.Count != 1)
            {
                throw new InvalidDataException($"the bias '{node.Input[2]}' of shape {Shapes.Format(c.Dims)} does not broadcast to {units} outputs.");
            }

            bias = new Constant([units], [.. Enumerable.Range(0, units).Select(j => beta * c.Floats[c.Count == 1 ? 0 : j])], null, true);
        }

        var dense = new Dense(units, useBias: bias is not null, name: LayerName(node));
        var y = dense.Apply(a);
        assignments.Add((dense.Kernel, new Constant([k, units], kernel, null, true)));
        if (bias is not null)
        {
            assignments.Add((dense.Bias!, bias));
        }

        return y;
    }

    private SymbolicTensor MatMul(NodeProto node)
    {
        var a = Sym(node, 0);
        var b = Const(node, 1);
        if (b.Dims.Length != 2 || b.Dims[0] != a.Shape[^1])
        {
            throw new InvalidDataException($"the weight '{node.Input[1]}' of shape {Shapes.Format(b.Dims)} does not multiply inputs of shape {Shapes.Format(a.Shape)} per example (a [{a.Shape[^1]}, units] matrix is needed).");
        }

        var dense = new Dense(b.Dims[1], useBias: false, name: LayerName(node));
        var y = dense.Apply(a);
        assignments.Add((dense.Kernel, b));
        return y;
    }

    private object Binary(NodeProto node)
    {
        var (left, right) = (values[node.Input[0]], values[node.Input[1]]);
        string operation = node.OpType switch { "Add" => "add", "Sub" => "subtract", "Mul" => "multiply", _ => "divide" };
        if (left is Constant l && right is Constant r)
        {
            return FoldBinary(node.OpType, l, r);
        }

        if (left is SymbolicTensor a && right is SymbolicTensor b)
        {
            return operation == "add" && Shapes.SameShape(a.Shape, b.Shape)
                ? new Add(LayerName(node)).Apply(a, b)
                : new Arithmetic(operation, name: LayerName(node)).Apply(a, b);
        }

        var (x, c, constantFirst) = (left, right) switch
        {
            (SymbolicTensor s, Constant k) => (s, k, false),
            (Constant k, SymbolicTensor s) => (s, k, true),
            _ => throw new NotSupportedException($"{node.OpType} of '{node.Input[0]}' and '{node.Input[1]}' is not supported: one is part of a recurrent pattern."),
        };
        var layer = new Arithmetic(operation, c.Dims.Length == 0 ? [1] : c.Dims, constantFirst, c.FromInitializer, LayerName(node));
        var y = layer.Apply(x);
        assignments.Add((layer.Constant!, c));
        return y;
    }

    private SymbolicTensor SoftmaxNode(NodeProto node)
    {
        var x = Sym(node, 0);
        int axis = Axis(node, AttrInt(node, "axis", -1), x.Shape.Length + 1);
        if (node.OpType == "Softmax")
        {
            return new Softmax(axis, name: LayerName(node)).Apply(x);
        }

        return axis == x.Shape.Length
            ? new Activation("log_softmax", name: LayerName(node)).Apply(x)
            : throw new NotSupportedException($"LogSoftmax over axis {axis} is not supported; only the last axis is.");
    }

    private SymbolicTensor Pool(NodeProto node)
    {
        var x = Sym(node, 0);
        var kernel = Sizes(node, "kernel_shape", 1) ?? throw new InvalidDataException("it has no kernel_shape.");
        if (kernel.Length != 2 || x.Shape.Length != 3)
        {
            throw new NotSupportedException($"only 2-D pooling is supported (kernel_shape {Format(kernel)} on inputs of shape {Shapes.Format(x.Shape)} per example).");
        }

        var strides = Sizes(node, "strides", 1) ?? Ones(2);
        if (kernel[0] != kernel[1] || strides[0] != strides[1])
        {
            throw new NotSupportedException($"only square windows and strides are supported (kernel_shape {Format(kernel)}, strides {Format(strides)}).");
        }

        if ((AttrInts(node, "dilations") ?? Ones(2)).Any(d => d != 1) || AttrInt(node, "ceil_mode", 0) != 0)
        {
            throw new NotSupportedException("dilated pooling and ceil_mode = 1 are not supported.");
        }

        var (padding, explicitPads) = Padding(node, x.Shape[1..], [(int)kernel[0], (int)kernel[1]], strides, Ones(2));
        (int, int, int, int)? sides = explicitPads is { } p ? ((int)p[0], (int)p[2], (int)p[1], (int)p[3]) : null;
        bool countPad = AttrInt(node, "count_include_pad", 0) != 0;
        if (countPad && padding == "same" && sides is null)
        {
            // "same" with counted padding: the same windows, given as explicit sides so the padding counts.
            var (top, bottom) = Layout.Same(x.Shape[1], (int)kernel[0], (int)strides[0], 1);
            var (left, right) = Layout.Same(x.Shape[2], (int)kernel[1], (int)strides[1], 1);
            sides = (top, bottom, left, right);
        }

        Layer layer = node.OpType == "MaxPool"
            ? new MaxPooling2D((int)kernel[0], (int)strides[0], padding, name: LayerName(node), explicitPadding: sides)
            : new AveragePooling2D((int)kernel[0], (int)strides[0], padding, name: LayerName(node), explicitPadding: sides, countIncludePad: countPad);
        return layer.Apply(x);
    }

    private SymbolicTensor GlobalAveragePool(NodeProto node)
    {
        var x = Sym(node, 0);
        string name = LayerName(node);
        return x.Shape.Length switch
        {
            3 => new Reshape([x.Shape[0], 1, 1], name: name + "_keepdims").Apply(new GlobalAveragePooling2D(name: name).Apply(x)),
            2 => new Reshape([x.Shape[0], 1], name: name + "_keepdims").Apply(new GlobalAveragePooling1D(name: name).Apply(x)),
            _ => throw new NotSupportedException($"GlobalAveragePool on inputs of shape {Shapes.Format(x.Shape)} per example is not supported."),
        };
    }

    private SymbolicTensor BatchNorm(NodeProto node)
    {
        var x = Sym(node, 0);
        if (AttrInt(node, "training_mode", 0) != 0)
        {
            throw new NotSupportedException("training_mode = 1 is not supported; export the model in inference mode.");
        }

        var parameters = Enumerable.Range(1, 4).Select(i => Const(node, i)).ToArray();
        for (int i = 0; i < 4; i++)
        {
            if (parameters[i].Count != x.Shape[0])
            {
                throw new InvalidDataException($"'{node.Input[i + 1]}' has {parameters[i].Count} values, but the input (shape {Shapes.Format(x.Shape)} per example) has {x.Shape[0]} channels.");
            }
        }

        var bn = new BatchNormalization(AttrFloat(node, "momentum", 0.9f), AttrFloat(node, "epsilon", 1e-5f), name: LayerName(node));
        var y = bn.Apply(x);
        string[] suffixes = ["/gamma", "/beta", "/moving_mean", "/moving_variance"];
        for (int i = 0; i < 4; i++)
        {
            assignments.Add((bn.Weights.Single(w => w.Name.EndsWith(suffixes[i], StringComparison.Ordinal)), parameters[i]));
        }

        return y;
    }

    private SymbolicTensor DropoutNode(NodeProto node)
    {
        float rate = Has(node, 1) ? Scalar(node, 1) : 0.5f;
        return new Dropout(rate, name: LayerName(node)).Apply(Sym(node, 0));
    }

    /// <summary>"valid", "same", or explicit pads [begin..., end...] for a window over <paramref name="sizes"/>.</summary>
    private (string Padding, long[]? ExplicitPads) Padding(NodeProto node, int[] sizes, int[] kernel, long[] strides, long[] dilations)
    {
        int n = sizes.Length;
        string autoPad = AttrString(node, "auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER")
        {
            return ("same", null);
        }

        if (autoPad is "VALID")
        {
            return ("valid", null);
        }

        long[] pads = new long[2 * n];
        if (autoPad is "SAME_LOWER")
        {
            for (int i = 0; i < n; i++)
            {
                var (before, after) = Layout.Same(sizes[i], kernel[i], (int)strides[i], (int)dilations[i]);
                (pads[i], pads[n + i]) = (after, before);
            }
        }
        else if (autoPad is "NOTSET" or "")
        {
            pads = Sizes(node, "pads", 0) ?? pads;
            if (pads.Length != 2 * n || pads.Any(p => p < 0))
            {
                throw new InvalidDataException($"pads {Format(pads)} should hold {2 * n} non-negative values.");
            }
        }
        else
        {
            throw new InvalidDataException($"auto_pad '{autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID.");
        }

        if (pads.All(p => p == 0))
        {
            return ("valid", null);
        }

        bool same = true;
        for (int i = 0; i < n; i++)
        {
            var (before, after) = Layout.Same(sizes[i], kernel[i], (int)strides[i], (int)dilations[i]);
            same &= pads[i] == before && pads[n + i] == after;
        }

        return same ? ("same", null) : ("valid", pads);
    }

    private void CheckKernelShape(NodeProto node, int[] weightKernel)
    {
        if (AttrInts(node, "kernel_shape") is { } declared && !declared.SequenceEqual(weightKernel.Select(d => (long)d)))
        {
            throw new InvalidDataException($"kernel_shape {Format(declared)} does not match the weight '{node.Input[1]}', whose window is {Shapes.Format(weightKernel)}.");
        }
    }

    private static long[] Ones(int n) => [.. Enumerable.Repeat(1L, n)];
}
