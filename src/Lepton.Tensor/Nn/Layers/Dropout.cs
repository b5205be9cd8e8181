// Inverted dropout: active only while training; seeded for reproducible runs.
namespace Lepton.Nn.Layers;

/// <summary>Randomly zeroes a fraction of the inputs during training.</summary>
/// <example><code>var drop = new Dropout(0.5f, seed: 1);</code></example>
public sealed class Dropout : Layer
{
    private readonly Generator? generator;

    /// <summary>Creates the layer.</summary>
    public Dropout(float rate, ulong? seed = null, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (rate < 0 || rate >= 1 || float.IsNaN(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"{Name} (Dropout): rate must be in [0, 1).");
        }

        Rate = rate;
        Seed = seed;
        generator = seed is null ? null : new Generator(seed.Value);
        BuildIfDeclared();
    }

    /// <summary>The fraction dropped.</summary>
    public float Rate { get; }

    /// <summary>The seed, if fixed.</summary>
    public ulong? Seed { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["rate"] = Rate;
        config["seed"] = Seed;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => input.Dropout(Rate, training, generator ?? Generator);
}
