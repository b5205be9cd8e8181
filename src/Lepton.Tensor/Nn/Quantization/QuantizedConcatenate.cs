// Joins uint8 activations along an axis after bringing each one onto the output's grid (a requantization only for
// inputs whose scale or zero point differ). Made by Model.Quantize from a Concatenate layer.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>A quantized <see cref="Concatenate"/>: each input's and the output's scale and zero point are weights.</summary>
/// <example><code>var quantized = model.Quantize(calibration); // its Concatenate layers become QuantizedConcatenate</code></example>
public sealed class QuantizedConcatenate : QuantizedLayer
{
    private Weight? inputScale, inputZeroPoint, outputScale, outputZeroPoint;
    private float[] multipliers = [];
    private int[] zeroPoints = [];
    private bool[] same = [];
    private int zy;

    /// <summary>Creates the layer; its parameters come from conversion or a saved file.</summary>
    /// <param name="axis">The axis joined along, counted with the batch dimension (1 = channels for channels first).</param>
    /// <param name="name">The layer's name.</param>
    public QuantizedConcatenate(int axis = 1, string? name = null)
        : base(name)
    {
        if (axis == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{Name} (QuantizedConcatenate): cannot join along the batch axis.");
        }

        Axis = axis;
    }

    /// <summary>The axis joined along (Keras convention: includes the batch dimension).</summary>
    public int Axis { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["axis"] = Axis;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        inputScale = AddFixedWeight("input_scale", [inputShapes.Count], DType.Float32, 1f);
        inputZeroPoint = AddFixedWeight("input_zero_point", [inputShapes.Count], DType.Int32, 0f);
        outputScale = AddFixedWeight("output_scale", [1], DType.Float32, 1f);
        outputZeroPoint = AddFixedWeight("output_zero_point", [1], DType.Int32, 0f);
    }

    /// <inheritdoc />
    private protected override void OnPrepare()
    {
        float[] s = Scales(inputScale!);
        zeroPoints = ZeroPoints(inputZeroPoint!);
        float sy = Scales(outputScale!)[0];
        zy = ZeroPoints(outputZeroPoint!)[0];
        multipliers = [.. s.Select(si => si / sy)];
        same = [.. s.Select((si, i) => si == sy && zeroPoints[i] == zy)];
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        Prepare();
        if (inputs.Count != same.Length)
        {
            throw new ArgumentException($"{Name}: QuantizedConcatenate was built for {same.Length} inputs, got {inputs.Count}.");
        }

        var parts = new Tensor[inputs.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            RequireQuantized(inputs[i]);
            parts[i] = same[i] ? inputs[i] : inputs[i].Requantize(zeroPoints[i], multipliers[i], zy);
        }

        return Tensor.Concat(parts, Axis);
    }
}
