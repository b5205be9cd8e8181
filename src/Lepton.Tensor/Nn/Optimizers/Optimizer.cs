// The optimizer base: learning rate (constant or scheduled), gradient clipping by norm (per weight
// or global), per-weight state buffers, and one fused backend update per weight per step.
using Lepton.Backends;

namespace Lepton.Nn.Optimizers;

/// <summary>Updates weights from their gradients.</summary>
public abstract class Optimizer : IDisposable
{
    private readonly Dictionary<Weight, (Tensor? First, Tensor? Second)> state = [];
    private float learningRate;
    private float? clipNorm, globalClipNorm;

    /// <summary>Creates the optimizer with a constant rate or a schedule.</summary>
    /// <param name="learningRate">The constant rate, finite and at least 0 (unused with a schedule).</param>
    /// <param name="schedule">The rate as a function of the step, or null for the constant rate.</param>
    protected Optimizer(float learningRate, LearningRateSchedule? schedule)
    {
        this.learningRate = schedule is null ? Hyperparameters.LearningRate(GetType().Name, learningRate) : learningRate;
        Schedule = schedule;
    }

    /// <summary>The Keras name, e.g. <c>adam</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The learning rate of the next step (set it, finite and at least 0, to change to a constant rate; callbacks do).</summary>
    public float LearningRate
    {
        get => Schedule?.Rate(Iterations) ?? learningRate;
        set
        {
            learningRate = Hyperparameters.LearningRate(GetType().Name, value, nameof(LearningRate));
            Schedule = null;
        }
    }

    /// <summary>The schedule, if the rate is scheduled.</summary>
    public LearningRateSchedule? Schedule { get; private set; }

    /// <summary>Steps taken so far.</summary>
    public long Iterations { get; internal set; }

    /// <summary>When set (finite and above 0), each weight's gradient is rescaled to at most this L2 norm (Keras's clipnorm).</summary>
    public float? ClipNorm
    {
        get => clipNorm;
        set => clipNorm = value is { } v ? Hyperparameters.Positive(GetType().Name, v, nameof(ClipNorm)) : null;
    }

    /// <summary>
    /// When set (finite and above 0), all gradients are rescaled together so their joint L2 norm is at most this (Keras's
    /// global_clipnorm).
    /// </summary>
    public float? GlobalClipNorm
    {
        get => globalClipNorm;
        set => globalClipNorm = value is { } v ? Hyperparameters.Positive(GetType().Name, v, nameof(GlobalClipNorm)) : null;
    }

    /// <summary>Looks an optimizer up by its Keras name with default settings.</summary>
    /// <example><code>var opt = Optimizer.FromName("adam");</code></example>
    public static Optimizer FromName(string name) => name.ToLowerInvariant() switch
    {
        "sgd" => new Sgd(),
        "adam" => new Adam(),
        "adamw" => new AdamW(),
        "rmsprop" => new RmsProp(),
        _ => throw new ArgumentException($"Unknown optimizer '{name}'; use sgd, adam, adamw or rmsprop."),
    };

    /// <summary>Applies one update to every weight that has a gradient, then clears the gradients.</summary>
    /// <example><code>loss.Backward(); optimizer.Step(model.TrainableWeights);</code></example>
    public void Step(IReadOnlyList<Weight> weights) => Step(weights, null);

    /// <summary>
    /// <see cref="Step(IReadOnlyList{Weight})"/> with the gradients given instead of read from each weight's Grad (one
    /// per weight, null to skip it), which are then left as they are: accumulated gradients.
    /// </summary>
    internal void Step(IReadOnlyList<Weight> weights, IReadOnlyList<Tensor?>? gradients)
    {
        // Clipping factors are computed on the device, so clipping never waits for it; their tensors live
        // in a scope of their own (none is made when there is no clipping, keeping the step allocation-light).
        bool clipping = GlobalClipNorm is not null || ClipNorm is not null;
        using var scope = clipping ? Tensor.NewScope() : null;
        using var noGrad = clipping ? Tensor.NoGrad() : default;
        Tensor? globalScale = null;
        if (GlobalClipNorm is float maxGlobal)
        {
            Tensor? sumSquares = null;
            for (int i = 0; i < weights.Count; i++)
            {
                if (GradientOf(weights, gradients, i) is { } g)
                {
                    var squares = (g * g).Sum();
                    sumSquares = sumSquares is null ? squares : sumSquares + squares;
                }
            }

            globalScale = sumSquares is null ? null : ClipFactor(sumSquares.Sqrt(), maxGlobal);
        }

        BeginStep(weights);
        for (int i = 0; i < weights.Count; i++)
        {
            var w = weights[i];
            var grad = GradientOf(weights, gradients, i);
            if (grad is null)
            {
                continue;
            }

            var scale = globalScale;
            if (ClipNorm is float maxNorm)
            {
                var norm = (grad * grad).Sum().Sqrt();
                scale = scale is null ? ClipFactor(norm, maxNorm) : scale * ClipFactor(norm * scale, maxNorm);
            }

            ApplyUpdate(w, grad, scale);
            w.MarkWritten();

            // A pruned weight stays exactly zero where its mask is: the one place every step passes.
            w.ApplyPruningMask();
            if (gradients is null)
            {
                w.Value.ZeroGrad();
            }
        }
    }

