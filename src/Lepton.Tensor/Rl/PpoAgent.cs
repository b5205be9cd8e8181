// Proximal policy optimization (Schulman et al. 2017) for discrete actions: rollouts from several
// environments acted on in one batch, GAE(lambda), then epochs of shuffled minibatches on the clipped
// surrogate, the value loss and an entropy bonus, with advantage normalization and global gradient clipping.
using Lepton.Nn;
using Lepton.Nn.Optimizers;

namespace Lepton.Rl;

/// <summary>A PPO agent with separate policy and value MLPs trained by one Adam optimizer.</summary>
/// <example><code>
/// var envs = new SyncVectorEnvironment&lt;int&gt;(8, () =&gt; new CartPole());
/// var agent = new PpoAgent(4, 2, new PpoOptions { Seed = 1 });
/// for (int i = 0; i &lt; 100; i++) { Console.WriteLine(agent.Iterate(envs).MeanReturn); }
/// </code></example>
public sealed class PpoAgent : IDiscreteAgent, IDisposable
{
    private readonly PpoOptions options;
    private readonly Adam optimizer;
    private readonly IReadOnlyList<Weight> weights;
    private readonly Random random;
    private float[]? observations;
    private int iteration;

    /// <summary>Creates the agent and its networks.</summary>
    /// <param name="observationSize">The floats in one observation.</param>
    /// <param name="actionCount">The number of discrete actions.</param>
    /// <param name="options">Hyper-parameters; null for the defaults.</param>
    public PpoAgent(int observationSize, int actionCount, PpoOptions? options = null)
    {
        if (observationSize < 1 || actionCount < 2)
        {
            throw new ArgumentOutOfRangeException(
                nameof(observationSize), $"PpoAgent: needs observationSize at least 1 and actionCount at least 2, got {observationSize} and {actionCount}.");
        }

        this.options = options ?? new PpoOptions();
        this.options.Check();
        ObservationSize = observationSize;
        ActionCount = actionCount;
        ulong seed = (ulong)this.options.Seed * 1000;
        Policy = PolicyNetwork.Build(observationSize, this.options.HiddenUnits, actionCount, this.options.Activation, seed + 1);
        Value = PolicyNetwork.Build(observationSize, this.options.HiddenUnits, 1, this.options.Activation, seed + 500);
        weights = [.. Policy.TrainableWeights, .. Value.TrainableWeights];
        optimizer = new Adam(this.options.LearningRate, epsilon: 1e-5f);
        if (this.options.MaxGradNorm > 0f)
        {
            optimizer.GlobalClipNorm = this.options.MaxGradNorm;
        }

        random = new Random(this.options.Seed);
    }

    /// <summary>Maps observations to action logits.</summary>
    public Sequential Policy { get; }

    /// <summary>Maps observations to state values.</summary>
    public Sequential Value { get; }

    /// <inheritdoc />
    public int ObservationSize { get; }

    /// <summary>The number of actions.</summary>
    public int ActionCount { get; }

    /// <summary>Environment steps taken by <see cref="Iterate"/> so far.</summary>
    public long EnvironmentSteps { get; private set; }

    /// <inheritdoc />
    public int[] Greedy(ReadOnlySpan<float> observations)
    {
        int rows = PolicyNetwork.Rows("PpoAgent", observations, ObservationSize);
        var logits = PolicyNetwork.Infer(Policy, observations, ObservationSize);
        var actions = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            actions[i] = PolicyNetwork.ArgMax(logits.AsSpan(i * ActionCount, ActionCount));
        }

