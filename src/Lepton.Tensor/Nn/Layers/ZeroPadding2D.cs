// Pads images with zero rows and columns (Keras's ZeroPadding2D), composed from Concat so it has a
// backward for free. Convolutions with explicit, unequal padding import as this layer plus a "valid" Conv2D.
namespace Lepton.Nn.Layers;

/// <summary>Adds rows of zeros above and below and columns left and right of each image.</summary>
/// <example><code>var padded = new ZeroPadding2D((1, 1, 1, 1)).Apply(image);</code></example>
public sealed class ZeroPadding2D : Layer
{
    /// <summary>Creates the layer with the same padding on every side.</summary>
    /// <param name="padding">Rows or columns added on each side.</param>
    /// <param name="dataFormat">The image layout.</param>
    /// <param name="name">The layer's name.</param>
    public ZeroPadding2D(int padding = 1, DataFormat dataFormat = DataFormat.ChannelsFirst, string? name = null)
        : this((padding, padding, padding, padding), dataFormat, name)
    {
    }

    /// <summary>Creates the layer.</summary>
    /// <param name="padding">Rows above and below, columns left and right.</param>
    /// <param name="dataFormat">The image layout.</param>
    /// <param name="name">The layer's name.</param>
    public ZeroPadding2D((int Top, int Bottom, int Left, int Right) padding, DataFormat dataFormat = DataFormat.ChannelsFirst, string? name = null)
        : base(name)
    {
        if (padding.Top < 0 || padding.Bottom < 0 || padding.Left < 0 || padding.Right < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{Name} (ZeroPadding2D): padding must not be negative.");
        }

        Padding = padding;
        DataFormat = dataFormat;
    }

    /// <summary>Rows above and below, columns left and right.</summary>
    public (int Top, int Bottom, int Left, int Right) Padding { get; }

    /// <summary>The image layout.</summary>
    public DataFormat DataFormat { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["padding"] = new[] { Padding.Top, Padding.Bottom, Padding.Left, Padding.Right };
        config["data_format"] = Layout.Name(DataFormat);
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 4)
        {
            throw new ArgumentException($"{Name} (ZeroPadding2D): needs a batch of images [N, C, H, W] or [N, H, W, C], got {Shapes.Format(input.ShapeRef)}.");
        }

        var x = Layout.ToChannelsFirst(input, DataFormat);
        x = PadAxis(x, 2, Padding.Top, Padding.Bottom);
        x = PadAxis(x, 3, Padding.Left, Padding.Right);
        return Layout.FromChannelsFirst(x, DataFormat);
    }

    private static Tensor PadAxis(Tensor x, int axis, int before, int after)
    {
        if (before == 0 && after == 0)
        {
            return x;
        }

        var parts = new List<Tensor>(3);
        if (before > 0)
        {
            var shape = x.Shape;
            shape[axis] = before;
            parts.Add(Tensor.Zeros(shape, x.DType, x.Device));
        }

        parts.Add(x);
        if (after > 0)
        {
            var shape = x.Shape;
            shape[axis] = after;
            parts.Add(Tensor.Zeros(shape, x.DType, x.Device));
        }

        return Tensor.Concat([.. parts], axis);
    }
}
