// Learning-rate schedules evaluated per optimizer step (Keras's convention): step decay,
// exponential decay, cosine decay and one-cycle.
namespace Lepton.Nn.Optimizers;

/// <summary>A learning rate as a function of the optimizer step (0-based).</summary>
public abstract class LearningRateSchedule
{
    /// <summary>The rate at <paramref name="step"/>.</summary>
    public abstract float Rate(long step);

    /// <summary>Constructor arguments for saving.</summary>
    public abstract Dictionary<string, object?> GetConfig();

    internal static LearningRateSchedule FromConfig(IReadOnlyDictionary<string, object?> c)
    {
        float F(string k) => Convert.ToSingle(c[k]);
        long L(string k) => Convert.ToInt64(c[k]);
        return (string)c["name"]! switch
        {
            "step_decay" => new StepDecay(F("initial_learning_rate"), L("step_size"), F("gamma")),
            "exponential_decay" => new ExponentialDecay(F("initial_learning_rate"), L("decay_steps"), F("decay_rate"), Convert.ToBoolean(c["staircase"])),
            "cosine_decay" => new CosineDecay(F("initial_learning_rate"), L("decay_steps"), F("alpha"), L("warmup_steps")),
            "one_cycle" => new OneCycle(F("max_learning_rate"), L("total_steps"), F("pct_start"), F("div_factor"), F("final_div_factor")),
            var name => throw new InvalidDataException($"Unknown learning-rate schedule '{name}' in a saved model."),
        };
    }
}

/// <summary>Multiplies the rate by <c>gamma</c> every <c>stepSize</c> steps.</summary>
/// <example><code>var lr = new StepDecay(0.1f, stepSize: 1000, gamma: 0.5f);</code></example>
/// <param name="initialLearningRate">The rate of the first steps, finite and at least 0.</param>
/// <param name="stepSize">Steps between decays, at least 1.</param>
/// <param name="gamma">The factor of each decay, finite and at least 0.</param>
public sealed class StepDecay(float initialLearningRate, long stepSize, float gamma = 0.1f) : LearningRateSchedule
{
    private readonly float initial = Hyperparameters.LearningRate(nameof(StepDecay), initialLearningRate, nameof(initialLearningRate));
    private readonly long steps = Hyperparameters.Steps(nameof(StepDecay), stepSize, nameof(stepSize));
    private readonly float factor = Hyperparameters.NonNegative(nameof(StepDecay), gamma, nameof(gamma));

    /// <inheritdoc />
    public override float Rate(long step) => initial * MathF.Pow(factor, step / steps);

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() =>
        new() { ["name"] = "step_decay", ["initial_learning_rate"] = initial, ["step_size"] = steps, ["gamma"] = factor };
}

/// <summary>initial * decayRate^(step / decaySteps), optionally in whole steps.</summary>
/// <example><code>var lr = new ExponentialDecay(1e-3f, decaySteps: 1000, decayRate: 0.9f);</code></example>
/// <param name="initialLearningRate">The rate at step 0, finite and at least 0.</param>
/// <param name="decaySteps">Steps over which the rate is multiplied by <paramref name="decayRate"/>, at least 1.</param>
/// <param name="decayRate">The factor per <paramref name="decaySteps"/>, finite and at least 0.</param>
/// <param name="staircase">Decay in whole multiples of <paramref name="decaySteps"/>.</param>
public sealed class ExponentialDecay(float initialLearningRate, long decaySteps, float decayRate, bool staircase = false) : LearningRateSchedule
{
    private readonly float initial = Hyperparameters.LearningRate(nameof(ExponentialDecay), initialLearningRate, nameof(initialLearningRate));
    private readonly long steps = Hyperparameters.Steps(nameof(ExponentialDecay), decaySteps, nameof(decaySteps));
    private readonly float rate = Hyperparameters.NonNegative(nameof(ExponentialDecay), decayRate, nameof(decayRate));
    private readonly bool whole = staircase;

    /// <inheritdoc />
    public override float Rate(long step)
    {
        double p = (double)step / steps;
        return (float)(initial * Math.Pow(rate, whole ? Math.Floor(p) : p));
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = "exponential_decay",
        ["initial_learning_rate"] = initial,
        ["decay_steps"] = steps,
        ["decay_rate"] = rate,
        ["staircase"] = whole,
    };
}