        return actions;
    }

    /// <summary>
    /// Collects one rollout of <see cref="PpoOptions.StepsPerRollout"/> steps from every environment (resetting them
    /// with the seed on the first call) and trains on it.
    /// </summary>
    /// <param name="envs">The environments; the same ones on every call.</param>
    /// <returns>The rollout's finished episodes and the update's statistics.</returns>
    public PpoIteration Iterate(SyncVectorEnvironment<int> envs)
    {
        ArgumentNullException.ThrowIfNull(envs);
        if (envs.ObservationSize != ObservationSize || envs.SingleActionSpace is not Discrete { N: var n } || n != ActionCount)
        {
            throw new ArgumentException(
                $"PpoAgent: made for observations of {ObservationSize} floats and {ActionCount} actions, but {envs.Id} has {envs.ObservationSize} and {envs.SingleActionSpace}.",
                nameof(envs));
        }

        observations ??= envs.Reset(options.Seed);
        int envCount = envs.Count, steps = options.StepsPerRollout, size = ObservationSize, total = steps * envCount;
        var rolloutObs = new float[total * size];
        var actions = new int[total];
        var logProbs = new float[total];
        var values = new float[total];
        var rewards = new float[total];
        var dones = new bool[total];
        var episodes = new List<EpisodeStatistics>();
        for (int t = 0; t < steps; t++)
        {
            observations.CopyTo(rolloutObs, t * envCount * size);
            var logits = PolicyNetwork.Infer(Policy, observations, size);
            var stepValues = PolicyNetwork.Infer(Value, observations, size);
            var stepActions = new int[envCount];
            for (int e = 0; e < envCount; e++)
            {
                int i = (t * envCount) + e;
                (stepActions[e], logProbs[i]) = SampleAction(logits.AsSpan(e * ActionCount, ActionCount));
                actions[i] = stepActions[e];
                values[i] = stepValues[e];
            }

            var result = envs.Step(stepActions);
            for (int e = 0; e < envCount; e++)
            {
                int i = (t * envCount) + e;
                rewards[i] = result.Rewards[e];
                dones[i] = result.Terminated[e] || result.Truncated[e];
                if (result.Truncated[e] && !result.Terminated[e])
                {
                    rewards[i] += options.Gamma * PolicyNetwork.Infer(Value, result.FinalObservations[e], size)[0]; // bootstrap the cut-off tail
                }
            }

            episodes.AddRange(result.CompletedEpisodes);
            observations = result.Observations;
        }

        EnvironmentSteps += total;
        var lastValues = PolicyNetwork.Infer(Value, observations, size);
        var (advantages, returns) = GeneralizedAdvantage.Compute(rewards, values, dones, lastValues, options.Gamma, options.Lambda);
        if (options.AnnealSteps > 0)
        {
            optimizer.LearningRate = options.LearningRate * (float)Math.Max(0.0, 1.0 - ((double)EnvironmentSteps / options.AnnealSteps));
        }

        var (policyLoss, valueLoss, entropy, clipFraction) = Update(rolloutObs, actions, logProbs, advantages, returns);
        return new PpoIteration(++iteration, EnvironmentSteps, episodes, policyLoss, valueLoss, entropy, clipFraction);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Policy.Dispose();
        Value.Dispose();
        optimizer.Dispose();
    }

    private (int Action, float LogProb) SampleAction(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float l in logits)
        {
            max = Math.Max(max, l);
        }

        foreach (float l in logits)
        {
            sum += Math.Exp(l - max);
        }

        double u = random.NextDouble() * sum, cumulative = 0;
        int action = logits.Length - 1;
        for (int a = 0; a < logits.Length; a++)
        {
            cumulative += Math.Exp(logits[a] - max);
            if (u < cumulative)
            {
                action = a;
                break;
            }
        }

        return (action, (float)(logits[action] - max - Math.Log(sum)));
    }

    private (double PolicyLoss, double ValueLoss, double Entropy, double ClipFraction) Update(
        float[] rolloutObs, int[] actions, float[] oldLogProbs, float[] advantages, float[] returns)
    {
        int total = actions.Length, size = ObservationSize, batch = Math.Min(options.MinibatchSize, total);
        var order = new int[total];
        for (int i = 0; i < total; i++)
        {
            order[i] = i;
        }

        double policySum = 0, valueSum = 0, entropySum = 0, clipped = 0;
        int minibatches = 0;
        var x = new float[batch * size];
        var a = new int[batch];
        var oldLp = new float[batch];
        var adv = new float[batch];
        var ret = new float[batch];
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            for (int start = 0; start + batch <= total; start += batch)
            {
                for (int k = 0; k < batch; k++)
                {
                    int i = order[start + k];
                    Array.Copy(rolloutObs, i * size, x, k * size, size);
                    (a[k], oldLp[k], adv[k], ret[k]) = (actions[i], oldLogProbs[i], advantages[i], returns[i]);
                }

                if (options.NormalizeAdvantages)
                {
                    Normalize(adv);
                }

                using var scope = Tensor.NewScope();
                var input = Tensor.FromArray(x, [batch, size]);
                var (logProbs, all) = PpoLoss.LogProbabilities(Policy.Call(input, training: true), Tensor.FromArray(a, [batch]));
                var oldLogProbTensor = Tensor.FromArray(oldLp, [batch]);
                var policyLoss = PpoLoss.ClippedSurrogate(logProbs, oldLogProbTensor, Tensor.FromArray(adv, [batch]), options.ClipRange);
                var entropy = PpoLoss.Entropy(all);
                var error = Value.Call(input, training: true).Reshape(batch) - Tensor.FromArray(ret, [batch]);
                var valueLoss = (error * error).Mean();
                var loss = policyLoss + (options.ValueCoefficient * valueLoss);
                if (options.EntropyCoefficient > 0f)
                {
                    loss = loss - (options.EntropyCoefficient * entropy);
                }

                loss.Backward();
                optimizer.Step(weights);
                policySum += policyLoss.Item();
                valueSum += valueLoss.Item();
                entropySum += entropy.Item();
                var logRatios = (logProbs.Detach() - oldLogProbTensor).ToArray();
                foreach (float lr in logRatios)
                {
                    clipped += Math.Abs(Math.Exp(lr) - 1.0) > options.ClipRange ? 1 : 0;
                }

                minibatches++;
            }
        }

        return (policySum / minibatches, valueSum / minibatches, entropySum / minibatches, clipped / ((double)minibatches * batch));
    }

    private static void Normalize(float[] values)
    {
        double mean = 0, squares = 0;
        foreach (float v in values)
        {
            mean += v;
        }

        mean /= values.Length;
        foreach (float v in values)
        {
            squares += (v - mean) * (v - mean);
        }

        double std = values.Length > 1 ? Math.Sqrt(squares / (values.Length - 1)) : 0.0;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((values[i] - mean) / (std + 1e-8));
        }
    }
}
