// A ring buffer of transitions (observation, action, reward, next observation, terminated) with
// seeded uniform sampling; the prioritized buffer reuses its storage and changes how slots are drawn.
namespace Lepton.Rl;

/// <summary>Stores the last <see cref="Capacity"/> transitions and samples them uniformly, with replacement.</summary>
/// <example><code>
/// var buffer = new ReplayBuffer(10_000, observationSize: 4, seed: 1);
/// buffer.Add(obs, action, reward, nextObs, terminated);
/// var batch = buffer.Sample(64);
/// </code></example>
public class ReplayBuffer
{
    private readonly float[] observations, nextObservations, rewards, terminated;
    private readonly int[] actions;

    /// <summary>Creates an empty buffer.</summary>
    /// <param name="capacity">The most transitions kept; the oldest is overwritten first.</param>
    /// <param name="observationSize">The floats in one observation.</param>
    /// <param name="seed">Seeds the sampling.</param>
    public ReplayBuffer(int capacity, int observationSize, int seed = 0)
    {
        if (capacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"{GetType().Name}: capacity must be at least 1, got {capacity}.");
        }

        if (observationSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(observationSize), observationSize, $"{GetType().Name}: observationSize must be at least 1, got {observationSize}.");
        }

        Capacity = capacity;
        ObservationSize = observationSize;
        observations = new float[(long)capacity * observationSize];
        nextObservations = new float[(long)capacity * observationSize];
        rewards = new float[capacity];
        terminated = new float[capacity];
        actions = new int[capacity];
        Random = new Random(seed);
    }

    /// <summary>The most transitions kept.</summary>
    public int Capacity { get; }

    /// <summary>The floats in one observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The transitions held.</summary>
    public int Count { get; private set; }

    /// <summary>The slot the next transition goes to.</summary>
    protected int Next { get; private set; }

    /// <summary>The sampling random numbers.</summary>
    protected Random Random { get; }

    /// <summary>Stores a transition, overwriting the oldest when full.</summary>
    /// <param name="observation">The observation the action was taken in, <see cref="ObservationSize"/> floats.</param>
    /// <param name="action">The action taken.</param>
    /// <param name="reward">The reward received.</param>
    /// <param name="nextObservation">The observation after the step (the final one when the episode ended), <see cref="ObservationSize"/> floats.</param>
    /// <param name="isTerminal">Whether the next state is terminal (a time-limit truncation is not).</param>
    /// <example><code>buffer.Add(obs, 1, 1f, next, isTerminal: false);</code></example>
    public virtual void Add(ReadOnlySpan<float> observation, int action, float reward, ReadOnlySpan<float> nextObservation, bool isTerminal)
    {
        CheckObservation(observation, nameof(observation));
        CheckObservation(nextObservation, nameof(nextObservation));
        int slot = Next;
        observation.CopyTo(observations.AsSpan(slot * ObservationSize, ObservationSize));
        nextObservation.CopyTo(nextObservations.AsSpan(slot * ObservationSize, ObservationSize));
        actions[slot] = action;
        rewards[slot] = reward;
        terminated[slot] = isTerminal ? 1f : 0f;
        Next = (Next + 1) % Capacity;
        Count = Math.Min(Count + 1, Capacity);
    }

    /// <summary>Draws <paramref name="batchSize"/> transitions uniformly with replacement.</summary>
    /// <param name="batchSize">The number of transitions, at least 1.</param>
    /// <returns>The transitions with weights of 1.</returns>
    /// <example><code>var batch = buffer.Sample(32);</code></example>
    public virtual ReplayBatch Sample(int batchSize)
    {
        CheckSample(batchSize);
        var indices = new int[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            indices[i] = Random.Next(Count);
        }

        var weights = new float[batchSize];
        Array.Fill(weights, 1f);
        return Gather(indices, weights);
    }

    /// <summary>Checks a batch size against the buffer's contents.</summary>
    /// <param name="batchSize">The requested number of transitions.</param>
    protected void CheckSample(int batchSize)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"{GetType().Name}: batchSize must be at least 1, got {batchSize}.");
        }

        if (Count == 0)
        {
            throw new InvalidOperationException($"{GetType().Name}: cannot sample from an empty buffer; Add transitions first.");
        }
    }

    /// <summary>Copies the transitions in <paramref name="indices"/> into a batch.</summary>
    /// <param name="indices">The slots to copy, each below <see cref="Count"/>.</param>
    /// <param name="weights">Their importance-sampling weights.</param>
    /// <returns>The batch.</returns>
    protected ReplayBatch Gather(int[] indices, float[] weights)
    {
        int n = indices.Length, size = ObservationSize;
        var obs = new float[n * size];
        var next = new float[n * size];
        var batchActions = new int[n];
        var batchRewards = new float[n];
        var batchTerminated = new float[n];
        for (int i = 0; i < n; i++)
        {
            int slot = indices[i];
            Array.Copy(observations, slot * size, obs, i * size, size);
            Array.Copy(nextObservations, slot * size, next, i * size, size);
            batchActions[i] = actions[slot];
            batchRewards[i] = rewards[slot];
            batchTerminated[i] = terminated[slot];
        }

        return new ReplayBatch(obs, batchActions, batchRewards, next, batchTerminated, indices, weights);
    }

    private void CheckObservation(ReadOnlySpan<float> observation, string name)
    {
        if (observation.Length != ObservationSize)
        {
            throw new ArgumentException($"{GetType().Name}: {name} must have {ObservationSize} floats, got {observation.Length}.", name);
        }
    }
}
