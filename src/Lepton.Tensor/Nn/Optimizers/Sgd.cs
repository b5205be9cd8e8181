// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay.
using Lepton.Backends;

namespace Lepton.Nn.Optimizers;

/// <summary>SGD: p -= lr * g, with momentum buffers when momentum &gt; 0.</summary>
/// <example><code>var sgd = new Sgd(0.1f, momentum: 0.9f, nesterov: true, weightDecay: 5e-4f);</code></example>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer with a constant learning rate.</summary>
    /// <param name="learningRate">The step size, finite and at least 0.</param>
    /// <param name="momentum">Momentum factor in [0, 1].</param>
    /// <param name="nesterov">Whether the Nesterov form is used (needs momentum above 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, finite and at least 0.</param>
    public Sgd(float learningRate = 0.01f, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(learningRate, null)
    {
        (Momentum, Nesterov, WeightDecay) = Check(momentum, nesterov, weightDecay);
    }

    /// <summary>Creates the optimizer with a learning-rate schedule.</summary>
    /// <param name="schedule">The learning rate as a function of the step.</param>
    /// <param name="momentum">Momentum factor in [0, 1].</param>
    /// <param name="nesterov">Whether the Nesterov form is used (needs momentum above 0).</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, finite and at least 0.</param>
    public Sgd(LearningRateSchedule schedule, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(0f, schedule)
    {
        (Momentum, Nesterov, WeightDecay) = Check(momentum, nesterov, weightDecay);
    }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 penalty added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    public override string Name => "sgd";

    /// <inheritdoc />
    protected override (bool First, bool Second) Slots => (Momentum > 0, false);

    /// <inheritdoc />
    protected override string FirstSlotName => "momentum";

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["momentum"] = Momentum;
        c["nesterov"] = Nesterov;
        c["weight_decay"] = WeightDecay;
        return c;
    }

    /// <inheritdoc />
    protected override OptimizerUpdate Update(float learningRate, long step) =>
        new(OptimizerRule.Sgd, learningRate, Momentum, Nesterov, WeightDecay);

    private static (float, bool, float) Check(float momentum, bool nesterov, float weightDecay)
    {
        Hyperparameters.UnitInterval(nameof(Sgd), momentum, nameof(momentum));
        Hyperparameters.NonNegative(nameof(Sgd), weightDecay, nameof(weightDecay));
        if (nesterov && momentum == 0)
        {
            throw new ArgumentException("Sgd: nesterov needs momentum above 0, got momentum 0.", nameof(nesterov));
        }

        return (momentum, nesterov, weightDecay);
    }
}
