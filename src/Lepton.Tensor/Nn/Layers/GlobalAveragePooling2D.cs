// Mean over the spatial dimensions: [N, C, H, W] -> [N, C] (or [N, H, W, C] -> [N, C]).
namespace Lepton.Nn.Layers;

/// <summary>Averages each channel over height and width.</summary>
/// <example><code>var gap = new GlobalAveragePooling2D();</code></example>
public sealed class GlobalAveragePooling2D : Layer
{
    /// <summary>Creates the layer.</summary>
    public GlobalAveragePooling2D(DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        DataFormat = dataFormat;
        BuildIfDeclared();
    }

    /// <summary>The image layout.</summary>
    public DataFormat DataFormat { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["data_format"] = Layout.Name(DataFormat);
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => Layout.ToChannelsFirst(input, DataFormat).GlobalAvgPool2d();
}
