// The ONNX nodes of each layer type: Dense -> Gemm (MatMul + Add beyond rank 2), Conv2D/Conv1D -> Conv
// with explicit pads, pooling, batch norm in inference form, dropout -> Identity, activations, merges,
// reshapes, Embedding -> Gather. Channels-last layers are wrapped in Transposes.
using Lepton.Nn;
using Lepton.Nn.Layers;
using static Lepton.Onnx.OnnxGraphBuilder;

namespace Lepton.Onnx;

/// <summary>Per-layer ONNX export.</summary>
internal static class OnnxLayerExport
{
    private static readonly long[] ToFirst = [0, 3, 1, 2], ToLast = [0, 2, 3, 1], SequenceSwap = [0, 2, 1];

    /// <summary>Whether <see cref="Emit"/> handles the layer.</summary>
    public static bool Supports(Layer layer) => layer is Dense or Conv2D or Conv1D or Pooling2D or MaxPooling1D or GlobalAveragePooling2D
        or GlobalAveragePooling1D or BatchNormalization or Dropout or Activation or ReLU or Softmax or Add or Concatenate or Flatten
        or Reshape or Embedding { MaskZero: false } or InputLayer or Arithmetic or Permute or Clip or ZeroPadding2D or ZeroPadding1D or Cropping1D
        || (layer is RecurrentLayer recurrent && OnnxRecurrentExport.Supports(recurrent))
        || (layer is Bidirectional bidirectional && OnnxRecurrentExport.Supports(bidirectional))
        || (layer is TimeDistributed { Layer: var inner } && inner is not Model && Supports(inner));

