// The shared part of SimpleRNN, LSTM and GRU: Keras's options (return sequences or state, go backwards,
// initial states as extra inputs, masks, seeded dropout) around one Tensor-level recurrence.
namespace Lepton.Nn.Layers;

/// <summary>
/// A recurrent layer over inputs [batch, time, features] (Keras's RNN base). Weights are stored in PyTorch's layout:
/// <c>kernel</c> [gates * units, features], <c>recurrent_kernel</c> [gates * units, units] (Keras stores both transposed).
/// Initial states are extra inputs: <c>Call([x, h0])</c>, or <c>Call([x, h0, c0])</c> for an LSTM. A [batch, time] mask
/// (1 = real step) comes from a preceding <see cref="Embedding"/> with maskZero or <see cref="Masking"/> layer, or is passed
/// with <see cref="Call(IReadOnlyList{Tensor}, Tensor?, bool)"/>: masked steps keep the previous state and output zeros.
/// </summary>
public abstract class RecurrentLayer : Layer, IMaskConsumer
{
    private readonly Generator? dropoutGenerator;
    private Weight? kernel;
    private Weight? recurrentKernel;
    private Weight? bias;

    /// <summary>Creates the layer (see the subclasses for the meaning of each option).</summary>
    /// <param name="units">The state size.</param>
    /// <param name="gates">How many blocks of units the kernels hold (1, 3 or 4).</param>
    /// <param name="options">The options shared by every recurrent layer.</param>
    /// <param name="inputShape">The per-example input shape [time, features], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    private protected RecurrentLayer(int units, int gates, RecurrentOptions options, int[]? inputShape, string? name)
        : base(name, inputShape)
    {
        if (units <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(units), units, $"{GetType().Name}: units must be positive.");
        }

        foreach (var (label, rate) in new[] { ("dropout", options.Dropout), ("recurrentDropout", options.RecurrentDropout) })
        {
            if (rate < 0 || rate >= 1 || float.IsNaN(rate))
            {
                throw new ArgumentOutOfRangeException(label, rate, $"{GetType().Name}: {label} must be in [0, 1).");
            }
        }

