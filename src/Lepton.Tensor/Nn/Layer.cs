// The base of every layer and model: named weights created in Build on first use (shapes are
// inferred from the input), a Forward that subclasses write, symbolic calls for the functional
// API, and the configuration used to save and rebuild the layer.
using System.Collections.Concurrent;

namespace Lepton.Nn;

/// <summary>A layer: weights plus a forward computation, built from the first input's shape.</summary>
/// <example><code>
/// public sealed class Scale : Layer
/// {
///     private Weight? factor;
///     protected override void Build(int[] inputShape) => factor = AddWeight("factor", [inputShape[^1]], Initializer.Ones());
///     protected override Tensor Forward(Tensor input, bool training) => input * factor!.Value;
/// }
/// </code></example>
public abstract class Layer : IDisposable
{
    private static readonly ConcurrentDictionary<string, int> NameCounters = new();
    private readonly List<Weight> ownWeights = [];
    private readonly object buildGate = new();
    private Device device = Device.Default;
    private bool built;

    /// <summary>Creates a layer; <paramref name="inputShape"/> (per example) builds it immediately, like Keras's input_shape.</summary>
    protected Layer(string? name = null, int[]? inputShape = null)
    {
        Name = name ?? UniqueName(DefaultName(GetType()));
        if (inputShape is not null && inputShape.Any(d => d < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(inputShape), Shapes.Format(inputShape), $"{Name} ({GetType().Name}): inputShape sizes must not be negative.");
        }

        DeclaredInputShape = inputShape;
    }

    /// <summary>The layer's unique name, e.g. <c>conv2d_1</c>.</summary>
    public string Name { get; protected set; }

    /// <summary>When false, the layer's weights are frozen: optimizers skip them.</summary>
    public bool Trainable
    {
        get => trainable;
        set
        {
            if (trainable != value)
            {
                trainable = value;

                // Layers read it in Forward (batch norm's statistics): captured steps made before the change are stale.
                Interlocked.Increment(ref trainableChanges);
            }
        }
    }

    private bool trainable = true;
    private float learningRateMultiplier = 1f;

    /// <summary>
    /// The factor the built-in optimizers multiply their learning rate by for this layer's weights and its sublayers'
    /// (1 by default): fine-tune a pretrained backbone at a tenth of the head's rate with 0.1, as with PyTorch's
    /// parameter groups. Setting it on a model sets every layer in it; set the head's afterwards to differ.
    /// </summary>
    /// <example><code>
    /// backbone.LearningRateMultiplier = 0.1f; // the head keeps the optimizer's full rate
    /// model.Compile(new Adam(1e-3f), "sparse_categorical_crossentropy", "accuracy");
    /// </code></example>
    public float LearningRateMultiplier
    {
        get => learningRateMultiplier;
        set
        {
            if (!(value >= 0 && float.IsFinite(value)))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, $"{Name}: LearningRateMultiplier must be finite and at least 0.");
            }

            learningRateMultiplier = value;
            foreach (var w in ownWeights)
            {
                w.LearningRateMultiplier = value;
            }