    /// <summary>The learning rate of the step being applied (read before <see cref="Iterations"/> counts it).</summary>
    private protected float StepRate { get; private set; }

    /// <summary>Counts the step and fixes its learning rate; a captured step does the same at every replay.</summary>
    /// <param name="weights">The weights the step updates.</param>
    private protected virtual void BeginStep(IReadOnlyList<Weight> weights)
    {
        AdvanceStep();
        Capture.StepCapture.RecordHost("optimizer step", advance ??= AdvanceStep);
    }

    private Action? advance;

    private void AdvanceStep()
    {
        StepRate = LearningRate;
        Iterations++;
    }

    /// <summary>Updates one weight from its gradient, times <paramref name="scale"/> (a one-element tensor) when given.</summary>
    private protected virtual void ApplyUpdate(Weight weight, Tensor gradient, Tensor? scale)
    {
        // The update's arguments (learning rate, step) are read when it runs, so a replayed step uses each step's own.
        var (first, second) = State(weight);
        int length = weight.Value.Numel;
        Capture.StepCapture.Dynamic(
            nameof(Backends.IBackend.OptimizerStep), weight.Value.Backend, [weight.Value.Buffer, gradient.Buffer, first?.Buffer, second?.Buffer, scale?.DenseData().Buffer],
            0b1101, (b, s) => b.OptimizerStep(Update(StepRate * weight.LearningRateMultiplier, Iterations), s[0]!, s[1]!, s[2], s[3], length, s[4]));
    }

    private static Tensor? GradientOf(IReadOnlyList<Weight> weights, IReadOnlyList<Tensor?>? gradients, int i) =>
        gradients is null ? weights[i].Value.Grad : gradients[i];

    /// <summary>min(1, max / norm) as a one-element tensor on the norm's device.</summary>
    private static Tensor ClipFactor(Tensor norm, float max) => max / Tensor.Maximum(norm, norm.ScalarLike(max));

    /// <summary>Hyper-parameters and the state tensors (named <c>{weight}/{slot}</c>) for saving.</summary>
    public virtual Dictionary<string, object?> GetConfig()
    {
        var config = new Dictionary<string, object?>
        {
            ["name"] = Name,
            ["learning_rate"] = learningRate,
            ["iterations"] = Iterations,
            ["clipnorm"] = ClipNorm,
            ["global_clipnorm"] = GlobalClipNorm,
        };
        if (Schedule is not null)
        {
            config["schedule"] = Schedule.GetConfig();
        }

        return config;
    }

    /// <summary>The optimizer's state tensors by name, for saving.</summary>
    public IEnumerable<(string Name, Tensor Value)> StateTensors()
    {
        foreach (var (w, (first, second)) in state)
        {
            if (first is not null)
            {
                yield return ($"{w.Name}/{FirstSlotName}", first);
            }

            if (second is not null)
            {
                yield return ($"{w.Name}/{SecondSlotName}", second);
            }
        }
    }

    /// <summary>Restores state saved by <see cref="StateTensors"/> for the given weights.</summary>
    public void LoadState(IReadOnlyList<Weight> weights, IReadOnlyDictionary<string, Tensor> saved, long iterations)
    {
        Iterations = iterations;
        foreach (var w in weights)
        {
            var (first, second) = State(w);
            if (first is not null && saved.TryGetValue($"{w.Name}/{FirstSlotName}", out var f))
            {
                first.CopyFrom(f);
            }

            if (second is not null && saved.TryGetValue($"{w.Name}/{SecondSlotName}", out var s))
            {
                second.CopyFrom(s);
            }
        }
    }

    /// <summary>
    /// Checks saved state before <see cref="LoadState"/>: every entry must be a slot this optimizer keeps, for one of
    /// <paramref name="weights"/>, with that weight's shape, as float32 (loading would otherwise broadcast or drop it).
    /// </summary>
    /// <param name="weights">Every weight of the model, frozen ones included.</param>
    /// <param name="saved">The saved state by name.</param>
    /// <param name="source">Names the saved state in errors.</param>
    internal void CheckState(IReadOnlyList<Weight> weights, IReadOnlyDictionary<string, Tensor> saved, string source)
    {
        var (hasFirst, hasSecond) = Slots;
        var byName = weights.ToDictionary(w => w.Name, StringComparer.Ordinal);
        foreach (var (name, value) in saved)
        {
            int slash = name.LastIndexOf('/');
            string slot = name[(slash + 1)..];
            if (slash <= 0 || !byName.TryGetValue(name[..slash], out var weight) ||
                !((hasFirst && slot == FirstSlotName) || (hasSecond && slot == SecondSlotName)))
            {
                throw new InvalidDataException($"'{source}' has optimizer state '{name}' that this {Name} optimizer does not use for any weight of the model.");
            }

            if (!Shapes.SameShape(value.ShapeRef, weight.Value.ShapeRef) || value.DType != weight.Value.DType)
            {
                throw new InvalidDataException(
                    $"'{source}': optimizer state '{name}' is saved as {value.DType.Name()} {Shapes.Format(value.ShapeRef)} but weight '{weight.Name}' is {weight.Value.DType.Name()} {Shapes.Format(weight.Value.ShapeRef)}.");
            }
        }
    }

