// How a float range becomes int8 quantization parameters: asymmetric uint8 for activations, symmetric int8 per output
// channel for weights. Calibration, quantization-aware training and conversion all use these rules, so a model
// fine-tuned with fake quantization converts to exactly the grid it was trained on.
namespace Lepton.Nn.Quantization;

/// <summary>The scale and zero point of a quantized tensor: real value = (q - ZeroPoint) * Scale.</summary>
/// <param name="Scale">Positive step between neighbouring quantized values.</param>
/// <param name="ZeroPoint">The quantized value that represents 0.0.</param>
public readonly record struct QuantParams(float Scale, int ZeroPoint)
{
    /// <summary>Largest magnitude of a symmetric int8 weight: [-127, 127], so -128 is never used.</summary>
    public const int WeightMax = 127;

    /// <summary>
    /// Uint8 parameters for values observed in [<paramref name="min"/>, <paramref name="max"/>]: the range is widened to
    /// hold 0, scale = (max - min) / 255 (1 for an empty range), zero point = clamp(round(-min / scale), 0, 255).
    /// </summary>
    /// <param name="min">Smallest observed value.</param>
    /// <param name="max">Largest observed value.</param>
    /// <returns>The parameters.</returns>
    /// <exception cref="ArgumentException">A bound is NaN or infinite, or <paramref name="min"/> exceeds <paramref name="max"/>.</exception>
    public static QuantParams FromRange(float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
        {
            throw new ArgumentException($"Quantization range [{min}, {max}] is not a finite, ordered range.", nameof(min));
        }

        float lo = MathF.Min(min, 0f);
        float hi = MathF.Max(max, 0f);
        float scale = (hi - lo) / 255f;
        if (!(scale > 0f) || !float.IsNormal(scale))
        {
            // A subnormal step would lose its precision: use the smallest normal float instead.
            scale = scale > 0f ? 1.17549435e-38f : 1f;
        }

        int zeroPoint = Math.Clamp((int)MathF.Round(-lo / scale), 0, 255);
        return new QuantParams(scale, zeroPoint);
    }

    /// <summary>
    /// Symmetric int8 scale of each of <paramref name="channels"/> equal slices of <paramref name="weights"/> (the
    /// output channels, outermost): max |w| / 127, or 1 for an all-zero slice.
    /// </summary>
    /// <param name="weights">The float weights, output channel outermost.</param>
    /// <param name="channels">Number of output channels; 1 gives one scale for the whole tensor.</param>
    /// <returns>One scale per channel.</returns>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="channels"/>, or a weight is not finite.</exception>
    public static float[] WeightScales(ReadOnlySpan<float> weights, int channels)
    {
        if (channels <= 0 || weights.Length % channels != 0)
        {
            throw new ArgumentException($"{weights.Length} weights do not split into {channels} channels.", nameof(channels));
        }

        int per = weights.Length / channels;
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            float largest = 0f;
            foreach (float w in weights.Slice(c * per, per))
            {
                if (!float.IsFinite(w))
                {
                    throw new ArgumentException($"Weight channel {c} holds {w}; only finite weights quantize.", nameof(weights));
                }

                largest = MathF.Max(largest, MathF.Abs(w));
            }

            scales[c] = largest > 0f ? largest / WeightMax : 1f;
        }

        return scales;
    }

    /// <summary>q = clamp(round(w / scale), -127, 127), the rule <see cref="WeightScales"/> is made for.</summary>
    /// <param name="weight">A float weight.</param>
    /// <param name="scale">Its channel's scale.</param>
    /// <returns>The int8 weight.</returns>
    public static sbyte QuantizeWeight(float weight, float scale) =>
        (sbyte)Math.Clamp((int)MathF.Round(weight / scale), -WeightMax, WeightMax);
}
