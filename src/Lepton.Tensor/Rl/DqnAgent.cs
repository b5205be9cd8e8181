// Deep Q-learning (Mnih et al. 2015) with a target network updated by periodic copy or Polyak averaging,
// double-DQN targets, the Huber loss, a linear epsilon-greedy schedule, and uniform or prioritized replay.
using Lepton.Nn;
using Lepton.Nn.Optimizers;

namespace Lepton.Rl;

/// <summary>A DQN agent for discrete actions.</summary>
/// <example><code>
/// var envs = new SyncVectorEnvironment&lt;int&gt;(4, () =&gt; new CartPole());
/// var agent = new DqnAgent(4, 2, new DqnOptions { Seed = 1 });
/// for (int i = 0; i &lt; 200; i++) { Console.WriteLine(agent.Iterate(envs, 64).MeanReturn); }
/// </code></example>
public sealed class DqnAgent : IDiscreteAgent, IDisposable
{
    private readonly DqnOptions options;
    private readonly Adam optimizer;
    private readonly Random random;
    private float[]? observations;
    private int iteration;
    private long gradientSteps;

    /// <summary>Creates the agent, its online and target networks and its replay buffer.</summary>
    /// <param name="observationSize">The floats in one observation.</param>
    /// <param name="actionCount">The number of discrete actions.</param>
    /// <param name="options">Hyper-parameters; null for the defaults.</param>
    public DqnAgent(int observationSize, int actionCount, DqnOptions? options = null)
    {
        if (observationSize < 1 || actionCount < 2)
        {
            throw new ArgumentOutOfRangeException(
                nameof(observationSize), $"DqnAgent: needs observationSize at least 1 and actionCount at least 2, got {observationSize} and {actionCount}.");
        }

        this.options = options ?? new DqnOptions();
        this.options.Check();
        ObservationSize = observationSize;
        ActionCount = actionCount;
        ulong seed = (ulong)this.options.Seed * 1000;
        Online = PolicyNetwork.Build(observationSize, this.options.HiddenUnits, actionCount, "relu", seed + 1);
        Target = PolicyNetwork.Build(observationSize, this.options.HiddenUnits, actionCount, "relu", seed + 1);
        Buffer = this.options.Prioritized
            ? new PrioritizedReplayBuffer(this.options.BufferSize, observationSize, this.options.PriorityAlpha, this.options.PriorityBetaStart, seed: this.options.Seed)
            : new ReplayBuffer(this.options.BufferSize, observationSize, this.options.Seed);
        optimizer = new Adam(this.options.LearningRate);
        if (this.options.MaxGradNorm > 0f)
        {
            optimizer.GlobalClipNorm = this.options.MaxGradNorm;
        }

        random = new Random(this.options.Seed);
    }

    /// <summary>The network being trained: observations to one Q-value per action.</summary>
    public Sequential Online { get; }

    /// <summary>The slowly updated copy that values the next states.</summary>
    public Sequential Target { get; }

    /// <summary>The replay buffer (a <see cref="PrioritizedReplayBuffer"/> when <see cref="DqnOptions.Prioritized"/>).</summary>
    public ReplayBuffer Buffer { get; }

    /// <inheritdoc />
    public int ObservationSize { get; }

    /// <summary>The number of actions.</summary>
    public int ActionCount { get; }

    /// <summary>Environment steps taken by <see cref="Iterate"/> so far.</summary>
    public long EnvironmentSteps { get; private set; }

    /// <summary>The exploration rate after <see cref="EnvironmentSteps"/> steps.</summary>
    public double Epsilon => options.ExplorationSteps == 0
        ? options.ExplorationEnd
        : options.ExplorationStart + ((options.ExplorationEnd - options.ExplorationStart) * Math.Min(1.0, (double)EnvironmentSteps / options.ExplorationSteps));

