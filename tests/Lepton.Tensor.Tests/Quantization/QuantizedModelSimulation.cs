// A quantized model replayed layer by layer on the host: every int8 layer through QuantizedReference (float64 for each
// float32 step of the kernel contract) from the integers, scales and zero points the layer holds, the float32 layers
// by calling them. The expected output of the exactness tests.
using Lepton.Backends;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Quantization;
using Lepton.Tests.Support;
using R = Lepton.Tests.Support.QuantizedReference;

namespace Lepton.Tests.Quantization;

public static class QuantizedModelSimulation
{
    /// <summary>The model's output for x [N, ...], simulated.</summary>
    public static float[] Run(Model model, float[] x, int[] shape)
    {
        var input = new Value(x, null, shape);
        if (model is Sequential)
        {
            var v = input;
            foreach (var layer in model.Layers)
            {
                v = Step(layer, [v]);
            }

            return v.Floats!;
        }

        var values = new Dictionary<SymbolicTensor, Value>(ReferenceEqualityComparer.Instance) { [model.GraphInputs![0]] = input };
        foreach (var node in model.GraphOrder!)
        {
            if (node.Layer is not null)
            {
                values[node] = Step(node.Layer, [.. node.Inputs.Select(i => values[i])]);
            }
        }

        return values[model.GraphOutputs![0]].Floats!;
    }

    /// <summary>(scale(x) * scale(w[k])) / scale(y), each a float32 step.</summary>
    public static float[] Multipliers(float sx, float[] sw, float sy) => [.. sw.Select(s => R.Div(R.Mul(sx, s), sy))];

    private static Value Step(Layer layer, Value[] inputs)
    {
        var x = inputs[0];
        switch (layer)
        {
            case InputLayer:
                return x;
            case Lepton.Nn.Quantization.Quantize q:
                {
                    var p = q.OutputParams;
                    return Value.Bytes([.. R.QuantizeToInts(x.Floats!, p.Scale, p.ZeroPoint, DType.UInt8).Select(i => (byte)i)], x.Shape);
                }

            case Dequantize d:
                {
                    var p = d.InputParams;
                    return new Value(R.Dequantize([.. x.Q!.Select(b => (int)b)], p.Scale, p.ZeroPoint), null, x.Shape);
                }

            case QuantizedConv2D conv:
                {
                    var (pin, pout) = (conv.InputParams, conv.OutputParams);
                    int[] w = conv.Kernel.Shape;
                    var pad = Layout.PaddingFor(conv.Padding, Tensor.Zeros(x.Shape, DType.UInt8), conv.KernelSize, conv.Strides, conv.DilationRate);
                    var g = new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], w[0], w[2], w[3], conv.Strides.H, conv.Strides.W,
                        pad.Top, pad.Bottom, pad.Left, pad.Right, conv.DilationRate.H, conv.DilationRate.W, conv.Groups);
                    var y = R.Conv2d(g, x.Q!, pin.ZeroPoint, conv.Kernel.Value.ToArray<sbyte>(), conv.Bias?.Value.ToArray<int>(),
                        Multipliers(pin.Scale, conv.KernelScale.Value.ToArray<float>(), pout.Scale), pout.ZeroPoint, conv.Relu);
                    return Value.Bytes(y, [g.N, g.K, g.P, g.Q]);
                }

            case QuantizedDense dense:
                {
                    var (pin, pout) = (dense.InputParams, dense.OutputParams);
                    int depth = x.Shape[^1], rows = x.Q!.Length / depth;
                    var y = R.Dense(x.Q!, pin.ZeroPoint, dense.Kernel.Value.ToArray<sbyte>(), rows, depth, dense.Units, dense.Bias?.Value.ToArray<int>(),
                        Multipliers(pin.Scale, dense.KernelScale.Value.ToArray<float>(), pout.Scale), pout.ZeroPoint, dense.Relu);
                    return Value.Bytes(y, [.. x.Shape[..^1], dense.Units]);
                }

            case DynamicQuantizedDense dense:
                {
                    int depth = x.Shape[^1], rows = x.Floats!.Length / depth;
                    var y = R.DynamicDense(x.Floats, dense.Kernel.Value.ToArray<sbyte>(), dense.KernelScale.Value.ToArray<float>(), dense.Bias?.Value.ToArray<float>(), rows, depth, dense.Units);
                    return CallFloat(new Activation(dense.ActivationName), [new Value(y, null, [.. x.Shape[..^1], dense.Units])]);
                }

            case QuantizedAdd add:
                {
                    var (scales, zeros) = InputParams(add);
                    var pout = OutputParams(add);
                    return Value.Bytes(R.Add(x.Q!, zeros[0], R.Div(scales[0], pout.Scale), inputs[1].Q!, zeros[1], R.Div(scales[1], pout.Scale), pout.ZeroPoint, add.Relu), x.Shape);
                }

            case QuantizedConcatenate concat:
                {
                    var (scales, zeros) = InputParams(concat);
                    var pout = OutputParams(concat);
                    var parts = inputs.Select((v, i) => scales[i] == pout.Scale && zeros[i] == pout.ZeroPoint
                        ? v : Value.Bytes(R.Requantize(v.Q!, zeros[i], R.Div(scales[i], pout.Scale), pout.ZeroPoint), v.Shape)).ToArray();
                    using var joined = Tensor.Concat([.. parts.Select(p => Tensor.FromArray(p.Q!, p.Shape))], concat.Axis);
                    return Value.Bytes(joined.ToArray<byte>(), joined.Shape);
                }

            case MaxPooling2D pool when x.Q is not null:
                {
                    var pad = pool.PaddingFor(Tensor.Zeros(x.Shape, DType.UInt8));
                    var g = new Pool2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], pool.PoolSize.H, pool.PoolSize.W, pool.Strides.H, pool.Strides.W,
                        pad.Top, pad.Bottom, pad.Left, pad.Right);
                    return Value.Bytes(R.MaxPool2d(g, x.Q), [g.N, g.C, g.P, g.Q]);
                }

            case Flatten when x.Q is not null:
                return Value.Bytes(x.Q, [x.Shape[0], x.Q.Length / x.Shape[0]]);
            case Reshape reshape when x.Q is not null:
                return Value.Bytes(x.Q, [x.Shape[0], .. reshape.TargetShape]);
            default:
                Assert.True(inputs.All(v => v.Floats is not null), $"{layer.Name} ({layer.GetType().Name}) got uint8 input in the simulation.");
                return CallFloat(layer, inputs);
        }
    }

    private static Value CallFloat(Layer layer, Value[] inputs)
    {
        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        var y = layer.Call([.. inputs.Select(v => Tensor.FromArray(v.Floats!, v.Shape))]);
        return new Value(y.ToArray<float>(), null, y.Shape);
    }

    private static (float[] Scales, int[] ZeroPoints) InputParams(Layer layer) =>
        (Weight(layer, "input_scale").ToArray<float>(), Weight(layer, "input_zero_point").ToArray<int>());

    private static QuantParams OutputParams(Layer layer) =>
        new(Weight(layer, "output_scale").ToArray<float>()[0], Weight(layer, "output_zero_point").ToArray<int>()[0]);

    private static Tensor Weight(Layer layer, string name) => layer.Weights.Single(w => w.Name == $"{layer.Name}/{name}").Value;

    private sealed record Value(float[]? Floats, byte[]? Q, int[] Shape)
    {
        public static Value Bytes(byte[] q, int[] shape) => new(null, q, shape);
    }
}
