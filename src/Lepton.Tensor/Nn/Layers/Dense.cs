// Fully connected layer: y = activation(x @ kernel + bias), kernel [inputs, units] as in Keras,
// applied to the last dimension of inputs of any rank.
namespace Lepton.Nn.Layers;

/// <summary>A densely connected layer.</summary>
/// <example><code>var hidden = new Dense(128, activation: "relu");</code></example>
public sealed class Dense : Layer
{
    private readonly Func<Tensor, Tensor?, int, Tensor> biasActivation;
    private Weight? kernel;
    private Weight? bias;

    /// <summary>Creates the layer.</summary>
    public Dense(
        int units, string? activation = null, bool useBias = true, string kernelInitializer = "glorot_uniform",
        string biasInitializer = "zeros", ulong? seed = null, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), units, $"{Name} (Dense): units must be positive.");
        }

        Units = units;
        ActivationName = activation ?? "linear";
        biasActivation = Activations.GetWithBias(activation);
        UseBias = useBias;
        KernelInitializer = Initializer.FromName(kernelInitializer, seed);
        BiasInitializer = Initializer.FromName(biasInitializer, seed);
        BuildIfDeclared();
    }

    /// <summary>Output size.</summary>
    public int Units { get; }

    /// <summary>The activation's name.</summary>
    public string ActivationName { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Initializer of the kernel.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>Initializer of the bias.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The [inputs, units] kernel.</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The [units] bias, or null.</summary>
    public Weight? Bias => bias;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["units"] = Units;
        config["activation"] = ActivationName;
        config["use_bias"] = UseBias;
        config["kernel_initializer"] = KernelInitializer.Name;
        config["bias_initializer"] = BiasInitializer.Name;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        if (inputShape.Length == 0)
        {
            throw new ArgumentException($"{Name}: Dense needs inputs with a feature dimension, got per-example shape {Shapes.Format(inputShape)}.");
        }

        kernel = AddWeight("kernel", [inputShape[^1], Units], KernelInitializer);
        bias = UseBias ? AddWeight("bias", [Units], BiasInitializer) : null;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => Forward(input, Kernel.Value, training);

    /// <summary>The layer's computation with <paramref name="kernel"/> in place of its own kernel (a fake-quantized copy
    /// in quantization-aware training); the sparse inference path is taken for the layer's own kernel only.</summary>
    internal Tensor Forward(Tensor input, Tensor kernel, bool training)
    {
        if (input.ShapeRef[^1] != Kernel.Shape[0])
        {
            throw new ArgumentException($"{Name}: expected {Kernel.Shape[0]} input features, got input of shape {Shapes.Format(input.ShapeRef)}.");
        }

        int inputs = Kernel.Shape[0], batch = inputs == 0 ? 0 : input.Numel / inputs;
        if (!training && batch > 0 && ReferenceEquals(kernel, Kernel.Value) && SparseKernel.ForInference(Kernel, transposed: true, input, batch) is { } sparse)
        {
            // A highly sparse kernel at inference: the CSR product instead of the dense GEMM.
            var outShape = input.Shape;
            outShape[^1] = Units;
            return biasActivation(sparse.MultiplyTransposed(input.Reshape([batch, inputs])), bias?.Value, -1).Reshape(outShape);
        }

        return biasActivation(input.MatMul(kernel), bias?.Value, -1);
    }
}