/// <summary>Linear warm-up, then a half cosine from the initial rate down to alpha * initial.</summary>
/// <example><code>var lr = new CosineDecay(1e-3f, decaySteps: 10 * 782);</code></example>
/// <param name="initialLearningRate">The rate after warm-up, finite and at least 0.</param>
/// <param name="decaySteps">The step at which the decay ends (warm-up included), at least 1.</param>
/// <param name="alpha">The final rate as a fraction of the initial, in [0, 1].</param>
/// <param name="warmupSteps">Steps of linear warm-up, at least 0.</param>
public sealed class CosineDecay(float initialLearningRate, long decaySteps, float alpha = 0f, long warmupSteps = 0) : LearningRateSchedule
{
    private readonly float initial = Hyperparameters.LearningRate(nameof(CosineDecay), initialLearningRate, nameof(initialLearningRate));
    private readonly long steps = Hyperparameters.Steps(nameof(CosineDecay), decaySteps, nameof(decaySteps));
    private readonly float floor = Hyperparameters.UnitInterval(nameof(CosineDecay), alpha, nameof(alpha));
    private readonly long warmup = Hyperparameters.Steps(nameof(CosineDecay), warmupSteps, nameof(warmupSteps), minimum: 0);

    /// <inheritdoc />
    public override float Rate(long step)
    {
        if (step < warmup)
        {
            return initial * (step + 1) / warmup;
        }

        double p = Math.Min(1.0, (double)(step - warmup) / Math.Max(steps - warmup, 1));
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * p));
        return (float)(initial * (((1 - floor) * cosine) + floor));
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = "cosine_decay",
        ["initial_learning_rate"] = initial,
        ["decay_steps"] = steps,
        ["alpha"] = floor,
        ["warmup_steps"] = warmup,
    };
}

/// <summary>The one-cycle policy (Smith): cosine warm-up from max/div to max over pctStart of the steps, then cosine annealing to max/(div*finalDiv).</summary>
/// <example><code>var lr = new OneCycle(maxLearningRate: 3e-3f, totalSteps: 3 * 938);</code></example>
/// <param name="maxLearningRate">The peak rate, finite and at least 0.</param>
/// <param name="totalSteps">Steps of the whole cycle, at least 1.</param>
/// <param name="pctStart">The fraction of the steps spent warming up, in [0, 1].</param>
/// <param name="divFactor">The initial rate is max / divFactor; finite and above 0.</param>
/// <param name="finalDivFactor">The final rate is initial / finalDivFactor; finite and above 0.</param>
public sealed class OneCycle(float maxLearningRate, long totalSteps, float pctStart = 0.3f, float divFactor = 25f, float finalDivFactor = 1e4f) : LearningRateSchedule
{
    private readonly float max = Hyperparameters.LearningRate(nameof(OneCycle), maxLearningRate, nameof(maxLearningRate));
    private readonly long total = Hyperparameters.Steps(nameof(OneCycle), totalSteps, nameof(totalSteps));
    private readonly float start = Hyperparameters.UnitInterval(nameof(OneCycle), pctStart, nameof(pctStart));
    private readonly float div = Hyperparameters.Positive(nameof(OneCycle), divFactor, nameof(divFactor));
    private readonly float finalDiv = Hyperparameters.Positive(nameof(OneCycle), finalDivFactor, nameof(finalDivFactor));

    /// <inheritdoc />
    public override float Rate(long step)
    {
        double initial = max / div, final = initial / finalDiv;
        double warm = Math.Max(1, (start * total) - 1);
        double s = Math.Min(step, total - 1);
        static double Anneal(double from, double to, double p) => to + ((from - to) * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(p, 0, 1))));
        return (float)(s <= warm
            ? Anneal(initial, max, s / warm)
            : Anneal(max, final, (s - warm) / Math.Max(1, total - 1 - warm)));
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = "one_cycle",
        ["max_learning_rate"] = max,
        ["total_steps"] = total,
        ["pct_start"] = start,
        ["div_factor"] = div,
        ["final_div_factor"] = finalDiv,
    };
}
