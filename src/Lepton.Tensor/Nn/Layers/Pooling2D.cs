// Max and average pooling layers (Keras's MaxPooling2D and AveragePooling2D): pool size, strides
// (default: the pool size) and "valid"/"same" padding; "same" average pooling excludes the padding.
namespace Lepton.Nn.Layers;

/// <summary>The shared part of the 2-D pooling layers.</summary>
public abstract class Pooling2D : Layer
{
    /// <summary>Creates the layer.</summary>
    protected Pooling2D((int H, int W) poolSize, (int H, int W)? strides, string padding, DataFormat dataFormat, int[]? inputShape, string? name)
        : base(name, inputShape)
    {
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

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["pool_size"] = new[] { PoolSize.H, PoolSize.W };
        config["strides"] = new[] { Strides.H, Strides.W };
        config["padding"] = Padding;
        config["data_format"] = Layout.Name(DataFormat);
        return config;
    }

    /// <summary>Pools a channels-first batch.</summary>
    protected abstract Tensor Pool(Tensor x, Padding2d padding);

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var x = Layout.ToChannelsFirst(input, DataFormat);
        return Layout.FromChannelsFirst(Pool(x, Layout.PaddingFor(Padding, x, PoolSize, Strides, (1, 1))), DataFormat);
    }
}

/// <summary>Max pooling over 2-D windows.</summary>
/// <example><code>var pool = new MaxPooling2D(2);</code></example>
public sealed class MaxPooling2D : Pooling2D
{
    /// <summary>Creates the layer with a square window.</summary>
    public MaxPooling2D(int poolSize = 2, int? strides = null, string padding = "valid", DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null)
        : base((poolSize, poolSize), strides is null ? null : (strides.Value, strides.Value), padding, dataFormat, inputShape, name)
    {
        BuildIfDeclared();
    }

    /// <inheritdoc />
    protected override Tensor Pool(Tensor x, Padding2d padding) => x.MaxPool2d(PoolSize, Strides, padding);
}

/// <summary>Average pooling over 2-D windows.</summary>
/// <example><code>var pool = new AveragePooling2D(2);</code></example>
public sealed class AveragePooling2D : Pooling2D
{
    /// <summary>Creates the layer with a square window.</summary>
    public AveragePooling2D(int poolSize = 2, int? strides = null, string padding = "valid", DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null)
        : base((poolSize, poolSize), strides is null ? null : (strides.Value, strides.Value), padding, dataFormat, inputShape, name)
    {
        BuildIfDeclared();
    }

    /// <inheritdoc />
    protected override Tensor Pool(Tensor x, Padding2d padding) => x.AvgPool2d(PoolSize, Strides, padding, countIncludePad: false);
}
