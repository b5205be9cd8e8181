// Mean over the steps of a sequence: [N, C, L] -> [N, C] (or [N, L, C] -> [N, C]).
namespace Lepton.Nn.Layers;

/// <summary>Averages each channel over the sequence's length.</summary>
/// <example><code>var gap = new GlobalAveragePooling1D(DataFormat.ChannelsLast);</code></example>
public sealed class GlobalAveragePooling1D : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="dataFormat">Channels-first [C, L] or channels-last [L, C] examples.</param>
    /// <param name="inputShape">The per-example input shape, to build the layer at once.</param>
    /// <param name="name">The layer's name.</param>
    public GlobalAveragePooling1D(DataFormat dataFormat = DataFormat.ChannelsFirst, int[]? inputShape = null, string? name = null)
        : base(name, inputShape)
    {
        DataFormat = dataFormat;
        BuildIfDeclared();
    }

    /// <summary>The sequence layout.</summary>
    public DataFormat DataFormat { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["data_format"] = Layout.Name(DataFormat);
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3)
        {
            throw new ArgumentException($"{Name}: GlobalAveragePooling1D expects [N, C, L] or [N, L, C], got {Shapes.Format(input.ShapeRef)}.");
        }

        return input.Mean([DataFormat == DataFormat.ChannelsLast ? 1 : 2]);
    }
}