        Units = units;
        Gates = gates;
        Options = options;
        Activation = UnlessBuiltIn(options.Activation, "tanh");
        RecurrentActivation = UnlessBuiltIn(options.RecurrentActivation, "sigmoid");
        dropoutGenerator = options.Seed is null ? null : new Generator(options.Seed.Value);
    }

    /// <summary>The state size.</summary>
    public int Units { get; }

    /// <summary>Whether the output is the whole sequence [batch, time, units] or only the last output [batch, units].</summary>
    public bool ReturnSequences => Options.ReturnSequences;

    /// <summary>Whether <see cref="CallWithState"/> returns the final states after the output.</summary>
    public bool ReturnState => Options.ReturnState;

    /// <summary>Whether the sequence is read from its last step to its first (the returned sequence is then reversed too, as in Keras).</summary>
    public bool GoBackwards => Options.GoBackwards;

    /// <summary>The [gates * units, features] input kernel (PyTorch's weight_ih).</summary>
    public Weight Kernel => kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The [gates * units, units] recurrent kernel (PyTorch's weight_hh).</summary>
    public Weight RecurrentKernel => recurrentKernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias, or null without one.</summary>
    public Weight? Bias => bias;

    internal RecurrentOptions Options { get; }

    /// <summary>How many state tensors the layer carries (2 for an LSTM).</summary>
    internal virtual int StateCount => 1;

    bool IMaskConsumer.KeepsTimeAxis => ReturnSequences;

    private protected int Gates { get; }

    /// <summary>The cell activation; null for tanh, which the recurrent ops run in their fused cells.</summary>
    private protected Func<Tensor, Tensor>? Activation { get; }

    /// <summary>The gate activation; null for sigmoid, which the recurrent ops run in their fused cells.</summary>
    private protected Func<Tensor, Tensor>? RecurrentActivation { get; }

    /// <summary>Runs the layer with a [batch, time] mask (1 = real step, 0 = padding; null for none).</summary>
    /// <param name="inputs">The sequence, then optionally the initial states.</param>
    /// <param name="mask">The mask, float [batch, time], or null.</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <example><code>var y = lstm.Call([x], mask, training: true);</code></example>
    public Tensor Call(IReadOnlyList<Tensor> inputs, Tensor? mask, bool training = false) => CallWithState(inputs, mask, training)[0];

    /// <summary>
    /// Runs the layer and, when <see cref="ReturnState"/> is set, returns the final states after the output, as Keras does
    /// (<c>output, h, c</c> for an LSTM; <c>output, h</c> otherwise).
    /// </summary>
    /// <param name="inputs">The sequence, then optionally the initial states.</param>
    /// <param name="mask">The mask, float [batch, time], or null.</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <example><code>var outs = new LSTM(8, returnState: true).CallWithState([x]); var (y, h, c) = (outs[0], outs[1], outs[2]);</code></example>
    public Tensor[] CallWithState(IReadOnlyList<Tensor> inputs, Tensor? mask = null, bool training = false)
    {
        if (inputs.Count == 0)
        {
            throw new ArgumentException($"{Name}: a recurrent layer needs its input sequence.");
        }

        CheckSequence(inputs[0]);
        EnsureBuiltFor(inputs);
        var (output, states) = Run(inputs, mask, training, alignOutput: false);
        OutputShape ??= output.ShapeRef[1..];
        return ReturnState ? [output, .. states] : [output];
    }

    Tensor IMaskConsumer.CallMasked(IReadOnlyList<Tensor> inputs, Tensor? mask, bool training) => Call(inputs, mask, training);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["units"] = Units;
        config["activation"] = Options.Activation;
        config["use_bias"] = Options.UseBias;
        config["return_sequences"] = ReturnSequences;
        config["return_state"] = ReturnState;
        config["go_backwards"] = GoBackwards;
        config["dropout"] = Options.Dropout;
        config["recurrent_dropout"] = Options.RecurrentDropout;
        config["kernel_initializer"] = Options.KernelInitializer;
        config["recurrent_initializer"] = Options.RecurrentInitializer;
        config["bias_initializer"] = Options.BiasInitializer;
        config["seed"] = Options.Seed;
        return config;
    }

    /// <summary>Runs the recurrence: the output is aligned with the input positions when <paramref name="alignOutput"/> is set
    /// (what Bidirectional needs), else in the order the steps ran (Keras's go_backwards output).</summary>
    internal (Tensor Output, Tensor[] States) Run(IReadOnlyList<Tensor> inputs, Tensor? mask, bool training, bool alignOutput)
    {
        var x = inputs[0];
        CheckSequence(x);
        if (x.ShapeRef[2] != Kernel.Shape[1])
        {
            throw new ArgumentException($"{Name}: expected {Kernel.Shape[1]} features per step, got input of shape {Shapes.Format(x.ShapeRef)}.");
        }

        if (inputs.Count != 1 && inputs.Count != 1 + StateCount)
        {
            throw new ArgumentException($"{Name}: pass the sequence alone or with {StateCount} initial state(s) [batch, {Units}], got {inputs.Count} inputs.");
        }

        int batch = x.ShapeRef[0];
        var initial = new Tensor?[StateCount];
        for (int i = 0; i < StateCount; i++)
        {
            if (inputs.Count > 1)
            {
                var s = inputs[1 + i];
                if (s.Rank != 2 || s.ShapeRef[0] != batch || s.ShapeRef[1] != Units)
                {
                    throw new ArgumentException($"{Name}: initial state {i} must be [batch, units] = [{batch}, {Units}] for input {Shapes.Format(x.ShapeRef)}, got {Shapes.Format(s.ShapeRef)}.");
                }

                initial[i] = s;
            }
        }

        if (mask is not null && (mask.Rank != 2 || mask.ShapeRef[0] != batch || mask.ShapeRef[1] != x.ShapeRef[1] || mask.DType != DType.Float32))
        {
            throw new ArgumentException($"{Name}: the mask must be float32 [batch, time] = [{batch}, {x.ShapeRef[1]}] for input {Shapes.Format(x.ShapeRef)}, got {mask.DType.Name()} {Shapes.Format(mask.ShapeRef)}.");
        }

        Tensor? recurrentMask = null;
        if (training && Options.Dropout > 0)
        {
            x *= DropoutMask([batch, 1, x.ShapeRef[2]], Options.Dropout, x.Device);
        }

        if (training && Options.RecurrentDropout > 0)
        {
            recurrentMask = DropoutMask([batch, Units], Options.RecurrentDropout, x.Device);
        }

        var (sequence, states) = Recur(x, initial, mask, GoBackwards, recurrentMask);
        if (!ReturnSequences)
        {
            return (states[0], states);
        }

        if (GoBackwards && !alignOutput)
        {
            int time = sequence.ShapeRef[1];
            var order = new int[time];
            for (int t = 0; t < time; t++)
            {
                order[t] = time - 1 - t;
            }

            sequence = sequence.IndexSelect(1, Tensor.FromArray(order, [time], sequence.Device));
        }

        return (sequence, states);
    }

    /// <summary>The Tensor-level recurrence with this layer's weights: outputs aligned with the input, and the final states.</summary>
    private protected abstract (Tensor Output, Tensor[] States) Recur(Tensor x, Tensor?[] initial, Tensor? mask, bool reverse, Tensor? recurrentDropoutMask);

    /// <summary>Creates the bias (subclasses with another bias layout override this).</summary>
    private protected virtual Weight? CreateBias() =>
        Options.UseBias ? AddWeight("bias", [Gates * Units], Initializer.FromName(Options.BiasInitializer, Options.Seed)) : null;

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        var shape = inputShapes[0];
        if (shape.Length != 2)
        {
            throw new ArgumentException($"{Name}: {GetType().Name} needs inputs [batch, time, features], got per-example shape {Shapes.Format(shape)}.");
        }

        kernel = AddWeight("kernel", [Gates * Units, shape[1]], Initializer.FromName(Options.KernelInitializer, Options.Seed));
        recurrentKernel = AddWeight("recurrent_kernel", [Gates * Units, Units], Initializer.FromName(Options.RecurrentInitializer, Options.Seed));
        bias = CreateBias();
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training) => Run(inputs, null, training, alignOutput: false).Output;

    private void CheckSequence(Tensor x)
    {
        if (x.Rank != 3)
        {
            throw new ArgumentException($"{Name}: {GetType().Name} needs inputs [batch, time, features], got {Shapes.Format(x.ShapeRef)}.");
        }
    }

    /// <summary>The named activation (checked), or null when it is the recurrent ops' own default.</summary>
    private static Func<Tensor, Tensor>? UnlessBuiltIn(string name, string builtIn)
    {
        var function = Activations.Get(name);
        return string.Equals(name, builtIn, StringComparison.OrdinalIgnoreCase) ? null : function;
    }

    private Tensor DropoutMask(int[] shape, float rate, Device device)
    {
        using (Tensor.NoGrad())
        {
            using var uniform = Tensor.Rand(shape, dropoutGenerator ?? Generator, device);
            using var keep = uniform >= rate;
            return keep * (1f / (1f - rate));
        }
    }
}

/// <summary>The options every recurrent layer shares, with Keras's names and defaults.</summary>
internal sealed record RecurrentOptions(
    string Activation = "tanh", string RecurrentActivation = "sigmoid", bool UseBias = true, bool ReturnSequences = false, bool ReturnState = false,
    bool GoBackwards = false, float Dropout = 0f, float RecurrentDropout = 0f, string KernelInitializer = "glorot_uniform",
    string RecurrentInitializer = "orthogonal", string BiasInitializer = "zeros", ulong? Seed = null);
