// Dynamically quantized fully connected layer: float32 in and out, int8 weights; each call quantizes its input from
// the input's own range, so no calibration is needed. Made by Model.QuantizeDynamic from a Dense layer.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>
/// A <see cref="Dense"/> with int8 weights [units, inputs] (one float32 scale per unit) and a float32 bias, whose
/// input is quantized to uint8 per call; the activation is applied in float32 afterwards.
/// </summary>
/// <example><code>var smaller = model.QuantizeDynamic(); // its Dense layers become DynamicQuantizedDense</code></example>
public sealed class DynamicQuantizedDense : QuantizedLayer
{
    private readonly Func<Tensor, Tensor> activation;
    private Weight? kernel, kernelScale, bias;

    /// <summary>Creates the layer; its values come from conversion or a saved file.</summary>
    /// <param name="units">Output size.</param>
    /// <param name="activation">The Keras name of the activation applied to the float32 output ("linear" for none).</param>
    /// <param name="useBias">Whether a float32 bias is added.</param>
    /// <param name="name">The layer's name.</param>
    public DynamicQuantizedDense(int units, string? activation = null, bool useBias = true, string? name = null)
        : base(name)
    {
        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), units, $"{Name} (DynamicQuantizedDense): units must be positive.");
        }

        Units = units;
        ActivationName = activation ?? "linear";
        this.activation = Activations.Get(activation);
        UseBias = useBias;
    }

    /// <summary>Output size.</summary>
    public int Units { get; }

    /// <summary>The activation's name.</summary>
    public string ActivationName { get; }

    /// <summary>Whether a float32 bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>The int8 weights [units, inputs].</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The float32 scale of each unit's weights [units].</summary>
    public Weight KernelScale => kernelScale ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The float32 bias [units], or null.</summary>
    public Weight? Bias => bias;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["units"] = Units;
        config["activation"] = ActivationName;
        config["use_bias"] = UseBias;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        if (inputShape.Length == 0)
        {
            throw new ArgumentException($"{Name}: DynamicQuantizedDense needs inputs with a feature dimension, got per-example shape {Shapes.Format(inputShape)}.");
        }

        kernel = AddFixedWeight("kernel", [Units, inputShape[^1]], DType.Int8, 0f);
        kernelScale = AddFixedWeight("kernel_scale", [Units], DType.Float32, 1f);
        bias = UseBias ? AddFixedWeight("bias", [Units], DType.Float32, 0f) : null;
    }

    /// <inheritdoc />
    private protected override void OnPrepare() => Scales(kernelScale!);

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        Prepare();
        var x = input.DType == DType.Float32 ? input : input.To(DType.Float32);
        return activation(x.DynamicQuantizedDense(Kernel.Value, KernelScale.Value, bias?.Value));
    }
}