            foreach (var layer in Sublayers)
            {
                layer.LearningRateMultiplier = value;
            }
        }
    }

    /// <summary>How many times any layer's <see cref="Trainable"/> has changed.</summary>
    private static long trainableChanges;

    internal static long TrainableChanges => Interlocked.Read(ref trainableChanges);

    /// <summary>True once the weights exist.</summary>
    public bool Built
    {
        get => Volatile.Read(ref built);
        private set => Volatile.Write(ref built, value);
    }

    /// <summary>
    /// The device the weights live on and the layer computes on. Setting it sets every sublayer's too and moves
    /// weights that already exist (and a compiled model's optimizer state), like PyTorch's <c>module.to(device)</c>.
    /// </summary>
    /// <example><code>var model = new Sequential([...]) { Device = Device.Cuda(0) };</code></example>
    public Device Device
    {
        get => device;
        set
        {
            device = value;
            foreach (var w in ownWeights)
            {
                w.MoveTo(value);
            }

            foreach (var layer in Sublayers)
            {
                layer.Device = value;
            }

            OnDeviceChanged(value);
        }
    }

    /// <summary>
    /// Converts every floating weight of this layer and its sublayers to <paramref name="dtype"/>, like PyTorch's
    /// <c>module.to(dtype)</c>: bfloat16 or float16 weights take half the memory and are computed in float32 (inputs
    /// and outputs of float32 stay float32), and the model saves them in that type. Training updates float32 weights only.
    /// Weights not yet built are created in float32.
    /// </summary>
    /// <param name="dtype">A floating element type.</param>
    /// <example><code>model.CastWeights(DType.BFloat16); model.Save("model-bf16.lepton");</code></example>
    public void CastWeights(DType dtype)
    {
        if (dtype is not (DType.Float32 or DType.Float16 or DType.BFloat16))
        {
            throw new ArgumentException($"CastWeights: layers compute with float32, float16 or bfloat16 weights, not {dtype.Name()}.", nameof(dtype));
        }

        foreach (var w in ownWeights)
        {
            w.CastTo(dtype);
        }

        foreach (var layer in Sublayers)
        {
            layer.CastWeights(dtype);
        }
    }

    /// <summary>Called after <see cref="Device"/> is set, to move state the layer keeps outside its weights.</summary>
    private protected virtual void OnDeviceChanged(Device newDevice)
    {
    }

    /// <summary>The shape of one input example, known once built.</summary>
    public int[]? InputShape { get; private set; }

    /// <summary>The shape of one output example, known after the first call.</summary>
    public int[]? OutputShape { get; internal set; }

    /// <summary>Generator for initializers without their own seed.</summary>
    public Generator Generator { get; set; } = Generator.Default;

    /// <summary>Layers this one contains (models and composite layers override it).</summary>
    public virtual IEnumerable<Layer> Sublayers => [];

    /// <summary>Every weight of this layer and its sublayers.</summary>
    public IReadOnlyList<Weight> Weights => [.. AllWeights(includeFrozen: true, trainable: null)];

    /// <summary>Weights the optimizer updates.</summary>
    public IReadOnlyList<Weight> TrainableWeights => [.. AllWeights(includeFrozen: false, trainable: true)];

    /// <summary>Weights the optimizer leaves alone (frozen layers, running statistics).</summary>
    public IReadOnlyList<Weight> NonTrainableWeights => [.. Weights.Except(TrainableWeights)];

    internal int[]? DeclaredInputShape { get; }

    /// <summary>The element types of the inputs the layer is being built from, when built by a call on data.</summary>
    internal IReadOnlyList<DType>? BuildInputTypes { get; private set; }

    /// <summary>The element type of the first input the layer was built for.</summary>
    internal DType BuiltInputType => BuildInputTypes is { Count: > 0 } types ? types[0] : DeclaredInputType;

    /// <summary>The element type of the declared input (float32 unless a layer says otherwise).</summary>
    internal virtual DType DeclaredInputType => DType.Float32;

    /// <summary>The number of scalar weights.</summary>
    /// <example><code>int n = model.CountParams();</code></example>
    public long CountParams() => Weights.Sum(w => (long)w.Value.Numel);

    /// <summary>Runs the layer on a batch (the first dimension is the batch); builds it on first use.</summary>
    /// <example><code>var y = dense.Call(x, training: true);</code></example>
    public Tensor Call(Tensor input, bool training = false) => Call([input], training);

    /// <summary>Runs a layer with several inputs (e.g. the Add merge layer).</summary>
    /// <example><code>var y = new Add().Call([a, b]);</code></example>
    public Tensor Call(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        if (inputs.Count == 0)
        {
            throw new ArgumentException($"{Name}: a layer needs at least one input.");
        }

        foreach (var input in inputs)
        {
            if (input.Rank < 1)
            {
                throw new ArgumentException($"{Name}: inputs need a batch dimension; got shape {Shapes.Format(input.ShapeRef)}.");
            }
        }

        EnsureBuiltFor(inputs);
        if (LayerTrace.Current is not { } trace)
        {
            var output = Forward(inputs, training);
            OutputShape ??= output.ShapeRef[1..];
            return output;
        }

        // Tracing (ONNX export of a subclassed model): record the calls the traced model makes itself.
        bool record = trace.Depth == 1;
        trace.Depth++;
        try
        {
            var output = Forward(inputs, training);
            OutputShape ??= output.ShapeRef[1..];
            if (record)
            {
                trace.Calls.Add((this, [.. inputs], output));
            }

            return output;
        }
        finally
        {
            trace.Depth--;
        }
    }

    /// <summary>Calls the layer on placeholders, recording a functional graph.</summary>
    /// <example><code>var hidden = new Dense(64, activation: "relu").Apply(input);</code></example>
    public SymbolicTensor Apply(params SymbolicTensor[] inputs)
    {
        var shapes = inputs.Select(i => i.Shape).ToArray();
        EnsureBuilt(shapes);
        var (outputShape, outputType) = InferOutput(shapes, [.. inputs.Select(i => i.DType)]);
        OutputShape ??= outputShape;
        return new SymbolicTensor(outputShape, this, inputs, outputType);
    }

    /// <summary>The Keras-style configuration (constructor arguments) used to save and rebuild the layer.</summary>
    public virtual Dictionary<string, object?> GetConfig() => new() { ["name"] = Name, ["trainable"] = Trainable };

    /// <summary>Frees the weights.</summary>
    public virtual void Dispose()
    {
        foreach (var w in ownWeights)
        {
            w.Dispose();
        }

        ownWeights.Clear();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({GetType().Name})";

    /// <summary>Builds the layer for a batch of actual inputs (their shapes and element types; no-op once built).</summary>
    internal void EnsureBuiltFor(IReadOnlyList<Tensor> inputs)
    {
        if (!Built)
        {
            EnsureBuilt([.. inputs.Select(i => i.ShapeRef[1..])], [.. inputs.Select(i => i.DType)]);
        }
    }

    /// <summary>
    /// Builds the layer for inputs of these per-example shapes (no-op once built). Threads that call a new layer at
    /// once build it exactly once: the others wait and then use the weights the first one made.
    /// </summary>
    internal void EnsureBuilt(IReadOnlyList<int[]> inputShapes, IReadOnlyList<DType>? inputTypes = null)
    {
        if (Built)
        {
            return;
        }

        lock (buildGate)
        {
            if (Built)
            {
                return;
            }

            if (DeclaredInputShape is not null && inputShapes.Count == 1 && !Shapes.SameShape(DeclaredInputShape, inputShapes[0]))
            {
                throw new ArgumentException($"{Name}: expected inputs of shape {Shapes.Format(DeclaredInputShape)} per example, got {Shapes.Format(inputShapes[0])}.");
            }

            if (inputTypes is not null)
            {
                BuildInputTypes = inputTypes;
            }

            InputShape = (int[])inputShapes[0].Clone();
            Build(inputShapes);
            Built = true;
        }
    }

    /// <summary>Output shape and type per example, found by running one zero example through the layer.</summary>
    internal (int[] Shape, DType DType) InferOutput(IReadOnlyList<int[]> inputShapes, IReadOnlyList<DType> inputTypes)
    {
        foreach (var shape in inputShapes)
        {
            LoadLimits.CheckExample(Name, shape);
        }

        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        var dummies = inputShapes.Select((s, i) => Tensor.Zeros([1, .. s], inputTypes[i], Device)).ToArray();
        var output = Forward(dummies, training: false);
        return (output.ShapeRef[1..], output.DType);
    }

    /// <summary>Creates the weights for inputs of these per-example shapes; by default calls <see cref="Build(int[])"/> with the first.</summary>
    protected virtual void Build(IReadOnlyList<int[]> inputShapes) => Build(inputShapes[0]);

    /// <summary>Creates the weights for inputs of this per-example shape.</summary>
    protected virtual void Build(int[] inputShape)
    {
    }

    /// <summary>The computation on a batch; single-input layers override this one.</summary>
    protected virtual Tensor Forward(Tensor input, bool training) =>
        throw new NotSupportedException($"{GetType().Name} does not implement Forward for a single input.");

    /// <summary>The computation on several inputs; by default the single-input form.</summary>
    protected virtual Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        if (inputs.Count != 1)
        {
            throw new ArgumentException($"{Name} ({GetType().Name}) takes one input, got {inputs.Count}.");
        }

        return Forward(inputs[0], training);
    }

    /// <summary>Creates a weight named <c>{layer}/{name}</c>.</summary>
    protected Weight AddWeight(string name, int[] shape, Initializer initializer, bool trainable = true)
    {
        LoadLimits.ChargeWeight($"{Name}/{name}", shape);
        var weight = new Weight($"{Name}/{name}", initializer.Create(shape, Device, Generator), trainable) { LearningRateMultiplier = learningRateMultiplier };
        ownWeights.Add(weight);
        return weight;
    }

    /// <summary>
    /// Creates a non-trainable weight named <c>{layer}/{name}</c> of any element type, every element
    /// <paramref name="value"/> (the integers and scales of quantized layers, which loading or conversion overwrite).
    /// </summary>
    private protected Weight AddFixedWeight(string name, int[] shape, DType dtype, float value)
    {
        LoadLimits.ChargeWeight($"{Name}/{name}", shape);
        var weight = new Weight($"{Name}/{name}", Tensor.Full(shape, value, dtype, Device), trainable: false) { LearningRateMultiplier = learningRateMultiplier };
        ownWeights.Add(weight);
        return weight;
    }

    /// <summary>Builds immediately when an input shape was declared.</summary>
    protected void BuildIfDeclared()
    {
        if (DeclaredInputShape is not null)
        {
            EnsureBuilt([DeclaredInputShape]);
            OutputShape = InferOutput([DeclaredInputShape], [DeclaredInputType]).Shape;
        }
    }

    internal static string UniqueName(string prefix)
    {
        int n = NameCounters.AddOrUpdate(prefix, 0, (_, c) => c + 1);
        return n == 0 ? prefix : $"{prefix}_{n}";
    }

    private static string DefaultName(Type type)
    {
        var chars = new List<char>();
        string name = type.Name;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && !char.IsDigit(name[i - 1]) && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
            {
                chars.Add('_');
            }

            chars.Add(char.ToLowerInvariant(c));
        }

        return new string([.. chars]);
    }

    private IEnumerable<Weight> AllWeights(bool includeFrozen, bool? trainable)
    {
        // Depth-first over sublayers; a frozen layer freezes everything below it, as in Keras.
        var seen = new HashSet<Weight>();
        var visited = new HashSet<Layer>();
        var result = new List<Weight>();
        void Visit(Layer layer, bool frozen)
        {
            if (!visited.Add(layer))
            {
                return;
            }

            frozen |= !layer.Trainable;
            if (includeFrozen || !frozen)
            {
                foreach (var w in layer.ownWeights)
                {
                    if ((trainable is null || w.Trainable == trainable) && seen.Add(w))
                    {
                        result.Add(w);
                    }
                }
            }

            foreach (var sub in layer.Sublayers)
            {
                Visit(sub, frozen);
            }
        }

        Visit(this, frozen: false);
        return result;
    }
}
