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
public sealed class StepDecay(float initialLearningRate, long stepSize, float gamma = 0.1f) : LearningRateSchedule
{
    /// <inheritdoc />
    public override float Rate(long step) => initialLearningRate * MathF.Pow(gamma, step / Math.Max(stepSize, 1));

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() =>
        new() { ["name"] = "step_decay", ["initial_learning_rate"] = initialLearningRate, ["step_size"] = stepSize, ["gamma"] = gamma };
}

/// <summary>initial * decayRate^(step / decaySteps), optionally in whole steps.</summary>
/// <example><code>var lr = new ExponentialDecay(1e-3f, decaySteps: 1000, decayRate: 0.9f);</code></example>
public sealed class ExponentialDecay(float initialLearningRate, long decaySteps, float decayRate, bool staircase = false) : LearningRateSchedule
{
    /// <inheritdoc />
    public override float Rate(long step)
    {
        double p = (double)step / Math.Max(decaySteps, 1);
        return (float)(initialLearningRate * Math.Pow(decayRate, staircase ? Math.Floor(p) : p));
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = "exponential_decay", ["initial_learning_rate"] = initialLearningRate, ["decay_steps"] = decaySteps,
        ["decay_rate"] = decayRate, ["staircase"] = staircase,
    };
}

/// <summary>Linear warm-up, then a half cosine from the initial rate down to alpha * initial.</summary>
/// <example><code>var lr = new CosineDecay(1e-3f, decaySteps: 10 * 782);</code></example>
public sealed class CosineDecay(float initialLearningRate, long decaySteps, float alpha = 0f, long warmupSteps = 0) : LearningRateSchedule
{
    /// <inheritdoc />
    public override float Rate(long step)
    {
        if (step < warmupSteps)
        {
            return initialLearningRate * (step + 1) / warmupSteps;
        }

        double p = Math.Min(1.0, (double)(step - warmupSteps) / Math.Max(decaySteps - warmupSteps, 1));
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * p));
        return (float)(initialLearningRate * (((1 - alpha) * cosine) + alpha));
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = "cosine_decay", ["initial_learning_rate"] = initialLearningRate, ["decay_steps"] = decaySteps,
        ["alpha"] = alpha, ["warmup_steps"] = warmupSteps,
    };
}

/// <summary>The one-cycle policy (Smith): cosine warm-up from max/div to max over pctStart of the steps, then cosine annealing to max/(div*finalDiv).</summary>
/// <example><code>var lr = new OneCycle(maxLearningRate: 3e-3f, totalSteps: 3 * 938);</code></example>
public sealed class OneCycle(float maxLearningRate, long totalSteps, float pctStart = 0.3f, float divFactor = 25f, float finalDivFactor = 1e4f) : LearningRateSchedule
{
    /// <inheritdoc />
    public override float Rate(long step)
    {
        double initial = maxLearningRate / divFactor, final = initial / finalDivFactor;
        double warm = Math.Max(1, (pctStart * totalSteps) - 1);
        double s = Math.Min(step, totalSteps - 1);
        static double Anneal(double from, double to, double p) => to + ((from - to) * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(p, 0, 1))));
        return (float)(s <= warm
            ? Anneal(initial, maxLearningRate, s / warm)
            : Anneal(maxLearningRate, final, (s - warm) / Math.Max(1, totalSteps - 1 - warm)));
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig() => new()
    {
        ["name"] = "one_cycle", ["max_learning_rate"] = maxLearningRate, ["total_steps"] = totalSteps, ["pct_start"] = pctStart,
        ["div_factor"] = divFactor, ["final_div_factor"] = finalDivFactor,
    };
}
