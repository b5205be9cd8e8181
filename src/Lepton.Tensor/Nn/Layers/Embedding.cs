// Embedding lookup: int32 token ids [N, ...] -> vectors [N, ..., outputDim]; with maskZero, id 0 is
// padding and the layer gives the layers after it a [N, time] mask (see MaskFlow).
namespace Lepton.Nn.Layers;

/// <summary>Maps integer ids to learned vectors.</summary>
/// <example><code>var embed = new Embedding(inputDim: 10000, outputDim: 64);</code></example>
public sealed class Embedding : Layer, IMaskProducer
{
    private Weight? table;

    /// <summary>Creates the layer.</summary>
    /// <param name="inputDim">Vocabulary size.</param>
    /// <param name="outputDim">Vector size.</param>
    /// <param name="embeddingsInitializer">"uniform" (Keras's U(-0.05, 0.05)) or any initializer name.</param>
    /// <param name="seed">Initializer seed.</param>
    /// <param name="inputShape">Per-example input shape, to build at once.</param>
    /// <param name="name">The layer's name.</param>
    /// <param name="maskZero">Treat id 0 as padding: recurrent layers after this one skip those steps (Keras's mask_zero).</param>
    public Embedding(int inputDim, int outputDim, string embeddingsInitializer = "uniform", ulong? seed = null, int[]? inputShape = null, string? name = null, bool maskZero = false)
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
        MaskZero = maskZero;
        BuildIfDeclared();
    }

    /// <summary>Vocabulary size.</summary>
    public int InputDim { get; }

    /// <summary>Vector size.</summary>
    public int OutputDim { get; }

    /// <summary>"uniform" (Keras's U(-0.05, 0.05)) or any <see cref="Initializer"/> name.</summary>
    public string EmbeddingsInitializer { get; }

    /// <summary>Whether id 0 is padding that later layers mask out.</summary>
    public bool MaskZero { get; }

    /// <summary>Initializer seed.</summary>
    public ulong? Seed { get; }

    /// <summary>The [inputDim, outputDim] table.</summary>
    public Weight Embeddings => table ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>Ids are int32, also when the layer is built from a declared input shape.</summary>
    internal override DType DeclaredInputType => DType.Int32;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["input_dim"] = InputDim;
        config["output_dim"] = OutputDim;
        config["embeddings_initializer"] = EmbeddingsInitializer;
        config["mask_zero"] = MaskZero;
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
        if (input.DType is not (DType.Int32 or DType.Int64))
        {
            throw new ArgumentException($"{Name}: Embedding needs int32 or int64 ids, got {input.DType.Name()} {Shapes.Format(input.ShapeRef)}.");
        }

        return Tensor.Embedding(input, Embeddings.Value);
    }

    /// <summary>1 where the id is not 0, for [batch, time] ids when <see cref="MaskZero"/> is set.</summary>
    Tensor? IMaskProducer.ComputeMask(Tensor input)
    {
        if (!MaskZero || input.Rank != 2)
        {
            return null;
        }

        using (Tensor.NoGrad())
        {
            var device = input.Device;
            using var nonZero = input.Ne(Tensor.Zeros([], input.DType, device));
            return nonZero.To(DType.Float32);
        }
    }

    private sealed class UniformInitializer(float low, float high, ulong? seed) : Initializer
    {
        public override string Name => "uniform";

        public override Tensor Create(int[] shape, Device device, Generator fallback) =>
            Tensor.Uniform(shape, low, high, seed is null ? fallback : new Generator(seed.Value), device);
    }
}
