// The choices of post-training quantization: how ranges are calibrated, per-channel or per-tensor weight scales, and
// which layers stay in float32 or are quantized.
namespace Lepton.Nn.Quantization;

/// <summary>Options of <see cref="Model.Quantize(Data.DataLoader, int, QuantizationOptions?, CancellationToken)"/> and <see cref="Model.QuantizeDynamic"/>.</summary>
/// <example><code>
/// var options = new QuantizationOptions { Method = CalibrationMethod.Percentile, Percentile = 99.9, KeepFloat = ["dense_1"] };
/// var q = model.Quantize(calibration, options: options);
/// </code></example>
public sealed class QuantizationOptions
{
    /// <summary>How each activation's range is chosen (<see cref="CalibrationMethod.MinMax"/> by default).</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>The percentile kept by <see cref="CalibrationMethod.Percentile"/>, in (50, 100] (99.99 by default).</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>One weight scale per output channel (the default) or one per layer.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>Names of layers that stay float32 (quantize/dequantize layers are put around them).</summary>
    public IReadOnlyCollection<string> KeepFloat { get; init; } = [];

    /// <summary>
    /// Names of the layers to quantize, or null (the default) for every layer with an int8 kernel. Naming a layer that
    /// has no int8 kernel is an error. Batch normalization and ReLU fused into a quantized layer follow it.
    /// </summary>
    public IReadOnlyCollection<string>? Layers { get; init; }

    internal void Check()
    {
        if (!(Percentile > 50 && Percentile <= 100))
        {
            throw new ArgumentOutOfRangeException(nameof(Percentile), Percentile, "QuantizationOptions: Percentile must be in (50, 100].");
        }
    }
}