    /// <summary>
    /// The TD targets r + gamma (1 - terminated) Q_target(s', a*), where a* = argmax_a Q_online(s', a) for double-DQN
    /// and argmax_a Q_target(s', a) otherwise.
    /// </summary>
    /// <param name="rewards">[B] rewards.</param>
    /// <param name="terminated">[B]: 1 where s' is terminal.</param>
    /// <param name="nextQOnline">[B * A] online Q-values of s' (only read for double-DQN).</param>
    /// <param name="nextQTarget">[B * A] target Q-values of s'.</param>
    /// <param name="gamma">The discount.</param>
    /// <param name="doubleDqn">Whether the online network picks a*.</param>
    /// <returns>[B] targets.</returns>
    /// <example><code>var y = DqnAgent.Targets(r, done, qOnline, qTarget, 0.99f, doubleDqn: true);</code></example>
    public static float[] Targets(
        ReadOnlySpan<float> rewards, ReadOnlySpan<float> terminated, ReadOnlySpan<float> nextQOnline, ReadOnlySpan<float> nextQTarget, float gamma, bool doubleDqn)
    {
        int batch = rewards.Length;
        if (batch == 0 || terminated.Length != batch || nextQTarget.Length % batch != 0 || (doubleDqn && nextQOnline.Length != nextQTarget.Length))
        {
            throw new ArgumentException(
                $"DqnAgent: Targets needs [B] rewards and terminated and [B * A] Q-values; got {rewards.Length}, {terminated.Length}, {nextQOnline.Length} and {nextQTarget.Length}.");
        }

        int actions = nextQTarget.Length / batch;
        var targets = new float[batch];
        for (int i = 0; i < batch; i++)
        {
            var target = nextQTarget.Slice(i * actions, actions);
            int best = PolicyNetwork.ArgMax(doubleDqn ? nextQOnline.Slice(i * actions, actions) : target);
            targets[i] = rewards[i] + (gamma * (1f - terminated[i]) * target[best]);
        }

        return targets;
    }

    /// <summary>The element-wise Huber loss: 0.5 e^2 where |e| &lt;= delta, delta (|e| - 0.5 delta) beyond.</summary>
    /// <param name="error">Prediction minus target.</param>
    /// <param name="delta">The threshold, above 0.</param>
    /// <returns>The loss of each element.</returns>
    /// <example><code>var loss = DqnAgent.Huber(q - y, 1f).Mean();</code></example>
    public static Tensor Huber(Tensor error, float delta)
    {
        var magnitude = error.Abs();
        var quadratic = magnitude.Clamp(0f, delta);
        return (0.5f * quadratic * quadratic) + (delta * (magnitude - quadratic));
    }

    /// <inheritdoc />
    public int[] Greedy(ReadOnlySpan<float> observations)
    {
        int rows = PolicyNetwork.Rows("DqnAgent", observations, ObservationSize);
        var q = PolicyNetwork.Infer(Online, observations, ObservationSize);
        var actions = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            actions[i] = PolicyNetwork.ArgMax(q.AsSpan(i * ActionCount, ActionCount));
        }

