// Range checks of optimizer and schedule settings (learning rate, betas, epsilon, momentum, decay, ...):
// each error is an ArgumentOutOfRangeException naming the class, the parameter and the value.
using System.Globalization;

namespace Lepton.Nn.Optimizers;

/// <summary>Checks of hyperparameters; each returns the value when it is valid.</summary>
internal static class Hyperparameters
{
    /// <summary>A learning rate: finite and at least 0.</summary>
    public static float LearningRate(string owner, float value, string name = "learningRate") =>
        NonNegative(owner, value, name);

    /// <summary>A finite value of at least 0 (weight decay, a decay rate, a learning rate).</summary>
    public static float NonNegative(string owner, float value, string name) =>
        float.IsFinite(value) && value >= 0f ? value : throw Error(owner, name, value, "finite and at least 0");

    /// <summary>A finite value above 0 (epsilon, a division factor, a clipping norm).</summary>
    public static float Positive(string owner, float value, string name) =>
        float.IsFinite(value) && value > 0f ? value : throw Error(owner, name, value, "finite and above 0");

    /// <summary>A value in [0, 1) (betas, rho).</summary>
    public static float Fraction(string owner, float value, string name) =>
        value is >= 0f and < 1f ? value : throw Error(owner, name, value, "in [0, 1)");

    /// <summary>A value in [0, 1] (momentum, alpha, a warm-up fraction).</summary>
    public static float UnitInterval(string owner, float value, string name) =>
        value is >= 0f and <= 1f ? value : throw Error(owner, name, value, "in [0, 1]");

    /// <summary>A count of steps of at least <paramref name="minimum"/>.</summary>
    public static long Steps(string owner, long value, string name, long minimum = 1) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, $"{owner}: {name} must be at least {minimum}, got {value}.");

    private static ArgumentOutOfRangeException Error(string owner, string name, float value, string rule) =>
        new(name, value, $"{owner}: {name} must be {rule}, got {value.ToString(CultureInfo.InvariantCulture)}.");
}
