// An optimizer written with tensor ops instead of a fused backend update. Its learning rate and
// step count live in one-element tensors that every step (eager or replayed) refills, so an update
// written from them follows a schedule inside a captured step, as a Keras optimizer reads its
// learning-rate variable inside a traced train step.
using Lepton.Backends;

namespace Lepton.Nn.Optimizers;

/// <summary>The base of an optimizer whose update is written from tensor ops in <see cref="UpdateWeight"/>.</summary>
/// <example><code>
/// sealed class SignSgd(float learningRate) : CustomOptimizer(learningRate)
/// {
///     public override string Name => "sign_sgd";
///     protected override void UpdateWeight(Weight weight, Tensor gradient) =>
///         weight.Value.Add_(gradient.Sign() * LearningRateTensor, -1f);
/// }
/// </code></example>
public abstract class CustomOptimizer : Optimizer
{
    private readonly Dictionary<(Weight Weight, string Name), Tensor> slots = [];
    private Tensor? rate;
    private Tensor? iterations;
    private Action<Backends.IBackend, Backends.DeviceBuffer?[]>? refill;

    /// <summary>Creates the optimizer with a constant learning rate.</summary>
    /// <param name="learningRate">The constant rate, finite and at least 0.</param>
    protected CustomOptimizer(float learningRate)
        : base(learningRate, null)
    {
    }

    /// <summary>Creates the optimizer with a learning-rate schedule.</summary>
    /// <param name="schedule">The rate as a function of the step.</param>
    protected CustomOptimizer(LearningRateSchedule schedule)
        : base(0f, schedule)
    {
    }

    /// <summary>The current step's learning rate: a one-element float32 tensor on the weights' device.</summary>
    protected Tensor LearningRateTensor => rate ?? throw new InvalidOperationException($"{Name}: the learning-rate tensor exists only while a step updates weights.");

    /// <summary>The current step's number (1 for the first step), as a one-element float32 tensor on the weights' device.</summary>
    protected Tensor IterationsTensor => iterations ?? throw new InvalidOperationException($"{Name}: the iterations tensor exists only while a step updates weights.");

    /// <inheritdoc />
    protected sealed override (bool First, bool Second) Slots => (false, false);

    /// <summary>Updates <paramref name="weight"/>'s value in place (with in-place ops such as <see cref="Tensor.Add_"/>).</summary>
    /// <remarks>Runs without autograd, in a scope that frees its intermediates. Read the learning rate from
    /// <see cref="LearningRateTensor"/>, not <see cref="Optimizer.LearningRate"/>: a captured step replays the update with
    /// the tensors' values of each step, while a float read here would stay the value of the step it was captured in.</remarks>
    /// <param name="weight">The weight to update.</param>
    /// <param name="gradient">Its gradient, already clipped when the optimizer clips.</param>
    protected abstract void UpdateWeight(Weight weight, Tensor gradient);

    /// <summary>A state tensor of the weight's shape, zero at first and kept from step to step (momentum, say).</summary>
    /// <param name="weight">The weight the state belongs to.</param>
    /// <param name="name">The state's name, unique per weight.</param>
    protected Tensor Slot(Weight weight, string name)
    {
        if (!slots.TryGetValue((weight, name), out var slot) || slot.Device != weight.Value.Device)
        {
            slot?.Dispose();
            using (Tensor.NoGrad())
            {
                slot = Tensor.ZerosLike(weight.Value).DetachFromScope();
            }

            slots[(weight, name)] = slot;
        }

        return slot;
    }

    /// <inheritdoc />
    protected sealed override OptimizerUpdate Update(float learningRate, long step) =>
        throw new NotSupportedException($"{Name} updates weights with tensor ops; it has no fused update.");

    private protected override void BeginStep(IReadOnlyList<Weight> weights)
    {
        base.BeginStep(weights);
        if (weights.Count == 0)
        {
            return;
        }

        var device = weights[0].Value.Device;
        if (rate is null || rate.Device != device)
        {
            rate?.Dispose();
            iterations?.Dispose();
            rate = Tensor.Zeros([1], device: device).DetachFromScope();
            iterations = Tensor.Zeros([1], device: device).DetachFromScope();
        }

        refill ??= (b, s) =>
        {
            b.Fill(s[0]!, 0, 1, StepRate);
            b.Fill(s[1]!, 0, 1, Iterations);
        };
        Capture.StepCapture.Dynamic("optimizer scalars", rate.Backend, [rate.Buffer, iterations!.Buffer], 0b11, refill);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        foreach (var slot in slots.Values)
        {
            slot.Dispose();
        }

        slots.Clear();
        rate?.Dispose();
        iterations?.Dispose();
        (rate, iterations) = (null, null);
        base.Dispose(disposing);
    }

    private protected override void ApplyUpdate(Weight weight, Tensor gradient, Tensor? scale)
    {
        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        UpdateWeight(weight, scale is null ? gradient : gradient * scale);
    }
}
