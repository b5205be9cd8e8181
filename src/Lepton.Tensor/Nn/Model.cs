// A model is a layer with a training API. Three ways to define one, as in Keras: Sequential (a
// list of layers), functional (Model(inputs, outputs) over symbolic tensors) and subclassing
// (derive, hold layers in fields, override Forward). Training lives in Model.Training.cs.
using System.Reflection;
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

/// <summary>A network with Compile, Fit, Evaluate, Predict, Summary and Save.</summary>
/// <example><code>
/// var input = Keras.Input([3, 32, 32]);
/// var x = new Conv2D(16, 3, padding: "same", activation: "relu").Apply(input);
/// var y = new Conv2D(16, 3, padding: "same").Apply(x);
/// var merged = new Activation("relu").Apply(new Add().Apply(x, y));
/// var output = new Dense(10).Apply(new GlobalAveragePooling2D().Apply(merged));
/// var model = new Model(input, output);
/// </code></example>
public partial class Model : Layer
{
    private readonly SymbolicTensor[]? graphInputs;
    private readonly SymbolicTensor[]? graphOutputs;
    private readonly List<SymbolicTensor>? graphOrder;

    /// <summary>Creates a functional model from one input to one output.</summary>
    public Model(SymbolicTensor input, SymbolicTensor output, string? name = null)
        : this([input], [output], name)
    {
    }

    /// <summary>Creates a functional model from inputs to outputs (one output is supported by Fit).</summary>
    public Model(SymbolicTensor[] inputs, SymbolicTensor[] outputs, string? name = null)
        : base(name ?? UniqueName("functional"), inputs.Length == 1 ? inputs[0].Shape : null)
    {
        graphInputs = inputs;
        graphOutputs = outputs;
        graphOrder = TopologicalOrder(inputs, outputs);
        BuildIfDeclared();
    }

    /// <summary>For subclasses and <see cref="Sequential"/>.</summary>
    /// <remarks>A subclass is built on first use by calling its Forward once on one zero example (training false), which
    /// builds the layers it calls, as Keras builds a subclassed model.</remarks>
    protected Model(string? name = null, int[]? inputShape = null)
        : base(name, inputShape)
    {
    }

    /// <summary>Where progress lines and summaries go (the console by default).</summary>
    public TextWriter Output { get; set; } = Console.Out;

    /// <summary>The layers, in order of use.</summary>
    public virtual IReadOnlyList<Layer> Layers
    {
        get
        {
            if (graphOrder is not null)
            {
                return [.. graphOrder.Where(n => n.Layer is not null).Select(n => n.Layer!).Distinct()];
            }

            // Subclassed model: the layers held in its fields (and lists of layers), like Keras's attribute tracking.
            var found = new List<Layer>();
            for (var type = GetType(); type is not null && type != typeof(Model); type = type.BaseType)
            {
                foreach (var member in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    switch (member.GetValue(this))
                    {
                        case Layer layer when !found.Contains(layer):
                            found.Add(layer);
                            break;
                        case IEnumerable<Layer> many:
                            found.AddRange(many.Where(l => !found.Contains(l)));
                            break;
                    }
                }
            }

            return found;
        }
    }

    /// <inheritdoc />
    public override IEnumerable<Layer> Sublayers => Layers;

    /// <summary>The optimizer given to Compile.</summary>
    public Optimizer? Optimizer { get; private set; }

    /// <summary>The loss given to Compile.</summary>
    public Loss? Loss { get; private set; }

    /// <summary>The metrics given to Compile.</summary>
    public IReadOnlyList<Metric> Metrics { get; private set; } = [];

    /// <summary>Set by callbacks to end Fit after the current batch.</summary>
    public bool StopTraining { get; set; }

    /// <summary>
    /// Runs every step through autograd (Keras's run_eagerly) instead of replaying captured steps. Otherwise Fit,
    /// TrainOnBatch, Evaluate and Predict run the first step of each batch shape eagerly, capture the second one's backend
    /// calls and replay them for the rest: the same kernels and results, without the per-step graph and with no managed
    /// allocation.
    /// </summary>
    /// <example><code>model.RunEagerly = true; // e.g. to step through a layer's Forward in a debugger</code></example>
    public bool RunEagerly { get; set; }

    /// <summary>True for models built from symbolic tensors.</summary>
    public bool IsFunctional => graphOrder is not null;

    internal override DType DeclaredInputType => graphInputs is { Length: > 0 } inputs ? inputs[0].DType : DType.Float32;

