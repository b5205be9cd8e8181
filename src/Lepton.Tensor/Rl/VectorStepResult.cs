// What a step of N environments returns: observations, rewards and flags side by side, the final
// observation of each episode that just ended (before its auto-reset), and the finished episodes' returns.
namespace Lepton.Rl;

/// <summary>The outcome of one step of a <see cref="SyncVectorEnvironment{TAction}"/>.</summary>
/// <param name="Observations">[N * observation size], row-major; an environment whose episode ended holds its reset observation.</param>
/// <param name="Rewards">[N] rewards.</param>
/// <param name="Terminated">[N] terminal flags.</param>
/// <param name="Truncated">[N] time-limit flags.</param>
/// <param name="FinalObservations">[N]: the last observation of an episode that ended this step, otherwise null.</param>
/// <param name="CompletedEpisodes">Return and length of every episode that ended this step.</param>
/// <example><code>
/// var step = envs.Step(actions);
/// foreach (var episode in step.CompletedEpisodes) { Console.WriteLine(episode.Return); }
/// </code></example>
public sealed record VectorStepResult(
    float[] Observations,
    float[] Rewards,
    bool[] Terminated,
    bool[] Truncated,
    float[]?[] FinalObservations,
    IReadOnlyList<EpisodeStatistics> CompletedEpisodes);
