// The entry of an int8 region of a quantized model: float32 in, uint8 out with the layer's scale and zero point.
namespace Lepton.Nn.Quantization;

/// <summary>Quantizes float32 activations to uint8: clamp(round(x / scale) + zero point, 0, 255).</summary>
/// <example><code>var quantized = model.Quantize(calibration); // starts with a Quantize layer at its input</code></example>
public sealed class Quantize : QuantizedLayer
{
    private Weight? scale, zeroPoint;
    private QuantParams current;

    /// <summary>Creates the layer; its scale and zero point come from conversion or a saved file.</summary>
    /// <param name="name">The layer's name.</param>
    public Quantize(string? name = null)
        : base(name)
    {
    }

    /// <summary>The output's scale and zero point.</summary>
    public QuantParams OutputParams => ReadParams(scale, zeroPoint);

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
        Prepare();
        var x = input.DType == DType.Float32 ? input : input.To(DType.Float32);
        return x.QuantizeUInt8(current.Scale, current.ZeroPoint);
    }
}
