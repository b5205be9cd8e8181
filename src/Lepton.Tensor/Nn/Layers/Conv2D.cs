// 2-D convolution layer. Kernel layout is [filters, channels/groups, kh, kw] (PyTorch's, which
// our kernels use; Keras stores [kh, kw, channels, filters]). Padding "valid" or "same" (output =
// ceil(input / stride), extra padding at the bottom/right like TensorFlow).
namespace Lepton.Nn.Layers;

/// <summary>A 2-D convolution.</summary>
/// <example><code>var conv = new Conv2D(32, 3, activation: "relu", padding: "same");</code></example>
public sealed class Conv2D : Layer
{
    private readonly Func<Tensor, Tensor?, int, Tensor> biasActivation;
    private Weight? kernel;
    private Weight? bias;

    /// <summary>Creates the layer with a square kernel, stride and dilation.</summary>
    public Conv2D(
        int filters, int kernelSize, int strides = 1, string padding = "valid", int dilationRate = 1, string? activation = null,
        bool useBias = true, string kernelInitializer = "glorot_uniform", string biasInitializer = "zeros", int groups = 1,
        DataFormat dataFormat = DataFormat.ChannelsFirst, ulong? seed = null, int[]? inputShape = null, string? name = null)
        : this(filters, (kernelSize, kernelSize), (strides, strides), padding, (dilationRate, dilationRate), activation, useBias,
               kernelInitializer, biasInitializer, groups, dataFormat, seed, inputShape, name)
    {
    }

    /// <summary>Creates the layer with rectangular kernel, strides and dilation.</summary>
    public Conv2D(
        int filters, (int H, int W) kernelSize, (int H, int W) strides, string padding = "valid", (int H, int W)? dilationRate = null,
        string? activation = null, bool useBias = true, string kernelInitializer = "glorot_uniform", string biasInitializer = "zeros",
        int groups = 1, DataFormat dataFormat = DataFormat.ChannelsFirst, ulong? seed = null, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (filters <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(filters), filters, $"{Name} (Conv2D): filters must be positive.");
        }

        if (kernelSize.H <= 0 || kernelSize.W <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, $"{Name} (Conv2D): kernelSize must be positive.");
        }

        if (strides.H <= 0 || strides.W <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(strides), strides, $"{Name} (Conv2D): strides must be positive.");
        }

        if (dilationRate is { } d && (d.H <= 0 || d.W <= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(dilationRate), d, $"{Name} (Conv2D): dilationRate must be positive.");
        }

        if (groups <= 0 || filters % groups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{Name} (Conv2D): groups must be positive and divide filters ({filters}).");
        }

        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides;
        Padding = Layout.CheckPadding(padding);
        DilationRate = dilationRate ?? (1, 1);
        ActivationName = activation ?? "linear";
        biasActivation = Activations.GetWithBias(activation);
        UseBias = useBias;
        Groups = groups;
        DataFormat = dataFormat;
        KernelInitializer = Initializer.FromName(kernelInitializer, seed);
        BiasInitializer = Initializer.FromName(biasInitializer, seed);
        BuildIfDeclared();
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

    /// <summary>The activation's name.</summary>
    public string ActivationName { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>The image layout of inputs and outputs.</summary>
    public DataFormat DataFormat { get; }

    /// <summary>Initializer of the kernel.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>Initializer of the bias.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The [filters, channels/groups, kh, kw] kernel.</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The [filters] bias, or null.</summary>
    public Weight? Bias => bias;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["filters"] = Filters;
        config["kernel_size"] = new[] { KernelSize.H, KernelSize.W };
        config["strides"] = new[] { Strides.H, Strides.W };
        config["padding"] = Padding;
        config["dilation_rate"] = new[] { DilationRate.H, DilationRate.W };
        config["activation"] = ActivationName;
        config["use_bias"] = UseBias;
        config["groups"] = Groups;
        config["data_format"] = Layout.Name(DataFormat);
        config["kernel_initializer"] = KernelInitializer.Name;
        config["bias_initializer"] = BiasInitializer.Name;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        if (inputShape.Length != 3)
        {
            throw new ArgumentException($"{Name}: Conv2D needs images of rank 3 per example ({(DataFormat == DataFormat.ChannelsFirst ? "[C, H, W]" : "[H, W, C]")}), got {Shapes.Format(inputShape)}.");
        }

        int channels = DataFormat == DataFormat.ChannelsFirst ? inputShape[0] : inputShape[2];
        if (channels % Groups != 0)
        {
            throw new ArgumentException($"{Name}: {channels} input channels are not divisible by groups={Groups}.");
        }

        kernel = AddWeight("kernel", [Filters, channels / Groups, KernelSize.H, KernelSize.W], KernelInitializer);
        bias = UseBias ? AddWeight("bias", [Filters], BiasInitializer) : null;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => Forward(input, Kernel.Value, training);

    /// <summary>The layer's computation with <paramref name="kernel"/> in place of its own kernel (a fake-quantized copy
    /// in quantization-aware training); the sparse inference path is taken for the layer's own kernel only.</summary>
    internal Tensor Forward(Tensor input, Tensor kernel, bool training)
    {
        var x = Layout.ToChannelsFirst(input, DataFormat);
        if (!training && ReferenceEquals(kernel, Kernel.Value) && IsPointwise && x.Numel > 0 && SparseKernel.ForInference(Kernel, transposed: false, x, x.ShapeRef[2] * x.ShapeRef[3]) is { } sparse)
        {
            // A highly sparse 1x1 kernel at inference: per image, y [filters, pixels] = kernel (sparse) x [channels, pixels].
            int n = x.ShapeRef[0], h = x.ShapeRef[2], w = x.ShapeRef[3];
            var product = sparse.Multiply(x.Reshape([n, x.ShapeRef[1], h * w])).Reshape([n, Filters, h, w]);
            return Layout.FromChannelsFirst(biasActivation(product, bias?.Value, 1), DataFormat);
        }

        if (IsRelu)
        {
            // Where the backend can, bias and ReLU are applied as the convolution writes its output.
            return Layout.FromChannelsFirst(x.Conv2dBiasRelu(kernel, bias?.Value, Strides, PaddingFor(x), DilationRate, Groups), DataFormat);
        }

        var y = x.Conv2d(kernel, null, Strides, PaddingFor(x), DilationRate, Groups);
        return Layout.FromChannelsFirst(biasActivation(y, bias?.Value, 1), DataFormat);
    }

    /// <summary>Whether this is a 1x1 convolution without stride, padding or groups: a matrix product per image.</summary>
    private bool IsPointwise => KernelSize == (1, 1) && Strides == (1, 1) && Groups == 1;

    /// <summary>Whether the activation is ReLU, which the convolution applies as it writes its output.</summary>
    internal bool IsRelu => string.Equals(ActivationName, "relu", StringComparison.OrdinalIgnoreCase);

    /// <summary>The padding this layer applies to <paramref name="x"/> (channels first).</summary>
    internal Padding2d PaddingFor(Tensor x) => Layout.PaddingFor(Padding, x, KernelSize, Strides, DilationRate);
}