    internal IReadOnlyList<SymbolicTensor>? GraphOrder => graphOrder;

    internal IReadOnlyList<SymbolicTensor>? GraphInputs => graphInputs;

    internal IReadOnlyList<SymbolicTensor>? GraphOutputs => graphOutputs;

    /// <summary>Configures training: the optimizer, the loss and the metrics to report.</summary>
    /// <example><code>model.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());</code></example>
    public void Compile(Optimizer optimizer, Loss loss, params Metric[] metrics)
    {
        DropCaptures();
        Optimizer = optimizer;
        Loss = loss;
        Metrics = metrics;
    }

    /// <summary>Configures training by Keras names.</summary>
    /// <example><code>model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");</code></example>
    public void Compile(string optimizer, string loss, params string[] metrics) =>
        Compile(Optimizer.FromName(optimizer), Loss.FromName(loss), [.. metrics.Select(Metric.FromName)]);

    /// <summary>Configures training with an optimizer object and Keras names for the rest.</summary>
    /// <example><code>model.Compile(new Adam(3e-4f), "sparse_categorical_crossentropy", "accuracy");</code></example>
    public void Compile(Optimizer optimizer, string loss, params string[] metrics) =>
        Compile(optimizer, Loss.FromName(loss), [.. metrics.Select(Metric.FromName)]);

    /// <inheritdoc />
    private protected override void OnDeviceChanged(Device newDevice)
    {
        DropCaptures();
        Optimizer?.MoveState(newDevice);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var layer in Layers)
        {
            layer.Dispose();
        }

        Optimizer?.Dispose();
        DropCaptures();
        foreach (var sum in accumulators.Values)
        {
            sum.Dispose();
        }

        accumulators.Clear();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        if (graphInputs is null)
        {
            // A subclassed model's layers are built when its Forward first calls them. Calling it here on one zero
            // example (as Keras's build does) makes their weights exist before a training step collects the trainable
            // ones: otherwise the first step updates nothing and leaves its gradients to be added to the next step's.
            InferOutput(inputShapes, [.. inputShapes.Select((_, i) => BuildInputTypes is { } types && i < types.Count ? types[i] : DeclaredInputType)]);
            return;
        }

        if (inputShapes.Count == graphInputs.Length)
        {
            for (int i = 0; i < inputShapes.Count; i++)
            {
                if (!Shapes.SameShape(inputShapes[i], graphInputs[i].Shape))
                {
                    throw new ArgumentException($"{Name}: input {i} should have per-example shape {Shapes.Format(graphInputs[i].Shape)}, got {Shapes.Format(inputShapes[i])}.");
                }
            }
        }
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        if (graphOrder is null)
        {
            return base.Forward(inputs, training);
        }

        if (inputs.Count != graphInputs!.Length)
        {
            throw new ArgumentException($"{Name}: the model has {graphInputs.Length} inputs, got {inputs.Count}.");
        }

        var values = new Dictionary<SymbolicTensor, Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputs.Count; i++)
        {
            values[graphInputs[i]] = inputs[i];
        }

        // Masks travel beside the values (see MaskFlow); a layer sees the mask of its first input.
        var masks = new Dictionary<SymbolicTensor, Tensor?>(ReferenceEqualityComparer.Instance);
        foreach (var node in graphOrder)
        {
            if (node.Layer is not null)
            {
                values[node] = MaskFlow.Call(node.Layer, [.. node.Inputs.Select(i => values[i])], masks.GetValueOrDefault(node.Inputs[0]), training, out var mask);
                masks[node] = mask;
            }
        }

        return values[graphOutputs![0]];
    }

    private static List<SymbolicTensor> TopologicalOrder(SymbolicTensor[] inputs, SymbolicTensor[] outputs)
    {
        var order = new List<SymbolicTensor>();
        var state = new Dictionary<SymbolicTensor, bool>(ReferenceEqualityComparer.Instance);
        void Visit(SymbolicTensor node)
        {
            if (state.TryGetValue(node, out bool done))
            {
                if (!done)
                {
                    throw new ArgumentException("Model: the layer graph has a cycle.");
                }

                return;
            }

            state[node] = false;
            if (node.Layer is null && !inputs.Contains(node))
            {
                throw new ArgumentException($"Model: the outputs depend on an input that was not passed to Model ({node}).");
            }

            foreach (var input in node.Inputs)
            {
                Visit(input);
            }

            state[node] = true;
            order.Add(node);
        }

        foreach (var output in outputs)
        {
            Visit(output);
        }

        return order;
    }
}