    /// <summary>Adds the layer's nodes on its inputs and returns the name of its output.</summary>
    public static string Emit(OnnxGraphBuilder g, Layer layer, OnnxValue[] inputs, int[] outputShape)
    {
        var x = inputs[0];
        string n = layer.Name;
        switch (layer)
        {
            case InputLayer:
                return x.Name;
            case Dense dense:
                {
                    string y = x.Shape.Length == 1
                        ? g.Node("Gemm", dense.Bias is null ? [x.Name, g.Weight(dense.Kernel)] : [x.Name, g.Weight(dense.Kernel), g.Weight(dense.Bias)], $"{n}/Gemm")
                        : dense.Bias is null
                            ? g.Node("MatMul", [x.Name, g.Weight(dense.Kernel)], $"{n}/MatMul")
                            : g.Node("Add", [g.Node("MatMul", [x.Name, g.Weight(dense.Kernel)], $"{n}/MatMul"), g.Weight(dense.Bias)], $"{n}/Add");
                    return Activate(g, y, dense.ActivationName, n);
                }

            case Conv2D conv:
                {
                    bool last = conv.DataFormat == DataFormat.ChannelsLast;
                    string input = last ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", ToFirst)) : x.Name;
                    var (h, w) = last ? (x.Shape[0], x.Shape[1]) : (x.Shape[1], x.Shape[2]);
                    var (top, bottom) = Pads(conv.Padding, h, conv.KernelSize.H, conv.Strides.H, conv.DilationRate.H);
                    var (left, right) = Pads(conv.Padding, w, conv.KernelSize.W, conv.Strides.W, conv.DilationRate.W);
                    string y = g.Node(
                        "Conv", conv.Bias is null ? [input, g.Weight(conv.Kernel)] : [input, g.Weight(conv.Kernel), g.Weight(conv.Bias)], $"{n}/Conv",
                        Ints("kernel_shape", conv.KernelSize.H, conv.KernelSize.W), Ints("strides", conv.Strides.H, conv.Strides.W),
                        Ints("dilations", conv.DilationRate.H, conv.DilationRate.W), Int("group", conv.Groups), Ints("pads", top, left, bottom, right));
                    y = Activate(g, y, conv.ActivationName, n);
                    return last ? g.Node("Transpose", [y], $"{n}/ToChannelsLast", Ints("perm", ToLast)) : y;
                }

            case Conv1D conv:
                {
                    bool last = conv.DataFormat == DataFormat.ChannelsLast;
                    string input = last ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", SequenceSwap)) : x.Name;
                    var (begin, end) = Pads(conv.Padding, last ? x.Shape[0] : x.Shape[1], conv.KernelSize, conv.Strides, conv.DilationRate);
                    string y = g.Node(
                        "Conv", conv.Bias is null ? [input, g.Weight(conv.Kernel)] : [input, g.Weight(conv.Kernel), g.Weight(conv.Bias)], $"{n}/Conv",
                        Ints("kernel_shape", conv.KernelSize), Ints("strides", conv.Strides), Ints("dilations", conv.DilationRate), Int("group", conv.Groups),
                        Ints("pads", begin, end));
                    y = Activate(g, y, conv.ActivationName, n);
                    return last ? g.Node("Transpose", [y], $"{n}/ToChannelsLast", Ints("perm", SequenceSwap)) : y;
                }

            case Pooling2D pool:
                {
                    bool last = pool.DataFormat == DataFormat.ChannelsLast;
                    string input = last ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", ToFirst)) : x.Name;
                    var (h, w) = last ? (x.Shape[0], x.Shape[1]) : (x.Shape[1], x.Shape[2]);
                    var (top, bottom) = pool.ExplicitPadding is { } e ? (e.Top, e.Bottom) : Pads(pool.Padding, h, pool.PoolSize.H, pool.Strides.H, 1);
                    var (left, right) = pool.ExplicitPadding is { } f ? (f.Left, f.Right) : Pads(pool.Padding, w, pool.PoolSize.W, pool.Strides.W, 1);
                    var attributes = new List<Proto.AttributeProto>
                {
                    Ints("kernel_shape", pool.PoolSize.H, pool.PoolSize.W), Ints("strides", pool.Strides.H, pool.Strides.W), Ints("pads", top, left, bottom, right),
                };
                    if (pool is AveragePooling2D average)
                    {
                        attributes.Add(Int("count_include_pad", average.CountIncludePad ? 1 : 0));
                    }

                    string y = g.Node(pool is MaxPooling2D ? "MaxPool" : "AveragePool", [input], $"{n}/Pool", [.. attributes]);
                    return last ? g.Node("Transpose", [y], $"{n}/ToChannelsLast", Ints("perm", ToLast)) : y;
                }

            case MaxPooling1D pool:
                {
                    bool last = pool.DataFormat == DataFormat.ChannelsLast;
                    string input = last ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", SequenceSwap)) : x.Name;
                    var (begin, end) = Pads(pool.Padding, last ? x.Shape[0] : x.Shape[1], pool.PoolSize, pool.Strides, 1);
                    string y = g.Node("MaxPool", [input], $"{n}/Pool", Ints("kernel_shape", pool.PoolSize), Ints("strides", pool.Strides), Ints("pads", begin, end));
                    return last ? g.Node("Transpose", [y], $"{n}/ToChannelsLast", Ints("perm", SequenceSwap)) : y;
                }

            case GlobalAveragePooling2D pool:
                {
                    string input = pool.DataFormat == DataFormat.ChannelsLast ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", ToFirst)) : x.Name;
                    return g.Node("Flatten", [g.Node("GlobalAveragePool", [input], $"{n}/Pool")], $"{n}/Flatten", Int("axis", 1));
                }

            case GlobalAveragePooling1D pool:
                {
                    string input = pool.DataFormat == DataFormat.ChannelsLast ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", SequenceSwap)) : x.Name;
                    return g.Node("Flatten", [g.Node("GlobalAveragePool", [input], $"{n}/Pool")], $"{n}/Flatten", Int("axis", 1));
                }

            case BatchNormalization bn:
                {
                    bool last = x.Shape.Length == 3 && bn.DataFormat == DataFormat.ChannelsLast;
                    string input = last ? g.Node("Transpose", [x.Name], $"{n}/ToChannelsFirst", Ints("perm", ToFirst)) : x.Name;
                    int channels = bn.MovingMean.Shape[0];
                    var gamma = bn.Weights.FirstOrDefault(w => w.Name.EndsWith("/gamma", StringComparison.Ordinal));
                    var beta = bn.Weights.FirstOrDefault(w => w.Name.EndsWith("/beta", StringComparison.Ordinal));
                    string y = g.Node(
                        "BatchNormalization",
                        [input, gamma is null ? g.Floats($"{n}/gamma", Filled(channels, 1f), [channels]) : g.Weight(gamma),
                     beta is null ? g.Floats($"{n}/beta", Filled(channels, 0f), [channels]) : g.Weight(beta), g.Weight(bn.MovingMean), g.Weight(bn.MovingVariance)],
                        $"{n}/BatchNormalization", Float("epsilon", bn.Epsilon), Float("momentum", bn.Momentum));
                    return last ? g.Node("Transpose", [y], $"{n}/ToChannelsLast", Ints("perm", ToLast)) : y;
                }

            case Dropout:
                return g.Node("Identity", [x.Name], n);
            case Activation activation:
                return Activate(g, x.Name, activation.ActivationName, n, always: true);
            case ReLU relu:
                return relu.NegativeSlope == 0f ? g.Node("Relu", [x.Name], n) : g.Node("LeakyRelu", [x.Name], n, Float("alpha", relu.NegativeSlope));
            case Softmax softmax:
                return g.Node("Softmax", [x.Name], n, Int("axis", softmax.Axis));
            case Add:
                {
                    string sum = x.Name;
                    for (int i = 1; i < inputs.Length; i++)
                    {
                        sum = g.Node("Add", [sum, inputs[i].Name], $"{n}/Add");
                    }

                    return sum;
                }

            case Concatenate concatenate:
                return g.Node("Concat", inputs.Select(i => i.Name), n, Int("axis", concatenate.Axis));
            case Flatten:
                return g.Node("Flatten", [x.Name], n, Int("axis", 1));
            case Reshape reshape:
                return g.Node("Reshape", [x.Name, g.Int64s($"{n}/shape", [0, .. reshape.TargetShape.Select(d => (long)d)])], n);
            case Permute permute:
                return g.Node("Transpose", [x.Name], n, Ints("perm", [0, .. permute.Dims.Select(d => (long)d)]));
            case Clip clip:
                return g.Node(
                    "Clip",
                    [x.Name, clip.Min is { } lo ? g.Floats($"{n}/min", [lo], []) : "", clip.Max is { } hi ? g.Floats($"{n}/max", [hi], []) : ""],
                    n);
            case ZeroPadding2D pad:
                {
                    var (t, b, l, r) = pad.Padding;
                    long[] pads = pad.DataFormat == DataFormat.ChannelsLast ? [0, t, l, 0, 0, b, r, 0] : [0, 0, t, l, 0, 0, b, r];
                    return g.Node("Pad", [x.Name, g.Int64s($"{n}/pads", pads)], n, String("mode", "constant"));
                }

            case Cropping1D crop:
                return g.Node(
                    "Slice", [x.Name, g.Int64s($"{n}/starts", crop.Cropping.Start), g.Int64s($"{n}/ends", x.Shape[0] - crop.Cropping.End), g.Int64s($"{n}/axes", 1)], n);
            case ZeroPadding1D pad:
                {
                    var (start, end) = pad.Padding;
                    long[] pads = pad.DataFormat == DataFormat.ChannelsLast ? [0, start, 0, 0, end, 0] : [0, 0, start, 0, 0, end];
                    return g.Node("Pad", [x.Name, g.Int64s($"{n}/pads", pads)], n, String("mode", "constant"));
                }

            case Arithmetic arithmetic:
                {
                    string op = arithmetic.Operation switch { "add" => "Add", "subtract" => "Sub", "multiply" => "Mul", _ => "Div" };
                    if (arithmetic.Constant is not { } constant)
                    {
                        return g.Node(op, [x.Name, inputs[1].Name], n);
                    }

                    return g.Node(op, arithmetic.ConstantFirst ? [g.Weight(constant), x.Name] : [x.Name, g.Weight(constant)], n);
                }

            case RecurrentLayer recurrent when inputs.Length == 1:
                return OnnxRecurrentExport.Emit(g, recurrent, x);
            case Bidirectional bidirectional when inputs.Length == 1:
                return OnnxRecurrentExport.Emit(g, bidirectional, x);
            case TimeDistributed distributed:
                {
                    // Fold time into the batch, run the wrapped layer, unfold: [N, T, ...] -> [N * T, ...] -> [N, T, ...].
                    var step = new OnnxValue(g.Node("Reshape", [x.Name, g.Int64s($"{n}/fold", [-1, .. x.Shape[1..].Select(d => (long)d)])], $"{n}/Fold"), x.Shape[1..], x.DType);
                    string y = Emit(g, distributed.Layer, [step], outputShape[1..]);
                    return g.Node("Reshape", [y, g.Int64s($"{n}/unfold", [-1, .. outputShape.Select(d => (long)d)])], $"{n}/Unfold");
                }

            case Embedding embedding:
                return g.Node("Gather", [g.Weight(embedding.Embeddings), x.Name], n, Int("axis", 0));
            default:
                throw new NotSupportedException($"{layer.Name}: ONNX export does not support {layer.GetType().Name} layers.");
        }
    }

