// Bookkeeping every environment shares: the step count for the time limit, whether Reset was called,
// and the checks that turn a Step after the end of an episode or a bad action into a clear error.
namespace Lepton.Rl;

/// <summary>Episode bookkeeping and input checks for an environment.</summary>
internal sealed class EpisodeState(string id, int maxEpisodeSteps)
{
    private bool started;
    private bool ended;
    private string endReason = "";

    /// <summary>Steps taken in the current episode.</summary>
    public int Steps { get; private set; }

    /// <summary>The step at which episodes are truncated.</summary>
    public int MaxEpisodeSteps { get; } = maxEpisodeSteps > 0
        ? maxEpisodeSteps
        : throw new ArgumentOutOfRangeException(nameof(maxEpisodeSteps), maxEpisodeSteps, $"{id}: maxEpisodeSteps must be at least 1, got {maxEpisodeSteps}.");

    /// <summary>The random numbers for resets: reseeded by a seed, otherwise continued.</summary>
    public Random Random { get; private set; } = new(System.Random.Shared.Next());

    public void Reset(int? seed)
    {
        if (seed is int s)
        {
            Random = new Random(s);
        }

        started = true;
        ended = false;
        Steps = 0;
    }

    /// <summary>Checks that a step may be taken with <paramref name="action"/> of a space of <paramref name="actions"/> actions.</summary>
    public void BeginStep(int action, Discrete actions)
    {
        if (!started)
        {
            throw new InvalidOperationException($"{id}: Step was called before Reset; call Reset first.");
        }

        if (ended)
        {
            throw new InvalidOperationException($"{id}: Step was called after the episode {endReason} at step {Steps}; call Reset to start a new episode.");
        }

        if (!actions.Contains(action))
        {
            throw new ArgumentOutOfRangeException(nameof(action), action, $"{id}: action {action} is outside the action space {actions}.");
        }
    }

    /// <summary>Counts the step and returns whether the time limit truncates the episode.</summary>
    public bool EndStep(bool terminated)
    {
        Steps++;
        bool truncated = Steps >= MaxEpisodeSteps; // as Gymnasium's TimeLimit: both flags may be set
        if (terminated || truncated)
        {
            ended = true;
            endReason = terminated ? "terminated" : "was truncated";
        }

        return truncated;
    }

    /// <summary>Uniform in [low, high).</summary>
    public double Uniform(double low, double high) => low + ((high - low) * Random.NextDouble());
}
