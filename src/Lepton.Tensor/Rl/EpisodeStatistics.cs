// The summary of one finished episode: which environment of a vector ran it, its undiscounted
// return and its length, as Gymnasium's RecordEpisodeStatistics reports them.
namespace Lepton.Rl;

/// <summary>A finished episode.</summary>
/// <param name="Environment">The index of the environment in its vector.</param>
/// <param name="Return">The sum of the episode's rewards.</param>
/// <param name="Length">The number of steps.</param>
/// <example><code>double mean = episodes.Average(e => e.Return);</code></example>
public readonly record struct EpisodeStatistics(int Environment, double Return, int Length);
