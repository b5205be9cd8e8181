// The shared part of the int8 layers: their integers, scales and zero points are non-trainable weights (so they save,
// load and count like any weight), read back once whenever they change to be checked and turned into the float32
// requantization multipliers the kernels take.
namespace Lepton.Nn.Quantization;

/// <summary>A layer of a quantized model whose quantization parameters are weights checked before use.</summary>
/// <remarks>
/// Activations between int8 layers are <see cref="DType.UInt8"/> tensors; the real value of q is (q - zero point) *
/// scale, with the parameters the producing layer holds as its <c>output_scale</c> and <c>output_zero_point</c>.
/// </remarks>
public abstract class QuantizedLayer : Layer
{
    private long preparedVersion = -1;

    /// <summary>Creates the layer.</summary>
    /// <param name="name">The layer's name.</param>
    private protected QuantizedLayer(string? name)
        : base(name)
    {
    }

    /// <summary>
    /// Reads the parameters back, checks them and prepares what the kernels take; the message of a failure names the
    /// layer, the weight and what is wrong with it.
    /// </summary>
    /// <exception cref="InvalidDataException">A scale is not positive and finite or a zero point is outside [0, 255].</exception>
    internal void Prepare()
    {
        if (!Built)
        {
            return;
        }

        long version = Weights.Sum(w => w.Version);
        if (version == preparedVersion)
        {
            return;
        }

        using (Tensor.NoGrad())
        {
            OnPrepare();
        }

        preparedVersion = version;
    }

    /// <summary>Reads, checks and derives the parameters (called by <see cref="Prepare"/> when a weight changed).</summary>
    private protected abstract void OnPrepare();

    /// <inheritdoc />
    private protected override void OnDeviceChanged(Device newDevice) => preparedVersion = -1;

    /// <summary>The values of a scale weight, each checked to be positive and finite.</summary>
    private protected float[] Scales(Weight weight)
    {
        float[] values = weight.Value.ToArray<float>();
        for (int i = 0; i < values.Length; i++)
        {
            if (!(values[i] > 0f && float.IsFinite(values[i])))
            {
                throw new InvalidDataException($"Layer '{Name}' ({GetType().Name}): {Describe(weight, i, values.Length)} is {values[i]}; a scale must be positive and finite.");
            }
        }

        return values;
    }

    /// <summary>The values of a uint8 zero-point weight, each checked to lie in [0, 255].</summary>
    private protected int[] ZeroPoints(Weight weight)
    {
        int[] values = weight.Value.ToArray<int>();
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] is < 0 or > 255)
            {
                throw new InvalidDataException($"Layer '{Name}' ({GetType().Name}): {Describe(weight, i, values.Length)} is {values[i]}, outside the uint8 range [0, 255].");
            }
        }

        return values;
    }

    /// <summary>Throws unless <paramref name="input"/> is a uint8 activation.</summary>
    private protected void RequireQuantized(Tensor input)
    {
        if (input.DType != DType.UInt8)
        {
            throw new ArgumentException(
                $"Layer '{Name}' ({GetType().Name}) takes uint8 activations, got {input.DType.Name()} {Shapes.Format(input.ShapeRef)}; put a {nameof(Quantize)} layer before it.");
        }
    }

    /// <summary>A float32 tensor kept outside any scope (replacing and freeing <paramref name="old"/>).</summary>
    private protected Tensor Keep(Tensor? old, float[] values)
    {
        old?.Dispose();
        return Tensor.FromArray(values, [values.Length], device: Device).DetachFromScope();
    }

    /// <summary>One float32 requantization multiplier per channel: (scale(x) * scale(w[k])) / scale(y).</summary>
    private protected static float[] Multipliers(float inputScale, float[] weightScales, float outputScale)
    {
        var multipliers = new float[weightScales.Length];
        for (int k = 0; k < multipliers.Length; k++)
        {
            float product = inputScale * weightScales[k];
            multipliers[k] = product / outputScale;
        }

        return multipliers;
    }

    /// <summary>A per-tensor scale and zero point as they are now (read back from the device).</summary>
    private protected QuantParams ReadParams(Weight? scale, Weight? zeroPoint) =>
        scale is null || zeroPoint is null
            ? throw new InvalidOperationException($"{Name} is not built yet.")
            : new QuantParams(scale.Value.ToArray<float>()[0], zeroPoint.Value.ToArray<int>()[0]);

    private static string Describe(Weight weight, int index, int count)
    {
        string name = weight.Name[(weight.Name.LastIndexOf('/') + 1)..];
        return count == 1 ? name : $"{name}[{index}]";
    }
}
