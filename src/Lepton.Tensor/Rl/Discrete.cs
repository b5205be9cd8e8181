// A finite set of actions {0, 1, ..., n-1}, Gymnasium's Discrete(n).
// Environments check actions against it and name the space in their errors.
namespace Lepton.Rl;

/// <summary>The integers 0 to <see cref="N"/> - 1.</summary>
/// <example><code>var actions = new Discrete(2); bool ok = actions.Contains(1);</code></example>
public sealed class Discrete : Space
{
    /// <summary>Creates the space of <paramref name="n"/> actions.</summary>
    /// <param name="n">The number of actions, at least 1.</param>
    public Discrete(int n)
    {
        if (n < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"Discrete: the number of actions must be at least 1, got {n}.");
        }

        N = n;
    }

    /// <summary>The number of actions.</summary>
    public int N { get; }

    /// <inheritdoc />
    public override int[] Shape => [];

    /// <summary>Whether <paramref name="action"/> is one of the actions.</summary>
    /// <param name="action">The action to check.</param>
    /// <example><code>bool ok = new Discrete(3).Contains(2); // true</code></example>
    public bool Contains(int action) => action >= 0 && action < N;

    /// <inheritdoc />
    public override string ToString() => $"Discrete({N})";
}
