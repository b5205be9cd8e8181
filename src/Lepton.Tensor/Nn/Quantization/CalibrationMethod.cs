// How calibration turns the values an activation took on sample data into the range it is quantized over.
namespace Lepton.Nn.Quantization;

/// <summary>How calibration chooses each activation's range from the values observed.</summary>
/// <example><code>var q = model.Quantize(loader, options: new QuantizationOptions { Method = CalibrationMethod.Mse });</code></example>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen: nothing is clipped (one pass over the data).</summary>
    MinMax,

    /// <summary>
    /// The values at <see cref="QuantizationOptions.Percentile"/> and its mirror (e.g. 0.01 and 99.99) of a 2048-bin
    /// histogram: rare outliers are clipped so the rest get finer steps (two passes).
    /// </summary>
    Percentile,

    /// <summary>
    /// The range whose uint8 grid minimizes the expected squared error over a 2048-bin histogram, rounding (step^2 / 12
    /// per value inside) plus clipping (the distance to the range for values outside) (two passes).
    /// </summary>
    Mse,
}
