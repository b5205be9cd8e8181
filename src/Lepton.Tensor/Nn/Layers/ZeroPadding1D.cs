// Pads sequences with zero steps at the start and the end (Keras's ZeroPadding1D), composed from Concat.
// 1-D convolutions with padding that is neither "valid" nor "same" import as this layer plus a "valid" Conv1D.
namespace Lepton.Nn.Layers;

/// <summary>Adds zero steps before and after each sequence.</summary>
/// <example><code>var padded = new ZeroPadding1D((2, 1)).Apply(sequence);</code></example>
public sealed class ZeroPadding1D : Layer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="padding">Steps added at the start and at the end.</param>
    /// <param name="dataFormat">The layout: [C, L] (channels first) or [L, C] per example.</param>
    /// <param name="name">The layer's name.</param>
    public ZeroPadding1D((int Start, int End) padding, DataFormat dataFormat = DataFormat.ChannelsFirst, string? name = null)
        : base(name)
    {
        if (padding.Start < 0 || padding.End < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"{Name} (ZeroPadding1D): padding must not be negative.");
        }

        Padding = padding;
        DataFormat = dataFormat;
    }

    /// <summary>Steps added at the start and at the end.</summary>
    public (int Start, int End) Padding { get; }

    /// <summary>The sequence layout.</summary>
    public DataFormat DataFormat { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["padding"] = new[] { Padding.Start, Padding.End };
        config["data_format"] = Layout.Name(DataFormat);
        return config;
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 3)
        {
            throw new ArgumentException($"{Name} (ZeroPadding1D): needs a batch of sequences [N, C, L] or [N, L, C], got {Shapes.Format(input.ShapeRef)}.");
        }

        int axis = DataFormat == DataFormat.ChannelsLast ? 1 : 2;
        var parts = new List<Tensor>(3);
        foreach (var (count, isInput) in new[] { (Padding.Start, false), (0, true), (Padding.End, false) })
        {
            if (isInput)
            {
                parts.Add(input);
            }
            else if (count > 0)
            {
                var shape = input.Shape;
                shape[axis] = count;
                parts.Add(Tensor.Zeros(shape, input.DType, input.Device));
            }
        }

        return parts.Count == 1 ? input : Tensor.Concat([.. parts], axis);
    }
}
