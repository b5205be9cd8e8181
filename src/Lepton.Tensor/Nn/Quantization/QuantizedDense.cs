// Int8 fully connected layer with a requantizing epilogue and optional fused ReLU: uint8 in, uint8 out, on the last
// dimension. Made by Model.Quantize from a Dense layer or loaded from a file.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>
/// A quantized <see cref="Dense"/>: int8 weights [units, inputs] with one scale per unit, an int32 bias, and the
/// input's and output's uint8 scale and zero point, all saved as weights.
/// </summary>
/// <example><code>var quantized = model.Quantize(calibration); // its Dense layers become QuantizedDense</code></example>
public sealed class QuantizedDense : QuantizedLayer
{
    private Weight? kernel, kernelScale, bias, inputScale, inputZeroPoint, outputScale, outputZeroPoint;
    private Tensor? multipliers;
    private int zx, zy;

    /// <summary>Creates the layer; its values come from conversion or a saved file.</summary>
    /// <param name="units">Output size.</param>
    /// <param name="useBias">Whether an int32 bias is added.</param>
    /// <param name="relu">Whether a ReLU is fused into the output.</param>
    /// <param name="name">The layer's name.</param>
    public QuantizedDense(int units, bool useBias = true, bool relu = false, string? name = null)
        : base(name)
    {
        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), units, $"{Name} (QuantizedDense): units must be positive.");
        }

        Units = units;
        UseBias = useBias;
        Relu = relu;
    }

    /// <summary>Output size.</summary>
    public int Units { get; }

    /// <summary>Whether an int32 bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Whether a ReLU is fused into the output.</summary>
    public bool Relu { get; }

    /// <summary>The int8 weights [units, inputs] (one row per unit, the transpose of Dense's kernel).</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The float32 scale of each unit's weights [units].</summary>
    public Weight KernelScale => kernelScale ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The int32 bias [units] (scale: input scale times the unit's scale), or null.</summary>
    public Weight? Bias => bias;

    /// <summary>The input's scale and zero point.</summary>
    public QuantParams InputParams => ReadParams(inputScale, inputZeroPoint);

    /// <summary>The output's scale and zero point.</summary>
    public QuantParams OutputParams => ReadParams(outputScale, outputZeroPoint);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["units"] = Units;
        config["use_bias"] = UseBias;
        config["relu"] = Relu;
        return config;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        multipliers?.Dispose();
        multipliers = null;
        base.Dispose();
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        if (inputShape.Length == 0)
        {
            throw new ArgumentException($"{Name}: QuantizedDense needs inputs with a feature dimension, got per-example shape {Shapes.Format(inputShape)}.");
        }

        kernel = AddFixedWeight("kernel", [Units, inputShape[^1]], DType.Int8, 0f);
        kernelScale = AddFixedWeight("kernel_scale", [Units], DType.Float32, 1f);
        bias = UseBias ? AddFixedWeight("bias", [Units], DType.Int32, 0f) : null;
        inputScale = AddFixedWeight("input_scale", [1], DType.Float32, 1f);
        inputZeroPoint = AddFixedWeight("input_zero_point", [1], DType.Int32, 0f);
        outputScale = AddFixedWeight("output_scale", [1], DType.Float32, 1f);
        outputZeroPoint = AddFixedWeight("output_zero_point", [1], DType.Int32, 0f);
    }

    /// <inheritdoc />
    private protected override void OnPrepare()
    {
        float sx = Scales(inputScale!)[0], sy = Scales(outputScale!)[0];
        zx = ZeroPoints(inputZeroPoint!)[0];
        zy = ZeroPoints(outputZeroPoint!)[0];
        multipliers = Keep(multipliers, Multipliers(sx, Scales(kernelScale!), sy));
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        RequireQuantized(input);
        Prepare();
        return input.QuantizedDense(Kernel.Value, zx, bias?.Value, multipliers!, zy, Relu);
    }
}
