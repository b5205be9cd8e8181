// Max and average pooling layers (Keras's MaxPooling2D and AveragePooling2D): pool size, strides
// (default: the pool size) and "valid"/"same" padding, or explicit padding per side (PyTorch's and
// ONNX's form); average pooling excludes the padding from each mean unless asked to count it.
namespace Lepton.Nn.Layers;

/// <summary>The shared part of the 2-D pooling layers.</summary>
public abstract class Pooling2D : Layer
{
    /// <summary>Creates the layer.</summary>
    protected Pooling2D(
        (int H, int W) poolSize, (int H, int W)? strides, string padding, DataFormat dataFormat, int[]? inputShape, string? name,
        (int Top, int Bottom, int Left, int Right)? explicitPadding = null)
        : base(name, inputShape)
    {
        if (explicitPadding is { } p && (p.Top < 0 || p.Bottom < 0 || p.Left < 0 || p.Right < 0 || 2 * p.Top > poolSize.H || 2 * p.Bottom > poolSize.H || 2 * p.Left > poolSize.W || 2 * p.Right > poolSize.W))
        {
            throw new ArgumentOutOfRangeException(nameof(explicitPadding), p, $"{Name} ({GetType().Name}): explicit padding must be at least 0 and at most half the pool size on each side.");
        }

        ExplicitPadding = explicitPadding;
        if (poolSize.H <= 0 || poolSize.W <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(poolSize), poolSize, $"{Name} ({GetType().Name}): poolSize must be positive.");
        }

        if (strides is { } s && (s.H <= 0 || s.W <= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(strides), s, $"{Name} ({GetType().Name}): strides must be positive.");
        }

        PoolSize = poolSize;
        Strides = strides ?? poolSize;
        Padding = Layout.CheckPadding(padding);
        DataFormat = dataFormat;
    }

    /// <summary>Window size.</summary>
    public (int H, int W) PoolSize { get; }

    /// <summary>Window step.</summary>
    public (int H, int W) Strides { get; }

    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }

    /// <summary>The image layout.</summary>
    public DataFormat DataFormat { get; }

    /// <summary>Rows above and below and columns left and right added around each image, when given instead of
    /// <see cref="Padding"/> (ignored padding never wins a max; average pooling leaves it out unless it counts it).</summary>
    public (int Top, int Bottom, int Left, int Right)? ExplicitPadding { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["pool_size"] = new[] { PoolSize.H, PoolSize.W };
        config["strides"] = new[] { Strides.H, Strides.W };
        config["padding"] = Padding;
        config["data_format"] = Layout.Name(DataFormat);
        config["explicit_padding"] = ExplicitPadding is { } p ? new[] { p.Top, p.Bottom, p.Left, p.Right } : null;
        return config;
    }

    /// <summary>The padding applied to a channels-first batch.</summary>
    internal Padding2d PaddingFor(Tensor x) => ExplicitPadding is { } p
        ? new Padding2d(p.Top, p.Bottom, p.Left, p.Right)
        : Layout.PaddingFor(Padding, x, PoolSize, Strides, (1, 1));

    /// <summary>Pools a channels-first batch.</summary>
    protected abstract Tensor Pool(Tensor x, Padding2d padding);

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var x = Layout.ToChannelsFirst(input, DataFormat);
        return Layout.FromChannelsFirst(Pool(x, PaddingFor(x)), DataFormat);
    }
}

/// <summary>Max pooling over 2-D windows.</summary>
/// <example><code>var pool = new MaxPooling2D(2);</code></example>
public sealed class MaxPooling2D : Pooling2D
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="poolSize">The window's height and width.</param>
    /// <param name="strides">The step (default: the pool size).</param>
    /// <param name="padding">"valid" or "same" (ignored when <paramref name="explicitPadding"/> is given).</param>
    /// <param name="dataFormat">The image layout.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    /// <param name="explicitPadding">Rows above and below and columns left and right, as PyTorch's padding=.</param>
    public MaxPooling2D(
        int poolSize = 2, int? strides = null, string padding = "valid", DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null,
        (int Top, int Bottom, int Left, int Right)? explicitPadding = null)
        : base((poolSize, poolSize), strides is null ? null : (strides.Value, strides.Value), padding, dataFormat, inputShape, name, explicitPadding)
    {
        BuildIfDeclared();
    }

    /// <inheritdoc />
    /// <remarks>On uint8 activations (a quantized model's) the int8 kernel pools them; the scale and zero point stay.</remarks>
    protected override Tensor Pool(Tensor x, Padding2d padding) =>
        x.DType == DType.UInt8 ? x.QuantizedMaxPool2d(PoolSize, Strides, padding) : x.MaxPool2d(PoolSize, Strides, padding);
}

/// <summary>Average pooling over 2-D windows.</summary>
/// <example><code>var pool = new AveragePooling2D(2);</code></example>
public sealed class AveragePooling2D : Pooling2D
{
    /// <summary>Creates the layer with a square window.</summary>
    /// <param name="poolSize">The window's height and width.</param>
    /// <param name="strides">The step (default: the pool size).</param>
    /// <param name="padding">"valid" or "same" (ignored when <paramref name="explicitPadding"/> is given).</param>
    /// <param name="dataFormat">The image layout.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    /// <param name="explicitPadding">Rows above and below and columns left and right, as PyTorch's padding=.</param>
    /// <param name="countIncludePad">Whether padded positions count in each mean (PyTorch's default for explicit padding).</param>
    public AveragePooling2D(
        int poolSize = 2, int? strides = null, string padding = "valid", DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null,
        (int Top, int Bottom, int Left, int Right)? explicitPadding = null, bool countIncludePad = false)
        : base((poolSize, poolSize), strides is null ? null : (strides.Value, strides.Value), padding, dataFormat, inputShape, name, explicitPadding)
    {
        CountIncludePad = countIncludePad;
        BuildIfDeclared();
    }

    /// <summary>Whether padded positions count in each mean.</summary>
    public bool CountIncludePad { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["count_include_pad"] = CountIncludePad;
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Pool(Tensor x, Padding2d padding) => x.AvgPool2d(PoolSize, Strides, padding, countIncludePad: CountIncludePad);
}
