// The activation observer of quantization-aware training (PyTorch's FakeQuantize with a moving-average min/max
// observer): a range kept on the device as non-trainable weights, updated by tensor ops in training, and the uint8
// fake quantization of its input on the grid QuantParams.FromRange gives that range.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>
/// Observes the range of the tensor that passes through and fake-quantizes it to uint8 on that range. In training the
/// range follows a moving average of each batch's min and max (the first batch sets it); in inference it is fixed. The
/// range, whether it has been set and whether it is frozen are weights of the layer, so they are saved with the model
/// and updated inside captured training steps without reading anything back.
/// </summary>
/// <example><code>
/// var observer = new FakeQuantize(averagingConstant: 0.01f);
/// var y = observer.Call(x, training: true);
/// var (min, max) = observer.Range;
/// </code></example>
public sealed class FakeQuantize : Layer
{
    private Weight? min;
    private Weight? max;
    private Weight? observed;
    private Weight? frozen;

    /// <summary>Creates the observer.</summary>
    /// <param name="averagingConstant">Weight of each new batch in the moving average of the range, in (0, 1]
    /// (PyTorch's default 0.01); 1 keeps the last batch's range.</param>
    /// <param name="name">The layer's name.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="averagingConstant"/> is not in (0, 1].</exception>
    public FakeQuantize(float averagingConstant = 0.01f, string? name = null)
        : base(name)
    {
        if (!(averagingConstant > 0f && averagingConstant <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(averagingConstant), averagingConstant, $"{Name} (FakeQuantize): averagingConstant must be in (0, 1].");
        }

        AveragingConstant = averagingConstant;
    }

    /// <summary>Weight of each new batch in the moving average of the range.</summary>
    public float AveragingConstant { get; }

    /// <summary>The observed range (min, max), read back from the device; (0, 0) before the first training batch.</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public (float Min, float Max) Range => (Read(min), Read(max));

    /// <summary>Whether a training batch has set the range.</summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public bool HasObserved => Read(observed) != 0f;

    /// <summary>
    /// When true the range no longer changes in training (PyTorch's <c>disable_observer</c>); the fake quantization
    /// goes on with the frozen range. The flag is a device value, so captured steps follow a change without recapturing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    /// <example><code>observer.Frozen = true;</code></example>
    public bool Frozen
    {
        get => Read(frozen) != 0f;
        set
        {
            var flag = frozen ?? throw NotBuilt();
            using var values = Tensor.Full([1], value ? 1f : 0f, DType.Float32, flag.Value.Device);
            flag.Assign(values);
        }
    }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["averaging_constant"] = AveragingConstant;
        return config;
    }

    /// <summary>Sets the range (and marks it observed), e.g. from a calibration run; values outside finite order are refused.</summary>
    /// <param name="rangeMin">The smallest value.</param>
    /// <param name="rangeMax">The largest value, at least <paramref name="rangeMin"/>.</param>
    /// <exception cref="ArgumentException">The range is not finite and ordered.</exception>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    /// <example><code>observer.SetRange(0f, 6f);</code></example>
    public void SetRange(float rangeMin, float rangeMax)
    {
        if (!float.IsFinite(rangeMin) || !float.IsFinite(rangeMax) || rangeMin > rangeMax)
        {
            throw new ArgumentException($"{Name}: range [{rangeMin}, {rangeMax}] is not a finite, ordered range.", nameof(rangeMin));
        }

        foreach (var (weight, value) in new[] { (min, rangeMin), (max, rangeMax), (observed, 1f) })
        {
            var target = weight ?? throw NotBuilt();
            using var values = Tensor.Full([1], value, DType.Float32, target.Value.Device);
            target.Assign(values);
        }
    }

    /// <inheritdoc />
    protected override void Build(int[] inputShape)
    {
        min = AddWeight("min", [1], Initializer.Zeros(), trainable: false);
        max = AddWeight("max", [1], Initializer.Zeros(), trainable: false);
        observed = AddWeight("observed", [1], Initializer.Zeros(), trainable: false);
        frozen = AddWeight("frozen", [1], Initializer.Zeros(), trainable: false);
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.DType != DType.Float32)
        {
            throw new ArgumentException($"{Name} (FakeQuantize): expects float32 activations, got {input.DType.Name()} {Shapes.Format(input.ShapeRef)}.");
        }

        if (training && input.Numel > 0)
        {
            Observe(input);
        }

        var (scale, zeroPoint) = DeviceQuantParams.FromRange(min!.Value, max!.Value);
        var quantized = input.FakeQuantize(scale, zeroPoint, 0, 255);

        // Until a training batch has set the range there is no grid: inference passes the input unchanged. A training
        // call has just set it (unless the layer was frozen before it ever observed), so it skips the selection.
        return training ? quantized : Tensor.Where(observed!.Value, quantized, input);
    }

    /// <summary>Moves the range toward this batch's: range += rate * (batch - range), where the rate is 1 for the first
    /// batch, the averaging constant after it, and 0 while frozen.</summary>
    private void Observe(Tensor input)
    {
        using var noGrad = Tensor.NoGrad();
        using var batchMin = input.Min().Reshape([1]);
        using var batchMax = input.Max().Reshape([1]);
        using var averaging = Tensor.Where(observed!.Value, batchMin.ScalarLike(AveragingConstant), batchMin.ScalarLike(1f));
        using var thawed = 1f - frozen!.Value;
        using var rate = averaging * thawed;
        foreach (var (range, batch) in new[] { (min!, batchMin), (max!, batchMax) })
        {
            using var step = batch - range.Value;
            using var moved = step * rate;
            using var updated = range.Value + moved;
            range.Value.CopyFrom(updated);
        }

        using var marked = Tensor.Where(frozen.Value, observed.Value, batchMin.ScalarLike(1f));
        observed.Value.CopyFrom(marked);
    }

    private float Read(Weight? weight) => (weight ?? throw NotBuilt()).Value.ToArray<float>()[0];

    private InvalidOperationException NotBuilt() => new($"{Name} (FakeQuantize) is not built yet; call the model once first.");
}
