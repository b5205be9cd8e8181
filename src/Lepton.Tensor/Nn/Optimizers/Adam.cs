// Adam (with optional L2 weight decay added to the gradient) and AdamW (decoupled weight decay).
using Lepton.Backends;

namespace Lepton.Nn.Optimizers;

/// <summary>Adam: adaptive moments with bias correction.</summary>
/// <example><code>model.Compile(new Adam(1e-3f), "sparse_categorical_crossentropy", "accuracy");</code></example>
public class Adam : Optimizer
{
    /// <summary>Creates the optimizer with a constant learning rate.</summary>
    /// <param name="learningRate">The step size, finite and at least 0.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, finite and above 0.</param>
    /// <param name="weightDecay">L2 weight decay, finite and at least 0.</param>
    public Adam(float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, float weightDecay = 0f)
        : base(learningRate, null)
    {
        (Beta1, Beta2, Epsilon, WeightDecay) = (beta1, beta2, epsilon, weightDecay);
        Validate();
    }

    /// <summary>Creates the optimizer with a learning-rate schedule.</summary>
    /// <param name="schedule">The learning rate as a function of the step.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, finite and above 0.</param>
    /// <param name="weightDecay">L2 weight decay, finite and at least 0.</param>
    public Adam(LearningRateSchedule schedule, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, float weightDecay = 0f)
        : base(0f, schedule)
    {
        (Beta1, Beta2, Epsilon, WeightDecay) = (beta1, beta2, epsilon, weightDecay);
        Validate();
    }

    /// <summary>Decay of the first moment.</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>Weight decay (L2 for Adam, decoupled for AdamW).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    public override string Name => "adam";

    /// <summary>True when weight decay is decoupled from the gradient (AdamW).</summary>
    protected virtual bool Decoupled => false;

    /// <inheritdoc />
    protected override (bool First, bool Second) Slots => (true, true);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var c = base.GetConfig();
        c["beta_1"] = Beta1;
        c["beta_2"] = Beta2;
        c["epsilon"] = Epsilon;
        c["weight_decay"] = WeightDecay;
        return c;
    }

    /// <inheritdoc />
    protected override OptimizerUpdate Update(float learningRate, long step) => new(
        OptimizerRule.Adam, learningRate, WeightDecay: WeightDecay, DecoupledWeightDecay: Decoupled,
        Beta1: Beta1, Beta2: Beta2, Epsilon: Epsilon, Step: (int)Math.Min(step, int.MaxValue));

    private void Validate()
    {
        string owner = GetType().Name;
        Hyperparameters.Fraction(owner, Beta1, "beta1");
        Hyperparameters.Fraction(owner, Beta2, "beta2");
        Hyperparameters.Positive(owner, Epsilon, "epsilon");
        Hyperparameters.NonNegative(owner, WeightDecay, "weightDecay");
    }
}

/// <summary>AdamW: Adam with decoupled weight decay (p -= lr * wd * p each step).</summary>
/// <example><code>var opt = new AdamW(1e-3f, weightDecay: 0.01f);</code></example>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimizer with a constant learning rate.</summary>
    /// <param name="learningRate">The step size, finite and at least 0.</param>
    /// <param name="weightDecay">Decoupled weight decay, finite and at least 0.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, finite and above 0.</param>
    public AdamW(float learningRate = 1e-3f, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
        : base(learningRate, beta1, beta2, epsilon, weightDecay)
    {
    }

    /// <summary>Creates the optimizer with a learning-rate schedule.</summary>
    /// <param name="schedule">The learning rate as a function of the step.</param>
    /// <param name="weightDecay">Decoupled weight decay, finite and at least 0.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, finite and above 0.</param>
    public AdamW(LearningRateSchedule schedule, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
        : base(schedule, beta1, beta2, epsilon, weightDecay)
    {
    }

    /// <inheritdoc />
    public override string Name => "adamw";

    /// <inheritdoc />
    protected override bool Decoupled => true;
}
