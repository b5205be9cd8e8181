// 1-D convolution layer over sequences (Keras's Conv1D): kernel [filters, channels/groups, k], padding
// "valid" or "same" (output = ceil(length / stride), the extra position at the end as TensorFlow).
namespace Lepton.Nn.Layers;

/// <summary>A 1-D convolution over [batch, channels, length] (channels-first) or [batch, length, channels] inputs.</summary>
/// <example><code>var conv = new Conv1D(16, 3, activation: "relu", padding: "same");</code></example>
public sealed class Conv1D : Layer
{
    private readonly Func<Tensor, Tensor?, int, Tensor> biasActivation;
    private Weight? kernel;
    private Weight? bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="filters">Output channels.</param>
    /// <param name="kernelSize">Filter length.</param>
    /// <param name="strides">Step between output positions.</param>
    /// <param name="padding">"valid" (none) or "same" (output length = ceil(length / strides)).</param>
    /// <param name="dilationRate">Step between a filter's taps.</param>
    /// <param name="activation">Activation name, or null for none.</param>
    /// <param name="useBias">Whether a bias is added.</param>
    /// <param name="kernelInitializer">Initializer name of the kernel.</param>
    /// <param name="biasInitializer">Initializer name of the bias.</param>
    /// <param name="groups">Channel groups; must divide the filters and the input channels.</param>
    /// <param name="dataFormat">Channels-first [C, L] or channels-last [L, C] examples.</param>
    /// <param name="seed">Seed of the initializers, or null for a random one.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    public Conv1D(
        int filters, int kernelSize, int strides = 1, string padding = "valid", int dilationRate = 1, string? activation = null,
        bool useBias = true, string kernelInitializer = "glorot_uniform", string biasInitializer = "zeros", int groups = 1,
        DataFormat dataFormat = DataFormat.ChannelsFirst, ulong? seed = null, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (filters <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(filters), filters, $"{Name} (Conv1D): filters must be positive.");
        }

        if (kernelSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(kernelSize), kernelSize, $"{Name} (Conv1D): kernelSize must be positive.");
        }

        if (strides <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(strides), strides, $"{Name} (Conv1D): strides must be positive.");
        }

        if (dilationRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dilationRate), dilationRate, $"{Name} (Conv1D): dilationRate must be positive.");
        }

        if (groups <= 0 || filters % groups != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{Name} (Conv1D): groups must be positive and divide filters ({filters}).");
        }

        Filters = filters;
        KernelSize = kernelSize;
        Strides = strides;
        Padding = Layout.CheckPadding(padding);
        DilationRate = dilationRate;
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

    /// <summary>Filter length.</summary>
    public int KernelSize { get; }

    /// <summary>Stride.</summary>
    public int Strides { get; }

    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }

    /// <summary>Dilation.</summary>
    public int DilationRate { get; }

    /// <summary>The activation's name.</summary>
    public string ActivationName { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>The sequence layout of inputs and outputs.</summary>
    public DataFormat DataFormat { get; }

    /// <summary>Initializer of the kernel.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>Initializer of the bias.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The [filters, channels/groups, kernelSize] kernel.</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The [filters] bias, or null.</summary>
    public Weight? Bias => bias;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["filters"] = Filters;
        config["kernel_size"] = new[] { KernelSize };
        config["strides"] = new[] { Strides };
        config["padding"] = Padding;
        config["dilation_rate"] = new[] { DilationRate };
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
        if (inputShape.Length != 2)
        {
            throw new ArgumentException($"{Name}: Conv1D needs sequences of rank 2 per example ({(DataFormat == DataFormat.ChannelsFirst ? "[C, L]" : "[L, C]")}), got {Shapes.Format(inputShape)}.");
        }

        int channels = DataFormat == DataFormat.ChannelsFirst ? inputShape[0] : inputShape[1];
        if (channels % Groups != 0)
        {
            throw new ArgumentException($"{Name}: {channels} input channels are not divisible by groups={Groups}.");
        }

        kernel = AddWeight("kernel", [Filters, channels / Groups, KernelSize], KernelInitializer);
        bias = UseBias ? AddWeight("bias", [Filters], BiasInitializer) : null;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var x = Layout.SequenceToChannelsFirst(input, DataFormat);
        var padding = Layout.SequencePaddingFor(Padding, x, KernelSize, Strides, DilationRate);
        var y = x.Conv1d(Kernel.Value, null, Strides, padding, DilationRate, Groups);
        return Layout.SequenceFromChannelsFirst(biasActivation(y, bias?.Value, 1), DataFormat);
    }
}