    /// <summary>
    /// Zeroes this optimizer's state (momentum, moments) where <paramref name="weight"/>'s pruning mask is 0, so
    /// accumulated momentum cannot move a pruned value once its mask is lifted or changed.
    /// </summary>
    internal void MaskState(Weight weight)
    {
        if (weight.PruningMask is not { } mask || !state.TryGetValue(weight, out var s))
        {
            return;
        }

        foreach (var slot in new[] { s.First, s.Second })
        {
            if (slot is not null)
            {
                slot.Backend.Binary(default(MulOp), slot.View, mask.View, slot.Buffer, slot.ShapeRef);
            }
        }
    }

    /// <summary>Frees the state buffers.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the state buffers; a subclass that keeps tensors of its own frees them too.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        foreach (var (first, second) in state.Values)
        {
            first?.Dispose();
            second?.Dispose();
        }

        state.Clear();
    }

    internal static Optimizer FromConfig(IReadOnlyDictionary<string, object?> c)
    {
        float F(string k, float d) => c.TryGetValue(k, out var v) && v is not null ? Convert.ToSingle(v) : d;
        bool B(string k) => c.TryGetValue(k, out var v) && v is not null && Convert.ToBoolean(v);
        var schedule = c.TryGetValue("schedule", out var s) && s is IReadOnlyDictionary<string, object?> sc ? LearningRateSchedule.FromConfig(sc) : null;
        float lr = F("learning_rate", 1e-3f);
        Optimizer optimizer = (string)c["name"]! switch
        {
            "sgd" => schedule is null ? new Sgd(lr, F("momentum", 0), B("nesterov"), F("weight_decay", 0)) : new Sgd(schedule, F("momentum", 0), B("nesterov"), F("weight_decay", 0)),
            "adam" => schedule is null ? new Adam(lr, F("beta_1", 0.9f), F("beta_2", 0.999f), F("epsilon", 1e-7f), F("weight_decay", 0)) : new Adam(schedule, F("beta_1", 0.9f), F("beta_2", 0.999f), F("epsilon", 1e-7f), F("weight_decay", 0)),
            "adamw" => schedule is null ? new AdamW(lr, F("weight_decay", 0.004f), F("beta_1", 0.9f), F("beta_2", 0.999f), F("epsilon", 1e-7f)) : new AdamW(schedule, F("weight_decay", 0.004f), F("beta_1", 0.9f), F("beta_2", 0.999f), F("epsilon", 1e-7f)),
            "rmsprop" => schedule is null ? new RmsProp(lr, F("rho", 0.9f), F("momentum", 0), F("epsilon", 1e-7f)) : new RmsProp(schedule, F("rho", 0.9f), F("momentum", 0), F("epsilon", 1e-7f)),
            var name => throw new InvalidDataException($"Unknown optimizer '{name}' in a saved model."),
        };
        optimizer.ClipNorm = c.TryGetValue("clipnorm", out var cn) && cn is not null ? Convert.ToSingle(cn) : null;
        optimizer.GlobalClipNorm = c.TryGetValue("global_clipnorm", out var gn) && gn is not null ? Convert.ToSingle(gn) : null;
        return optimizer;
    }

    /// <summary>Name of the first state slot (e.g. <c>m</c> or <c>momentum</c>).</summary>
    protected virtual string FirstSlotName => "m";

    /// <summary>Name of the second state slot (e.g. <c>v</c>).</summary>
    protected virtual string SecondSlotName => "v";

    /// <summary>Whether this optimizer keeps a first and a second state buffer per weight.</summary>
    protected abstract (bool First, bool Second) Slots { get; }

    /// <summary>The fused update for this step.</summary>
    protected abstract OptimizerUpdate Update(float learningRate, long step);

    /// <summary>Moves every state buffer to <paramref name="device"/>.</summary>
    internal void MoveState(Device device)
    {
        static Tensor? Move(Tensor? t, Device device)
        {
            if (t is null || t.Device == device)
            {
                return t;
            }

            Tensor moved;
            using (Tensor.NoGrad())
            {
                moved = t.To(device).DetachFromScope();
            }

            t.Dispose();
            return moved;
        }

        foreach (var w in state.Keys.ToList())
        {
            var (first, second) = state[w];
            state[w] = (Move(first, device), Move(second, device));
        }
    }

    private (Tensor? First, Tensor? Second) State(Weight w)
    {
        if (!state.TryGetValue(w, out var s))
        {
            var (first, second) = Slots;
            s = (first ? Tensor.ZerosLike(w.Value).DetachFromScope() : null, second ? Tensor.ZerosLike(w.Value).DetachFromScope() : null);
            state[w] = s;
        }

        return s;
    }
}
