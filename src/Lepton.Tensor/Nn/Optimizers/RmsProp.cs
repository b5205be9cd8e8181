// RMSprop: divide the gradient by a running root-mean-square, with optional momentum.
using Lepton.Backends;

namespace Lepton.Nn.Optimizers;

/// <summary>RMSprop.</summary>
/// <example><code>var opt = new RmsProp(1e-3f, rho: 0.9f);</code></example>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates the optimizer with a constant learning rate.</summary>
    public RmsProp(float learningRate = 1e-3f, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f)
        : base(learningRate, null)
    {
        (Rho, Momentum, Epsilon) = (rho, momentum, epsilon);
    }

    /// <summary>Creates the optimizer with a learning-rate schedule.</summary>
    public RmsProp(LearningRateSchedule schedule, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f)
        : base(0f, schedule)
    {
        (Rho, Momentum, Epsilon) = (rho, momentum, epsilon);
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
}
