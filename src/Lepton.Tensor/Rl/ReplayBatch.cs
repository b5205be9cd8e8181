// A minibatch of transitions drawn from a replay buffer, as flat arrays ready for Tensor.FromArray,
// with the slots they came from and their importance weights (all 1 for uniform sampling).
namespace Lepton.Rl;

/// <summary>Sampled transitions.</summary>
/// <param name="Observations">[B * observation size].</param>
/// <param name="Actions">[B] actions.</param>
/// <param name="Rewards">[B] rewards.</param>
/// <param name="NextObservations">[B * observation size].</param>
/// <param name="Terminated">[B]: 1 where the next state is terminal (no bootstrap), else 0.</param>
/// <param name="Indices">[B] buffer slots, for updating priorities.</param>
/// <param name="Weights">[B] importance-sampling weights.</param>
/// <example><code>var batch = buffer.Sample(64); var x = Tensor.FromArray(batch.Observations, [64, 4]);</code></example>
public sealed record ReplayBatch(
    float[] Observations, int[] Actions, float[] Rewards, float[] NextObservations, float[] Terminated, int[] Indices, float[] Weights)
{
    /// <summary>The number of transitions.</summary>
    public int Count => Actions.Length;
}
