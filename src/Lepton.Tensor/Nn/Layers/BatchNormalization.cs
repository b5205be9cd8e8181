// Batch normalization over the channel axis (axis 1 for channels-first images and for [N, F]
// features; the last axis for channels-last). Running statistics are non-trainable weights,
// updated with Keras's momentum convention: running = momentum * running + (1 - momentum) * batch,
// the variance's batch value being the unbiased estimate (as PyTorch) unless asked otherwise.
namespace Lepton.Nn.Layers;

/// <summary>Normalizes each channel with batch statistics in training and running statistics in inference.</summary>
/// <remarks>
/// In training a batch is normalized with its biased variance (the mean squared deviation over the m values of a
/// channel), while the running variance is updated with the unbiased batch variance (times m / (m - 1)), as PyTorch
/// does. Pass <c>unbiasedRunningVariance: false</c> to update it with the biased variance instead.
/// </remarks>
/// <example><code>var bn = new BatchNormalization(); var biased = new BatchNormalization(unbiasedRunningVariance: false);</code></example>
public sealed class BatchNormalization : Layer
{
    private Weight? gamma;
    private Weight? beta;
    private Weight? movingMean;
    private Weight? movingVariance;

    /// <summary>Creates the layer; <paramref name="momentum"/> is Keras's (0.99 keeps 99% of the running value).</summary>
    /// <param name="momentum">Weight of the running value in each update, in [0, 1].</param>
    /// <param name="epsilon">Added to the variance before the square root; positive.</param>
    /// <param name="center">Whether a learned offset (beta) is added.</param>
    /// <param name="scale">Whether a learned scale (gamma) multiplies.</param>
    /// <param name="dataFormat">Which axis holds the channels of rank-4 inputs.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    /// <param name="unbiasedRunningVariance">Update the running variance with the unbiased batch variance (PyTorch's
    /// rule, the default) or, when false, with the biased one the batch is normalized with.</param>
    /// <param name="synchronized">In data-parallel training, normalize with the statistics of the global batch (all
    /// ranks' examples, exchanged in forward and backward) instead of each rank's own; Keras's <c>synchronized</c>.</param>
    public BatchNormalization(
        float momentum = 0.99f, float epsilon = 1e-3f, bool center = true, bool scale = true,
        DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null, bool unbiasedRunningVariance = true,
        bool synchronized = false)
        : base(name, inputShape)
    {
        if (!(momentum >= 0 && momentum <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"{Name} (BatchNormalization): momentum must be in [0, 1].");
        }

        if (!(epsilon > 0 && float.IsFinite(epsilon)))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{Name} (BatchNormalization): epsilon must be positive and finite.");
        }

        Momentum = momentum;
        Epsilon = epsilon;
        Center = center;
        Scale = scale;
        DataFormat = dataFormat;
        UnbiasedRunningVariance = unbiasedRunningVariance;
        Synchronized = synchronized;
        BuildIfDeclared();
    }

    /// <summary>Weight of the running value in each update.</summary>
    public float Momentum { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public float Epsilon { get; }

    /// <summary>Whether a learned offset (beta) is added.</summary>
    public bool Center { get; }

    /// <summary>Whether a learned scale (gamma) multiplies.</summary>
    public bool Scale { get; }

    /// <summary>The image layout (which axis holds channels for rank-4 inputs).</summary>
    public DataFormat DataFormat { get; }

    /// <summary>Whether the running variance is updated with the unbiased batch variance (else the biased one).</summary>
    public bool UnbiasedRunningVariance { get; }

    /// <summary>Whether data-parallel training normalizes with the global batch's statistics (else each rank's own).</summary>
    public bool Synchronized { get; }

    /// <summary>The learned [channels] scale, or null without one.</summary>
    public Weight? Gamma => gamma;

    /// <summary>The learned [channels] offset, or null without one.</summary>
    public Weight? Beta => beta;

    /// <summary>The running mean.</summary>
    public Weight MovingMean => movingMean ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The running variance.</summary>
    public Weight MovingVariance => movingVariance ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["momentum"] = Momentum;
        config["epsilon"] = Epsilon;
        config["center"] = Center;
        config["scale"] = Scale;
        config["data_format"] = Layout.Name(DataFormat);
        config["unbiased_running_variance"] = UnbiasedRunningVariance;
        config["synchronized"] = Synchronized;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        if (inputShape.Length == 0)
        {
            throw new ArgumentException($"{Name}: BatchNormalization needs a channel dimension.");
        }

        int channels = inputShape.Length == 3 && DataFormat == DataFormat.ChannelsLast ? inputShape[2] : inputShape[0];
        gamma = Scale ? AddWeight("gamma", [channels], Initializer.Ones()) : null;
        beta = Center ? AddWeight("beta", [channels], Initializer.Zeros()) : null;
        movingMean = AddWeight("moving_mean", [channels], Initializer.Zeros(), trainable: false);
        movingVariance = AddWeight("moving_variance", [channels], Initializer.Ones(), trainable: false);
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        bool channelsLast = input.Rank == 4 && DataFormat == DataFormat.ChannelsLast;
        var x = channelsLast ? Layout.ToChannelsFirst(input, DataFormat) : input;
        // Frozen layers normalize with their running statistics, as Keras does since 2.1.
        bool useBatchStatistics = training && Trainable;
        var y = useBatchStatistics && Synchronized && Distributed.Current is { WorldSize: > 1 } group
            ? SynchronizedBatchNorm(x, group)
            : x.BatchNorm(MovingMean.Value, MovingVariance.Value, gamma?.Value, beta?.Value, useBatchStatistics, 1f - Momentum, Epsilon, UnbiasedRunningVariance);
        return channelsLast ? Layout.FromChannelsFirst(y, DataFormat) : y;
    }

    /// <summary>Training-mode batch normalization with the mean and biased variance of all ranks' batches, composed from
    /// differentiable sums over ranks (so backward exchanges the statistics' gradients too).</summary>
    private Tensor SynchronizedBatchNorm(Tensor x, Distributed group)
    {
        int channels = x.ShapeRef[1];
        int[] axes = [0, .. Enumerable.Range(2, x.Rank - 2)];
        var perChannel = Enumerable.Repeat(1, x.Rank).ToArray();
        perChannel[1] = channels;
        Tensor count;
        using (Tensor.NoGrad())
        {
            count = group.SumOverRanks(Tensor.Full([1], (float)(x.Numel / channels), device: x.Device));
        }

        var mean = group.SumOverRanks(x.Sum(axes)) / count;
        var centered = x - mean.Reshape(perChannel);
        var variance = group.SumOverRanks((centered * centered).Sum(axes)) / count;
        var y = centered / (variance + Epsilon).Sqrt().Reshape(perChannel);
        if (gamma is not null)
        {
            y *= gamma.Value.Reshape(perChannel);
        }

        if (beta is not null)
        {
            y += beta.Value.Reshape(perChannel);
        }

        using (Tensor.NoGrad())
        {
            float rate = 1f - Momentum;
            var unbiased = UnbiasedRunningVariance ? variance * (count / (count - 1f)) : variance;
            MovingMean.Value.CopyFrom((MovingMean.Value * Momentum) + (mean * rate));
            MovingVariance.Value.CopyFrom((MovingVariance.Value * Momentum) + (unbiased * rate));
        }

        return y;
    }
}
