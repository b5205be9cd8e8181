// Max pooling over sequences (Keras's MaxPooling1D): pool size, strides (default: the pool size) and
// "valid"/"same" padding, on [batch, channels, length] or [batch, length, channels] inputs.
namespace Lepton.Nn.Layers;

/// <summary>Max pooling over 1-D windows.</summary>
/// <example><code>var pool = new MaxPooling1D(2);</code></example>
public sealed class MaxPooling1D : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="poolSize">Window length.</param>
    /// <param name="strides">Step between windows; the pool size when null.</param>
    /// <param name="padding">"valid" (none) or "same" (output length = ceil(length / strides)).</param>
    /// <param name="dataFormat">Channels-first [C, L] or channels-last [L, C] examples.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    public MaxPooling1D(int poolSize = 2, int? strides = null, string padding = "valid", DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        if (poolSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(poolSize), poolSize, $"{Name} (MaxPooling1D): poolSize must be positive.");
        }

        if (strides is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(strides), strides, $"{Name} (MaxPooling1D): strides must be positive.");
        }

        PoolSize = poolSize;
        Strides = strides ?? poolSize;
        Padding = Layout.CheckPadding(padding);
        DataFormat = dataFormat;
        BuildIfDeclared();
    }

    /// <summary>Window length.</summary>
    public int PoolSize { get; }

    /// <summary>Window step.</summary>
    public int Strides { get; }

    /// <summary>"valid" or "same".</summary>
    public string Padding { get; }

    /// <summary>The sequence layout.</summary>
    public DataFormat DataFormat { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["pool_size"] = new[] { PoolSize };
        config["strides"] = new[] { Strides };
        config["padding"] = Padding;
        config["data_format"] = Layout.Name(DataFormat);
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        var x = Layout.SequenceToChannelsFirst(input, DataFormat);
        var y = x.MaxPool1d(PoolSize, Strides, Layout.SequencePaddingFor(Padding, x, PoolSize, Strides, 1));
        return Layout.SequenceFromChannelsFirst(y, DataFormat);
    }
}
