// Embedding lookup: int32 token ids [N, ...] -> vectors [N, ..., outputDim].
namespace Lepton.Nn.Layers;

/// <summary>Maps integer ids to learned vectors.</summary>
/// <example><code>var embed = new Embedding(inputDim: 10000, outputDim: 64);</code></example>
public sealed class Embedding : Layer
{
    private Weight? table;

    /// <summary>Creates the layer.</summary>
    public Embedding(int inputDim, int outputDim, string embeddingsInitializer = "uniform", ulong? seed = null, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (inputDim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputDim), inputDim, $"{Name} (Embedding): inputDim must be positive.");
        }

        if (outputDim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(outputDim), outputDim, $"{Name} (Embedding): outputDim must be positive.");
        }

        InputDim = inputDim;
        OutputDim = outputDim;
        EmbeddingsInitializer = embeddingsInitializer;
        Seed = seed;
        BuildIfDeclared();
    }

    /// <summary>Vocabulary size.</summary>
    public int InputDim { get; }

    /// <summary>Vector size.</summary>
    public int OutputDim { get; }

    /// <summary>"uniform" (Keras's U(-0.05, 0.05)) or any <see cref="Initializer"/> name.</summary>
    public string EmbeddingsInitializer { get; }

    /// <summary>Initializer seed.</summary>
    public ulong? Seed { get; }

    /// <summary>The [inputDim, outputDim] table.</summary>
    public Weight Embeddings => table ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["input_dim"] = InputDim;
        config["output_dim"] = OutputDim;
        config["embeddings_initializer"] = EmbeddingsInitializer;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        var init = EmbeddingsInitializer == "uniform" ? new UniformInitializer(-0.05f, 0.05f, Seed) : Initializer.FromName(EmbeddingsInitializer, Seed);
        table = AddWeight("embeddings", [InputDim, OutputDim], init);
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.DType != DType.Int32)
        {
            throw new ArgumentException($"{Name}: Embedding needs int32 ids, got {input.DType.Name()}.");
        }

        return Tensor.Embedding(input, Embeddings.Value);
    }

    private sealed class UniformInitializer(float low, float high, ulong? seed) : Initializer
    {
        public override string Name => "uniform";

        public override Tensor Create(int[] shape, Device device, Generator fallback) =>
            Tensor.Uniform(shape, low, high, seed is null ? fallback : new Generator(seed.Value), device);
    }
}
