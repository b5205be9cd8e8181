// TF-MOT's PolynomialDecay pruning schedule: sparsity rises from an initial to a final value along
// a polynomial of the progress between beginStep and endStep.
namespace Lepton.Nn;

/// <summary>
/// Sparsity that rises polynomially (TF-MOT's PolynomialDecay): with p = clamp((step - beginStep) / (endStep -
/// beginStep), 0, 1), sparsity = finalSparsity + (initialSparsity - finalSparsity) * (1 - p)^power.
/// </summary>
/// <example><code>var schedule = new PolynomialDecay(0.0, 0.8, beginStep: 0, endStep: 1000);</code></example>
public sealed class PolynomialDecay : PruningSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initialSparsity">The sparsity at <paramref name="beginStep"/>, in [0, 1).</param>
    /// <param name="finalSparsity">The sparsity from <paramref name="endStep"/> on, in [0, 1).</param>
    /// <param name="beginStep">The first step that prunes, at least 0.</param>
    /// <param name="endStep">The last step that prunes, after <paramref name="beginStep"/>.</param>
    /// <param name="power">The exponent of the decay (3 in TF-MOT; 1 is linear).</param>
    /// <param name="frequency">Prune every this many steps, above 0.</param>
    public PolynomialDecay(double initialSparsity, double finalSparsity, long beginStep, long endStep, double power = 3, int frequency = 100)
        : base(beginStep, endStep, frequency, allowNoEnd: false)
    {
        InitialSparsity = CheckSparsity(nameof(PolynomialDecay), initialSparsity, nameof(initialSparsity));
        FinalSparsity = CheckSparsity(nameof(PolynomialDecay), finalSparsity, nameof(finalSparsity));
        if (endStep == beginStep)
        {
            throw new ArgumentOutOfRangeException(nameof(endStep), endStep, $"{nameof(PolynomialDecay)}: endStep must be after beginStep ({beginStep}) for the sparsity to change between them.");
        }

        if (!double.IsFinite(power))
        {
            throw new ArgumentOutOfRangeException(nameof(power), power, $"{nameof(PolynomialDecay)}: power must be finite.");
        }

        Power = power;
    }

    /// <summary>The sparsity at the begin step.</summary>
    public double InitialSparsity { get; }

    /// <summary>The sparsity from the end step on.</summary>
    public double FinalSparsity { get; }

    /// <summary>The exponent of the decay.</summary>
    public double Power { get; }

    /// <inheritdoc />
    public override double Sparsity(long step)
    {
        double p = Math.Clamp((double)(step - BeginStep) / (EndStep - BeginStep), 0, 1);
        return FinalSparsity + ((InitialSparsity - FinalSparsity) * Math.Pow(1 - p, Power));
    }
}