    /// <summary>The nodes of a named activation on <paramref name="x"/>; "linear" adds nothing unless <paramref name="always"/>.</summary>
    private static string Activate(OnnxGraphBuilder g, string x, string activation, string layer, bool always = false)
    {
        switch (activation.ToLowerInvariant())
        {
            case "linear" or "":
                return always ? g.Node("Identity", [x], layer) : x;
            case "relu":
                return g.Node("Relu", [x], layer);
            case "sigmoid":
                return g.Node("Sigmoid", [x], layer);
            case "tanh":
                return g.Node("Tanh", [x], layer);
            case "softmax":
                return g.Node("Softmax", [x], layer, Int("axis", -1));
            case "log_softmax":
                return g.Node("LogSoftmax", [x], layer, Int("axis", -1));
            case "softplus":
                return g.Node("Softplus", [x], layer);
            case "leaky_relu":
                return g.Node("LeakyRelu", [x], layer, Float("alpha", 0.2f));
            case "gelu" when g.Opset >= 20:
                return g.Node("Gelu", [x], layer);
            case "gelu":
                {
                    // The exact GELU, x * (1 + erf(x / sqrt 2)) / 2, from the opset-13 operators.
                    string erf = g.Node("Erf", [g.Node("Mul", [x, g.Floats($"{layer}/inv_sqrt2", [0.70710678118654752f], [])], $"{layer}/Scale")], $"{layer}/Erf");
                    string onePlus = g.Node("Add", [erf, g.Floats($"{layer}/one", [1f], [])], $"{layer}/OnePlus");
                    return g.Node("Mul", [g.Node("Mul", [x, onePlus], $"{layer}/Product"), g.Floats($"{layer}/half", [0.5f], [])], layer);
                }

            default:
                throw new NotSupportedException($"{layer}: ONNX export does not support the activation '{activation}'.");
        }
    }

    /// <summary>Explicit (before, after) padding of one axis for "valid" or "same".</summary>
    private static (long Before, long After) Pads(string padding, int size, int kernel, int stride, int dilation) =>
        padding == "same" ? Layout.Same(size, kernel, stride, dilation) : (0, 0);

    private static float[] Filled(int count, float value) => Enumerable.Repeat(value, count).ToArray();
}
