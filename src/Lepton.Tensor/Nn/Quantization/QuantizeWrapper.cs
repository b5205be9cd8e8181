// Weight fake quantization for quantization-aware training (TF-MOT's QuantizeWrapper): runs a Conv2D or Dense layer
// with its kernel fake-quantized to symmetric int8 per output channel, the scales max|w| / 127 computed on the device
// from the current kernel at every call, so the forward sees the weights the int8 model will hold.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>
/// Runs <see cref="Layer"/> (a <see cref="Conv2D"/> or <see cref="Dense"/>) with its kernel fake-quantized per output
/// channel (or per tensor) as <see cref="QuantParams.WeightScales"/> and <see cref="QuantParams.QuantizeWeight"/> quantize it; the
/// gradient reaches the float kernel straight through. The bias stays float, as the int8 model keeps it in int32.
/// </summary>
/// <example><code>var wrapped = new QuantizeWrapper(new Conv2D(16, 3, activation: "relu"));</code></example>
public sealed class QuantizeWrapper : Layer
{
    /// <summary>Wraps a layer.</summary>
    /// <param name="layer">The <see cref="Conv2D"/> or <see cref="Dense"/> layer whose kernel is fake-quantized.</param>
    /// <param name="perChannel">One scale per output channel (the default), or one for the whole kernel.</param>
    /// <param name="name">The wrapper's name; <c>quant_{layer}</c> by default.</param>
    /// <exception cref="ArgumentException"><paramref name="layer"/> is neither a Conv2D nor a Dense layer.</exception>
    public QuantizeWrapper(Layer layer, bool perChannel = true, string? name = null)
        : base(name ?? UniqueName($"quant_{layer?.Name}"))
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (layer is not (Conv2D or Dense))
        {
            throw new ArgumentException($"QuantizeWrapper: only Conv2D and Dense kernels are fake-quantized, not {layer.GetType().Name} '{layer.Name}'.", nameof(layer));
        }

        Layer = layer;
        PerChannel = perChannel;
        Device = layer.Device;
    }

    /// <summary>The wrapped layer, which owns the weights.</summary>
    public Layer Layer { get; }

    /// <summary>Whether each output channel has its own scale (else one scale covers the kernel).</summary>
    public bool PerChannel { get; }

    /// <inheritdoc />
    public override IEnumerable<Layer> Sublayers => [Layer];

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["layer"] = LayerConfig.Nested(Layer);
        config["per_channel"] = PerChannel;
        return config;
    }

    /// <summary>The kernel as the forward pass uses it: fake-quantized to int8 per output channel.</summary>
    /// <returns>A tensor shaped like the kernel, recorded for autograd with the straight-through gradient.</returns>
    /// <exception cref="InvalidOperationException">The layer is not built.</exception>
    public Tensor QuantizedKernel()
    {
        var (kernel, axis) = Layer switch
        {
            Conv2D conv => (conv.Kernel.Value, 0),
            Dense dense => (dense.Kernel.Value, dense.Kernel.Value.Rank - 1),
            _ => throw new InvalidOperationException($"{Name}: unexpected layer {Layer}."),
        };

        if (!PerChannel)
        {
            using var flat = kernel.Reshape([kernel.Numel, 1]);
            using var scale = DeviceQuantParams.WeightScales(flat, 1);
            using var zero = Tensor.ZerosLike(scale);
            return kernel.FakeQuantize(scale, zero, -QuantParams.WeightMax, QuantParams.WeightMax);
        }

        using var scales = DeviceQuantParams.WeightScales(kernel, axis);
        using var zeroPoints = Tensor.ZerosLike(scales);
        return kernel.FakeQuantize(scales, zeroPoints, -QuantParams.WeightMax, QuantParams.WeightMax, axis);
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes) => Layer.EnsureBuilt(inputShapes, BuildInputTypes);

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var kernel = QuantizedKernel();
        var output = Layer switch
        {
            Conv2D conv => conv.Forward(input, kernel, training),
            _ => ((Dense)Layer).Forward(input, kernel, training),
        };

        Layer.OutputShape ??= output.ShapeRef[1..];
        return output;
    }
}
