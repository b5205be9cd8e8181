// What one PPO iteration (a rollout and the updates on it) reports: the episodes that finished in the
// rollout and the losses, entropy and clipping statistics of its updates.
namespace Lepton.Rl;

/// <summary>The summary of one rollout and update.</summary>
/// <param name="Iteration">1 for the first iteration.</param>
/// <param name="EnvironmentSteps">Environment steps taken so far, over all environments.</param>
/// <param name="Episodes">The episodes that ended during the rollout.</param>
/// <param name="PolicyLoss">The mean clipped surrogate loss over the minibatches.</param>
/// <param name="ValueLoss">The mean squared error of the value network.</param>
/// <param name="Entropy">The mean policy entropy.</param>
/// <param name="ClipFraction">The fraction of samples whose ratio fell outside the clip range.</param>
/// <example><code>var it = agent.Iterate(envs); Console.WriteLine(it.MeanReturn);</code></example>
public sealed record PpoIteration(
    int Iteration, long EnvironmentSteps, IReadOnlyList<EpisodeStatistics> Episodes, double PolicyLoss, double ValueLoss, double Entropy, double ClipFraction)
{
    /// <summary>The mean return of the episodes that ended in this rollout (NaN when none did).</summary>
    public double MeanReturn => Episodes.Count == 0 ? double.NaN : Episodes.Average(e => e.Return);
}
