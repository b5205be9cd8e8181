// The observed range of every activation a quantized model may quantize, the input of conversion. Calibration fills
// it from a float model's outputs on sample data; quantization-aware training fills it from its training observers.
namespace Lepton.Nn.Quantization;

/// <summary>
/// Each quantizable edge's [min, max], keyed by the layer that produces it: the model input under null, and every
/// other edge under the source model's layer whose output it is (a layer called at several places has one range).
/// </summary>
/// <remarks>
/// <para>A Conv2D or Dense whose activation is neither linear nor ReLU runs its linear part in int8 and the activation
/// in float32: its int8 output is the value before the activation, whose range is kept apart under
/// <see cref="SetBeforeActivation"/>. Without that range conversion keeps the whole layer in float32.</para>
/// Where conversion fuses layers (Conv2D, a folded BatchNormalization and a ReLU; Dense or Add and a ReLU) the fused
/// int8 layer's output uses the range of the last fused layer, so a range observed after the ReLU is the one used.
/// Conversion reads the ranges of the edges it quantizes and throws naming the layer when one is missing.
/// </remarks>
internal sealed class ActivationRanges
{
    private readonly Dictionary<Layer, (float Min, float Max)> byLayer = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Layer, (float Min, float Max)> beforeActivation = new(ReferenceEqualityComparer.Instance);
    private (float Min, float Max)? input;

    /// <summary>How many edges have a range.</summary>
    public int Count => byLayer.Count + beforeActivation.Count + (input is null ? 0 : 1);

    /// <summary>Sets the range of <paramref name="producer"/>'s output (null: the model input).</summary>
    /// <param name="producer">The layer whose output the edge is, or null for the model input.</param>
    /// <param name="min">Smallest value.</param>
    /// <param name="max">Largest value.</param>
    public void Set(Layer? producer, float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
        {
            throw new ArgumentException($"The range [{min}, {max}] of {Describe(producer)} is not a finite, ordered range.", nameof(min));
        }

        if (producer is null)
        {
            input = (min, max);
        }
        else
        {
            byLayer[producer] = (min, max);
        }
    }

    /// <summary>Sets the range of the output of <paramref name="layer"/> (a Conv2D or Dense) before its activation.</summary>
    /// <param name="layer">The layer whose activation is neither linear nor ReLU.</param>
    /// <param name="min">Smallest value.</param>
    /// <param name="max">Largest value.</param>
    public void SetBeforeActivation(Layer layer, float min, float max)
    {
        if (!float.IsFinite(min) || !float.IsFinite(max) || min > max)
        {
            throw new ArgumentException($"The range [{min}, {max}] before the activation of layer '{layer.Name}' is not a finite, ordered range.", nameof(min));
        }

        beforeActivation[layer] = (min, max);
    }

    /// <summary>Whether the range of <paramref name="layer"/>'s output before its activation is known.</summary>
    /// <param name="layer">A Conv2D or Dense layer.</param>
    public bool HasBeforeActivation(Layer layer) => beforeActivation.ContainsKey(layer);

    /// <summary>The uint8 parameters of the output of <paramref name="layer"/> before its activation.</summary>
    /// <param name="layer">The layer whose activation is neither linear nor ReLU.</param>
    public QuantParams ParamsBeforeActivation(Layer layer) =>
        beforeActivation.TryGetValue(layer, out var range)
            ? QuantParams.FromRange(range.Min, range.Max)
            : throw new ArgumentException($"No activation range is known for the output of layer '{layer.Name}' ({layer.GetType().Name}) before its activation; it is needed to quantize that layer.");

    /// <summary>The range of <paramref name="producer"/>'s output (null: the model input), if known.</summary>
    /// <param name="producer">The layer whose output the edge is, or null for the model input.</param>
    /// <param name="range">The range.</param>
    public bool TryGet(Layer? producer, out (float Min, float Max) range)
    {
        if (producer is null)
        {
            range = input ?? default;
            return input is not null;
        }

        return byLayer.TryGetValue(producer, out range);
    }

    /// <summary>The uint8 parameters of <paramref name="producer"/>'s output (null: the model input) by <see cref="QuantParams.FromRange"/>.</summary>
    /// <param name="producer">The layer whose output the edge is, or null for the model input.</param>
    public QuantParams Params(Layer? producer) =>
        TryGet(producer, out var range)
            ? QuantParams.FromRange(range.Min, range.Max)
            : throw new ArgumentException($"No activation range is known for {Describe(producer)}; it is needed to quantize that edge.");

    private static string Describe(Layer? producer) =>
        producer is null ? "the model input" : $"the output of layer '{producer.Name}' ({producer.GetType().Name})";
}
