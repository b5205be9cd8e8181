// How a padding mask travels between layers (Keras's _keras_mask, kept simple): a [batch, time] float
// mask made by Embedding(maskZero) or Masking goes to the layers after it in Sequential and functional models.
namespace Lepton.Nn;

/// <summary>A layer that makes a [batch, time] mask from its input (Embedding with maskZero, Masking).</summary>
internal interface IMaskProducer
{
    /// <summary>The mask for this input (1 = a real step, 0 = padding), or null when the layer does not mask.</summary>
    Tensor? ComputeMask(Tensor input);
}

/// <summary>A layer that reads a mask (recurrent layers and their wrappers).</summary>
internal interface IMaskConsumer
{
    /// <summary>Runs the layer with the mask of its first input (null when there is none).</summary>
    Tensor CallMasked(IReadOnlyList<Tensor> inputs, Tensor? mask, bool training);

    /// <summary>True when the output keeps the time axis, so the mask applies to it too.</summary>
    bool KeepsTimeAxis { get; }
}

/// <summary>
/// The rule: a producer starts a mask; a consumer receives it; any other layer lets it through while its output still
/// starts with the mask's [batch, time] dimensions (Dense, Dropout, Activation, TimeDistributed on sequences) and ends it
/// otherwise (Flatten, pooling, a recurrent layer that returns only its last output). Merge layers take the first input's mask.
/// </summary>
internal static class MaskFlow
{
    /// <summary>Calls <paramref name="layer"/> with the incoming mask and gives the mask of its output.</summary>
    public static Tensor Call(Layer layer, IReadOnlyList<Tensor> inputs, Tensor? mask, bool training, out Tensor? outputMask)
    {
        Tensor output;
        if (layer is IMaskConsumer consumer)
        {
            output = consumer.CallMasked(inputs, mask, training);
            outputMask = consumer.KeepsTimeAxis ? mask : null;
        }
        else
        {
            output = layer.Call(inputs, training);
            outputMask = mask is not null && output.Rank >= 3 && output.ShapeRef[0] == mask.ShapeRef[0] && output.ShapeRef[1] == mask.ShapeRef[1] ? mask : null;
        }

        if (layer is IMaskProducer producer && producer.ComputeMask(inputs[0]) is { } produced)
        {
            outputMask = produced;
        }

        return output;
    }
}
