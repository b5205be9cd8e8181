// The exit of an int8 region of a quantized model: uint8 in, float32 out.
namespace Lepton.Nn.Quantization;

/// <summary>Dequantizes uint8 activations to float32: (q - zero point) * scale.</summary>
/// <example><code>var quantized = model.Quantize(calibration); // ends with a Dequantize layer before float outputs</code></example>
public sealed class Dequantize : QuantizedLayer
{
    private Weight? scale, zeroPoint;
    private QuantParams current;

    /// <summary>Creates the layer; its scale and zero point come from conversion or a saved file.</summary>
    /// <param name="name">The layer's name.</param>
    public Dequantize(string? name = null)
        : base(name)
    {
    }

    /// <summary>The input's scale and zero point.</summary>
    public QuantParams InputParams => ReadParams(scale, zeroPoint);

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        scale = AddFixedWeight("scale", [1], DType.Float32, 1f);
        zeroPoint = AddFixedWeight("zero_point", [1], DType.Int32, 0f);
    }

    /// <inheritdoc />
    private protected override void OnPrepare() => current = new QuantParams(Scales(scale!)[0], ZeroPoints(zeroPoint!)[0]);

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        RequireQuantized(input);
        Prepare();
        return input.DequantizeUInt8(current.Scale, current.ZeroPoint);
    }
}
