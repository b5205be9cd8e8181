// The int8 sum of two uint8 activations on their own grids, requantized to the output's, with an optional fused ReLU
// (a residual connection followed by ReLU). Made by Model.Quantize from an Add layer of two inputs.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>A quantized <see cref="Add"/> of two inputs: each input's and the output's scale and zero point are weights.</summary>
/// <example><code>var quantized = model.Quantize(calibration); // its two-input Add layers become QuantizedAdd</code></example>
public sealed class QuantizedAdd : QuantizedLayer
{
    private Weight? inputScale, inputZeroPoint, outputScale, outputZeroPoint;
    private int za, zb, zy;
    private float ma, mb;

    /// <summary>Creates the layer; its parameters come from conversion or a saved file.</summary>
    /// <param name="relu">Whether a ReLU is fused into the output.</param>
    /// <param name="name">The layer's name.</param>
    public QuantizedAdd(bool relu = false, string? name = null)
        : base(name)
    {
        Relu = relu;
    }

    /// <summary>Whether a ReLU is fused into the output.</summary>
    public bool Relu { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["relu"] = Relu;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        if (inputShapes.Count != 2 || !Shapes.SameShape(inputShapes[0], inputShapes[1]))
        {
            throw new ArgumentException($"{Name}: QuantizedAdd adds two inputs of one shape, got {string.Join(" and ", inputShapes.Select(s => Shapes.Format(s)))}.");
        }

        inputScale = AddFixedWeight("input_scale", [2], DType.Float32, 1f);
        inputZeroPoint = AddFixedWeight("input_zero_point", [2], DType.Int32, 0f);
        outputScale = AddFixedWeight("output_scale", [1], DType.Float32, 1f);
        outputZeroPoint = AddFixedWeight("output_zero_point", [1], DType.Int32, 0f);
    }

    /// <inheritdoc />
    private protected override void OnPrepare()
    {
        float[] s = Scales(inputScale!);
        int[] z = ZeroPoints(inputZeroPoint!);
        float sy = Scales(outputScale!)[0];
        zy = ZeroPoints(outputZeroPoint!)[0];
        (za, zb, ma, mb) = (z[0], z[1], s[0] / sy, s[1] / sy);
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        if (inputs.Count != 2)
        {
            throw new ArgumentException($"{Name}: QuantizedAdd adds two inputs, got {inputs.Count}.");
        }

        RequireQuantized(inputs[0]);
        RequireQuantized(inputs[1]);
        Prepare();
        return Tensor.QuantizedAdd(inputs[0], za, ma, inputs[1], zb, mb, zy, Relu);
    }
}
