// Proportional prioritized replay (Schaul et al. 2016): slot i is drawn with probability p_i^alpha /
// sum_k p_k^alpha through a sum-tree, and weighted by (N P(i))^-beta normalized by the largest weight.
namespace Lepton.Rl;

/// <summary>
/// A replay buffer that samples transitions in proportion to their priority (|TD error| + epsilon)^alpha and
/// returns importance-sampling weights that correct the bias (beta = 1 corrects it fully).
/// </summary>
/// <example><code>
/// var buffer = new PrioritizedReplayBuffer(10_000, 4, alpha: 0.6f, beta: 0.4f, seed: 1);
/// var batch = buffer.Sample(64);
/// buffer.UpdatePriorities(batch.Indices, tdErrors);
/// </code></example>
public sealed class PrioritizedReplayBuffer : ReplayBuffer
{
    private readonly SumTree tree;
    private float beta;
    private double maxPriority = 1.0;

    /// <summary>Creates an empty buffer.</summary>
    /// <param name="capacity">The most transitions kept.</param>
    /// <param name="observationSize">The floats in one observation.</param>
    /// <param name="alpha">How strongly priorities shape sampling, in [0, 1]: 0 is uniform.</param>
    /// <param name="beta">The importance-sampling exponent, in [0, 1]; usually annealed to 1.</param>
    /// <param name="epsilon">Added to |TD error| so no transition has priority 0; above 0.</param>
    /// <param name="seed">Seeds the sampling.</param>
    public PrioritizedReplayBuffer(int capacity, int observationSize, float alpha = 0.6f, float beta = 0.4f, float epsilon = 1e-6f, int seed = 0)
        : base(capacity, observationSize, seed)
    {
        if (!(alpha >= 0f && alpha <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"PrioritizedReplayBuffer: alpha must be in [0, 1], got {alpha}.");
        }

        if (!(epsilon > 0f) || float.IsInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"PrioritizedReplayBuffer: epsilon must be finite and above 0, got {epsilon}.");
        }

        Alpha = alpha;
        Beta = beta;
        Epsilon = epsilon;
        tree = new SumTree(capacity);
    }

    /// <summary>The priority exponent.</summary>
    public float Alpha { get; }

    /// <summary>The importance-sampling exponent, in [0, 1] (agents anneal it towards 1).</summary>
    public float Beta
    {
        get => beta;
        set => beta = value is >= 0f and <= 1f
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Beta), value, $"PrioritizedReplayBuffer: beta must be in [0, 1], got {value}.");
    }

    /// <summary>The floor added to |TD error|.</summary>
    public float Epsilon { get; }

    /// <summary>The probability with which one draw picks <paramref name="index"/>.</summary>
    /// <param name="index">A slot holding a transition.</param>
    /// <returns>p_i^alpha / sum_k p_k^alpha.</returns>
    /// <example><code>double p = buffer.Probability(0);</code></example>
    public double Probability(int index)
    {
        CheckIndex(index);
        return tree[index] / tree.Total;
    }

    /// <inheritdoc />
    public override void Add(ReadOnlySpan<float> observation, int action, float reward, ReadOnlySpan<float> nextObservation, bool isTerminal)
    {
        int slot = Next;
        base.Add(observation, action, reward, nextObservation, isTerminal);
        tree.Set(slot, Math.Pow(maxPriority, Alpha)); // new transitions get the highest priority seen, so each is replayed at least once
    }

    /// <summary>Draws a batch: one slot from each of <paramref name="batchSize"/> equal slices of the total priority.</summary>
    /// <param name="batchSize">The number of transitions, at least 1.</param>
    /// <returns>The transitions, their slots and weights (P_min / P_i)^beta, at most 1.</returns>
    public override ReplayBatch Sample(int batchSize)
    {
        CheckSample(batchSize);
        double total = tree.Total, slice = total / batchSize, min = tree.Min;
        var indices = new int[batchSize];
        var weights = new float[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            int index = Math.Min(tree.Find((i + Random.NextDouble()) * slice), Count - 1);
            indices[i] = index;
            weights[i] = (float)Math.Pow(min / tree[index], Beta); // (N P_i)^-beta / max_k (N P_k)^-beta
        }

        return Gather(indices, weights);
    }

    /// <summary>Sets the priorities of sampled slots from their new TD errors.</summary>
    /// <param name="indices">Slots from <see cref="ReplayBatch.Indices"/>.</param>
    /// <param name="tdErrors">One TD error per slot; the priority becomes |error| + epsilon.</param>
    /// <example><code>buffer.UpdatePriorities(batch.Indices, tdErrors);</code></example>
    public void UpdatePriorities(ReadOnlySpan<int> indices, ReadOnlySpan<float> tdErrors)
    {
        if (indices.Length != tdErrors.Length)
        {
            throw new ArgumentException($"PrioritizedReplayBuffer: {indices.Length} indices but {tdErrors.Length} TD errors; give one error per index.", nameof(tdErrors));
        }

        for (int i = 0; i < indices.Length; i++)
        {
            CheckIndex(indices[i]);
            if (!float.IsFinite(tdErrors[i]))
            {
                throw new ArgumentException($"PrioritizedReplayBuffer: the TD error for slot {indices[i]} is {tdErrors[i]}; priorities must be finite.", nameof(tdErrors));
            }

            double priority = Math.Abs(tdErrors[i]) + Epsilon;
            maxPriority = Math.Max(maxPriority, priority);
            tree.Set(indices[i], Math.Pow(priority, Alpha));
        }
    }

    private void CheckIndex(int index)
    {
        if (index < 0 || index >= Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"PrioritizedReplayBuffer: slot {index} holds no transition; the buffer holds {Count}.");
        }
    }
}