        return actions;
    }

    /// <summary>
    /// Takes <paramref name="steps"/> epsilon-greedy steps of every environment (resetting them with the seed on the
    /// first call), storing the transitions and training every <see cref="DqnOptions.TrainFrequency"/> environment steps.
    /// </summary>
    /// <param name="envs">The environments; the same ones on every call.</param>
    /// <param name="steps">Steps per environment, at least 1.</param>
    /// <returns>The finished episodes, the mean loss and the exploration rate.</returns>
    public DqnIteration Iterate(SyncVectorEnvironment<int> envs, int steps)
    {
        ArgumentNullException.ThrowIfNull(envs);
        if (envs.ObservationSize != ObservationSize || envs.SingleActionSpace is not Discrete { N: var n } || n != ActionCount || steps < 1)
        {
            throw new ArgumentException(
                $"DqnAgent: made for observations of {ObservationSize} floats and {ActionCount} actions, got {envs.Id} with {envs.ObservationSize} and {envs.SingleActionSpace}, and steps = {steps} (at least 1).",
                nameof(envs));
        }

        observations ??= envs.Reset(options.Seed);
        int size = ObservationSize;
        var episodes = new List<EpisodeStatistics>();
        double lossSum = 0;
        int lossCount = 0;
        for (int t = 0; t < steps; t++)
        {
            var actions = Greedy(observations);
            for (int e = 0; e < actions.Length; e++)
            {
                if (random.NextDouble() < Epsilon)
                {
                    actions[e] = random.Next(ActionCount);
                }
            }

            var result = envs.Step(actions);
            for (int e = 0; e < actions.Length; e++)
            {
                var next = result.FinalObservations[e] ?? result.Observations.AsSpan(e * size, size).ToArray();
                Buffer.Add(observations.AsSpan(e * size, size), actions[e], result.Rewards[e], next, result.Terminated[e]);
            }

            episodes.AddRange(result.CompletedEpisodes);
            observations = result.Observations;
            long before = EnvironmentSteps;
            EnvironmentSteps += actions.Length;
            if (EnvironmentSteps >= options.LearningStarts && EnvironmentSteps / options.TrainFrequency > before / options.TrainFrequency)
            {
                for (int g = 0; g < options.GradientSteps; g++)
                {
                    lossSum += TrainStep();
                    lossCount++;
                }
            }
        }

        return new DqnIteration(++iteration, EnvironmentSteps, episodes, lossCount == 0 ? double.NaN : lossSum / lossCount, Epsilon);
    }

    /// <summary>One gradient step on a replayed batch; returns its loss.</summary>
    /// <returns>The importance-weighted mean Huber loss.</returns>
    /// <example><code>float loss = agent.TrainStep();</code></example>
    public float TrainStep()
    {
        if (Buffer is PrioritizedReplayBuffer prioritized)
        {
            double progress = Math.Min(1.0, (double)EnvironmentSteps / Math.Max(1, options.ExplorationSteps * 5));
            prioritized.Beta = (float)(options.PriorityBetaStart + ((1.0 - options.PriorityBetaStart) * progress));
        }

        var batch = Buffer.Sample(options.BatchSize);
        int b = batch.Count, size = ObservationSize;
        using var scope = Tensor.NewScope();
        float[] targets;
        using (Tensor.NoGrad())
        {
            var next = Tensor.FromArray(batch.NextObservations, [b, size]);
            var qTarget = Target.Call(next).ToArray();
            var qOnline = options.DoubleDqn ? Online.Call(next).ToArray() : [];
            targets = Targets(batch.Rewards, batch.Terminated, qOnline, qTarget, options.Gamma, options.DoubleDqn);
        }

        var q = Online.Call(Tensor.FromArray(batch.Observations, [b, size]), training: true)
            .Gather(1, Tensor.FromArray(batch.Actions, [b, 1])).Squeeze(1);
        var error = q - Tensor.FromArray(targets, [b]);
        var loss = (Huber(error, options.HuberDelta) * Tensor.FromArray(batch.Weights, [b])).Mean();
        loss.Backward();
        optimizer.Step(Online.TrainableWeights);
        if (Buffer is PrioritizedReplayBuffer buffer)
        {
            buffer.UpdatePriorities(batch.Indices, error.Detach().ToArray());
        }

        if (++gradientSteps % options.TargetUpdateInterval == 0)
        {
            UpdateTarget();
        }

        return loss.Item();
    }

    /// <summary>Moves the target network towards the online one: a copy when Tau is 1, else Polyak averaging.</summary>
    /// <example><code>agent.UpdateTarget();</code></example>
    public void UpdateTarget()
    {
        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        var online = Online.Weights;
        var target = Target.Weights;
        for (int i = 0; i < online.Count; i++)
        {
            if (!Shapes.SameShape(online[i].Value.ShapeRef, target[i].Value.ShapeRef))
            {
                throw new InvalidOperationException($"DqnAgent: online weight {online[i]} and target weight {target[i]} differ in shape.");
            }

            target[i].Value.CopyFrom(options.Tau >= 1f ? online[i].Value : (options.Tau * online[i].Value) + ((1f - options.Tau) * target[i].Value));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Online.Dispose();
        Target.Dispose();
        optimizer.Dispose();
    }
}
