// What one DQN iteration (a stretch of epsilon-greedy acting with the training it triggers) reports:
// the finished episodes, the mean Huber loss of its gradient steps and the exploration rate reached.
namespace Lepton.Rl;

/// <summary>The summary of one stretch of acting and learning.</summary>
/// <param name="Iteration">1 for the first iteration.</param>
/// <param name="EnvironmentSteps">Environment steps taken so far, over all environments.</param>
/// <param name="Episodes">The episodes that ended during the stretch.</param>
/// <param name="Loss">The mean loss of the gradient steps taken (NaN when none were).</param>
/// <param name="Epsilon">The exploration rate at the end of the stretch.</param>
/// <example><code>var it = agent.Iterate(envs, 256); Console.WriteLine($"{it.MeanReturn} {it.Epsilon}");</code></example>
public sealed record DqnIteration(int Iteration, long EnvironmentSteps, IReadOnlyList<EpisodeStatistics> Episodes, double Loss, double Epsilon)
{
    /// <summary>The mean return of the episodes that ended (NaN when none did).</summary>
    public double MeanReturn => Episodes.Count == 0 ? double.NaN : Episodes.Average(e => e.Return);
}
