// RMSprop: divide the gradient by a running root-mean-square, with optional momentum.
using Lepton.Backends;

namespace Lepton.Nn.Optimizers;

/// <summary>RMSprop.</summary>
/// <example><code>var opt = new RmsProp(1e-3f, rho: 0.9f);</code></example>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer with a constant learning rate.</summary>
    /// <param name="learningRate">The step size, finite and at least 0.</param>
    /// <param name="rho">Decay of the mean square, in [0, 1).</param>
    /// <param name="momentum">Momentum factor in [0, 1].</param>
    /// <param name="epsilon">Added to the denominator, finite and above 0.</param>
    public RmsProp(float learningRate = 1e-3f, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f)
        : base(learningRate, null)
    {
        (Rho, Momentum, Epsilon) = Check(rho, momentum, epsilon);
    }

    /// <summary>Creates the optimizer with a learning-rate schedule.</summary>
    /// <param name="schedule">The learning rate as a function of the step.</param>
    /// <param name="rho">Decay of the mean square, in [0, 1).</param>
    /// <param name="momentum">Momentum factor in [0, 1].</param>
    /// <param name="epsilon">Added to the denominator, finite and above 0.</param>
    public RmsProp(LearningRateSchedule schedule, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f)
        : base(0f, schedule)
    {
        (Rho, Momentum, Epsilon) = Check(rho, momentum, epsilon);
    }

    /// <summary>Decay of the mean square.</summary>
    public float Rho { get; }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Added to the denominator.</summary>
    public float Epsilon { get; }

    /// <inheritdoc />
    public override string Name => "rmsprop";

    /// <inheritdoc />
    protected override (bool First, bool Second) Slots => (Momentum > 0, true);

    /// <inheritdoc />
    protected override string FirstSlotName => "momentum";

    /// <inheritdoc />
    protected override string SecondSlotName => "rms";

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["rho"] = Rho;
        c["momentum"] = Momentum;
        c["epsilon"] = Epsilon;
        return c;
    }

    /// <inheritdoc />
    protected override OptimizerUpdate Update(float learningRate, long step) =>
        new(OptimizerRule.RmsProp, learningRate, Momentum, Beta2: Rho, Epsilon: Epsilon);

    private static (float, float, float) Check(float rho, float momentum, float epsilon) => (
        Hyperparameters.Fraction(nameof(RmsProp), rho, nameof(rho)),
        Hyperparameters.UnitInterval(nameof(RmsProp), momentum, nameof(momentum)),
        Hyperparameters.Positive(nameof(RmsProp), epsilon, nameof(epsilon)));
}
