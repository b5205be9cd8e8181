// N copies of an environment stepped together in the calling thread, as Gymnasium's SyncVectorEnv:
// an episode that ends is reset in the same step, and its final observation is handed back beside.
namespace Lepton.Rl;

/// <summary>Steps several environments at once with automatic reset.</summary>
/// <typeparam name="TAction">The action type of the environments.</typeparam>
/// <example><code>
/// var envs = new SyncVectorEnvironment&lt;int&gt;(8, () =&gt; new CartPole());
/// float[] obs = envs.Reset(seed: 42);           // [8 * 4]
/// var step = envs.Step([0, 1, 0, 1, 0, 1, 0, 1]);
/// </code></example>
public sealed class SyncVectorEnvironment<TAction>
{
    private readonly IEnvironment<TAction>[] environments;
    private readonly double[] returns;
    private readonly int[] lengths;
    private bool started;

    /// <summary>Creates <paramref name="count"/> environments with <paramref name="factory"/>.</summary>
    /// <param name="count">The number of environments, at least 1.</param>
    /// <param name="factory">Makes one environment; all must have the same spaces.</param>
    public SyncVectorEnvironment(int count, Func<IEnvironment<TAction>> factory)
        : this(Create(count, factory))
    {
    }

    /// <summary>Steps the given environments together.</summary>
    /// <param name="environments">The environments, at least one, with observations of one size.</param>
    public SyncVectorEnvironment(IReadOnlyList<IEnvironment<TAction>> environments)
    {
        ArgumentNullException.ThrowIfNull(environments);
        if (environments.Count == 0)
        {
            throw new ArgumentException("SyncVectorEnvironment: needs at least one environment, got none.", nameof(environments));
        }

        this.environments = [.. environments];
        ObservationSize = environments[0].ObservationSpace.Size;
        foreach (var env in environments)
        {
            if (env.ObservationSpace.Size != ObservationSize || env.Id != environments[0].Id)
            {
                throw new ArgumentException(
                    $"SyncVectorEnvironment: all environments must be alike; {env.Id} has observations of size {env.ObservationSpace.Size}, {environments[0].Id} of {ObservationSize}.",
                    nameof(environments));
            }
        }

        returns = new double[Count];
        lengths = new int[Count];
    }

    /// <summary>The number of environments.</summary>
    public int Count => environments.Length;

    /// <summary>The floats in one environment's observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The first environment's id.</summary>
    public string Id => environments[0].Id;

    /// <summary>The spaces of one environment.</summary>
    public Space SingleObservationSpace => environments[0].ObservationSpace;

    /// <summary>The action space of one environment.</summary>
    public Space SingleActionSpace => environments[0].ActionSpace;

    /// <summary>The environments themselves.</summary>
    public IReadOnlyList<IEnvironment<TAction>> Environments => environments;

    /// <summary>Resets every environment; environment i is seeded with <paramref name="seed"/> + i.</summary>
    /// <param name="seed">The base seed, or null to continue each environment's random numbers.</param>
    /// <returns>[Count * ObservationSize] observations.</returns>
    public float[] Reset(int? seed = null)
    {
        var observations = new float[Count * ObservationSize];
        for (int i = 0; i < Count; i++)
        {
            environments[i].Reset(seed + i).CopyTo(observations, i * ObservationSize);
            returns[i] = 0;
            lengths[i] = 0;
        }

        started = true;
        return observations;
    }

    /// <summary>Steps environment i with action i; environments whose episode ends are reset at once.</summary>
    /// <param name="actions">One action per environment.</param>
    /// <returns>Observations (reset ones for ended episodes), rewards, flags and final observations.</returns>
    public VectorStepResult Step(ReadOnlySpan<TAction> actions)
    {
        if (actions.Length != Count)
        {
            throw new ArgumentException($"SyncVectorEnvironment({Id}): expected {Count} actions, one per environment, got {actions.Length}.", nameof(actions));
        }

        if (!started)
        {
            throw new InvalidOperationException($"SyncVectorEnvironment({Id}): Step was called before Reset; call Reset first.");
        }

        for (int i = 0; i < Count; i++)
        {
            // Check every action before stepping any environment, so a bad one leaves all of them as they were.
            if (actions[i] is int action && SingleActionSpace is Discrete discrete && !discrete.Contains(action))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(actions), action, $"SyncVectorEnvironment({Id}): action {action} for environment {i} is outside the action space {discrete}.");
            }
        }

        var observations = new float[Count * ObservationSize];
        var rewards = new float[Count];
        var terminated = new bool[Count];
        var truncated = new bool[Count];
        var finals = new float[]?[Count];
        List<EpisodeStatistics>? completed = null;
        for (int i = 0; i < Count; i++)
        {
            var result = environments[i].Step(actions[i]);
            rewards[i] = result.Reward;
            terminated[i] = result.Terminated;
            truncated[i] = result.Truncated;
            returns[i] += result.Reward;
            lengths[i]++;
            var observation = result.Observation;
            if (result.Done)
            {
                finals[i] = observation;
                (completed ??= []).Add(new EpisodeStatistics(i, returns[i], lengths[i]));
                returns[i] = 0;
                lengths[i] = 0;
                observation = environments[i].Reset();
            }

            observation.CopyTo(observations, i * ObservationSize);
        }

        return new VectorStepResult(observations, rewards, terminated, truncated, finals, completed ?? (IReadOnlyList<EpisodeStatistics>)[]);
    }

    private static IEnvironment<TAction>[] Create(int count, Func<IEnvironment<TAction>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (count < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"SyncVectorEnvironment: count must be at least 1, got {count}.");
        }

        var environments = new IEnvironment<TAction>[count];
        for (int i = 0; i < count; i++)
        {
            environments[i] = factory();
        }

        return environments;
    }
}
