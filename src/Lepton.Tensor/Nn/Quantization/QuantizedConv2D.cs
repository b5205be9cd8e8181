// Int8 2-D convolution (channels first) with a requantizing epilogue and optional fused ReLU: uint8 in, uint8 out.
// Made by Model.Quantize from a Conv2D (with a following batch normalization folded in) or loaded from a file.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>
/// A quantized <see cref="Conv2D"/>: int8 filters with one scale per filter, an int32 bias, and the input's and
/// output's uint8 scale and zero point, all saved as weights.
/// </summary>
/// <example><code>var quantized = model.Quantize(calibration); // its Conv2D layers become QuantizedConv2D</code></example>
public sealed class QuantizedConv2D : QuantizedLayer
{
    private Weight? kernel, kernelScale, bias, inputScale, inputZeroPoint, outputScale, outputZeroPoint;
    private Tensor? multipliers;
    private int zx, zy;

    /// <summary>Creates the layer; its values come from conversion or a saved file.</summary>
    /// <param name="filters">Number of output channels.</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="strides">Step between output positions.</param>
    /// <param name="padding">"valid" or "same".</param>
    /// <param name="dilationRate">Step between a filter's taps (1, 1 when null).</param>
    /// <param name="groups">Channel groups.</param>
    /// <param name="useBias">Whether an int32 bias is added.</param>
    /// <param name="relu">Whether a ReLU is fused into the output (negative values clamp to the zero point).</param>
    /// <param name="name">The layer's name.</param>
    public QuantizedConv2D(
        int filters, (int H, int W) kernelSize, (int H, int W) strides, string padding = "valid", (int H, int W)? dilationRate = null, int groups = 1,
        bool useBias = true, bool relu = false, string? name = null)
        : base(name)
    {
        if (filters <= 0 || kernelSize.H <= 0 || kernelSize.W <= 0 || strides.H <= 0 || strides.W <= 0 || groups <= 0 || filters % groups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(filters), $"{Name} (QuantizedConv2D): filters, kernel size, strides and groups must be positive and groups divide filters.");
        }

        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides;
        Padding = Layout.CheckPadding(padding);
        DilationRate = dilationRate ?? (1, 1);
        Groups = groups;
        UseBias = useBias;
        Relu = relu;
    }

    /// <summary>Number of output channels.</summary>
    public int Filters { get; }

    /// <summary>Kernel height and width.</summary>
    public (int H, int W) KernelSize { get; }

    /// <summary>Strides.</summary>
    public (int H, int W) Strides { get; }

    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }

    /// <summary>Dilation.</summary>
    public (int H, int W) DilationRate { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>Whether an int32 bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Whether a ReLU is fused into the output.</summary>
    public bool Relu { get; }

    /// <summary>The int8 filters [filters, channels/groups, kh, kw].</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The float32 scale of each filter [filters].</summary>
    public Weight KernelScale => kernelScale ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The int32 bias [filters] (scale: input scale times the filter's scale), or null.</summary>
    public Weight? Bias => bias;

    /// <summary>The input's scale and zero point.</summary>
    public QuantParams InputParams => ReadParams(inputScale, inputZeroPoint);

    /// <summary>The output's scale and zero point.</summary>
    public QuantParams OutputParams => ReadParams(outputScale, outputZeroPoint);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["filters"] = Filters;
        config["kernel_size"] = new[] { KernelSize.H, KernelSize.W };
        config["strides"] = new[] { Strides.H, Strides.W };
        config["padding"] = Padding;
        config["dilation_rate"] = new[] { DilationRate.H, DilationRate.W };
        config["groups"] = Groups;
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
        if (inputShape.Length != 3 || inputShape[0] % Groups != 0)
        {
            throw new ArgumentException($"{Name}: QuantizedConv2D needs [C, H, W] images with C divisible by groups={Groups}, got {Shapes.Format(inputShape)}.");
        }

        kernel = AddFixedWeight("kernel", [Filters, inputShape[0] / Groups, KernelSize.H, KernelSize.W], DType.Int8, 0f);
        kernelScale = AddFixedWeight("kernel_scale", [Filters], DType.Float32, 1f);
        bias = UseBias ? AddFixedWeight("bias", [Filters], DType.Int32, 0f) : null;
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
        var padding = Layout.PaddingFor(Padding, input, KernelSize, Strides, DilationRate);
        return input.QuantizedConv2d(Kernel.Value, zx, bias?.Value, multipliers!, zy, Relu, Strides, padding, DilationRate, Groups);
    }
}
