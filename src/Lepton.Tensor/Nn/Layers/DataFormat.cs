// The image layouts layers accept. The library computes in channels-first (NCHW): it is what the
// kernels, PyTorch and our data loaders use. Keras's channels-last (NHWC) is accepted per layer.
namespace Lepton.Nn.Layers;

/// <summary>How image tensors are laid out.</summary>
public enum DataFormat
{
    /// <summary>[batch, channels, height, width]: the library's default and its native layout.</summary>
    ChannelsFirst,

    /// <summary>[batch, height, width, channels]: Keras's default; transposed to channels-first around each op.</summary>
    ChannelsLast,
}

/// <summary>Moving between the two layouts.</summary>
internal static class Layout
{
    public static Tensor ToChannelsFirst(Tensor x, DataFormat format) => format == DataFormat.ChannelsLast ? x.Permute(0, 3, 1, 2) : x;

    public static Tensor FromChannelsFirst(Tensor x, DataFormat format) => format == DataFormat.ChannelsLast ? x.Permute(0, 2, 3, 1) : x;

    /// <summary>A sequence batch as [N, C, L]: from [N, L, C] when channels-last.</summary>
    public static Tensor SequenceToChannelsFirst(Tensor x, DataFormat format) => format == DataFormat.ChannelsLast ? x.Permute(0, 2, 1) : x;

    /// <summary>A [N, C, L] result back in the layer's layout.</summary>
    public static Tensor SequenceFromChannelsFirst(Tensor x, DataFormat format) => format == DataFormat.ChannelsLast ? x.Permute(0, 2, 1) : x;

    /// <summary>The padding of a channels-first sequence batch x [N, C, L] for a window: none for "valid", <see cref="Same"/> for "same".</summary>
    public static Padding1d SequencePaddingFor(string padding, Tensor x, int kernel, int stride, int dilation)
    {
        if (padding != "same" || x.Rank != 3)
        {
            return 0;
        }

        var (left, right) = Same(x.ShapeRef[2], kernel, stride, dilation);
        return new Padding1d(left, right);
    }

    public static DataFormat Parse(string? name) => (name ?? "channels_first").ToLowerInvariant() switch
    {
        "channels_first" => DataFormat.ChannelsFirst,
        "channels_last" => DataFormat.ChannelsLast,
        _ => throw new ArgumentException($"Unknown data format '{name}'; use channels_first or channels_last."),
    };

    public static string Name(DataFormat format) => format == DataFormat.ChannelsLast ? "channels_last" : "channels_first";

    /// <summary>TensorFlow-style "same" padding: output = ceil(input / stride), extra row/column at the bottom/right.</summary>
    public static (int Before, int After) Same(int size, int kernel, int stride, int dilation)
    {
        int output = (size + stride - 1) / stride;
        int total = Math.Max(((output - 1) * stride) + (dilation * (kernel - 1)) + 1 - size, 0);
        return (total / 2, total - (total / 2));
    }

    /// <summary>The padding of a channels-first batch x for a window: none for "valid" (or a non-image input), <see cref="Same"/> on both axes for "same".</summary>
    public static Padding2d PaddingFor(string padding, Tensor x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) dilation)
    {
        if (padding != "same" || x.Rank != 4)
        {
            return (0, 0);
        }

        var (top, bottom) = Same(x.ShapeRef[2], kernel.H, stride.H, dilation.H);
        var (left, right) = Same(x.ShapeRef[3], kernel.W, stride.W, dilation.W);
        return new Padding2d(top, bottom, left, right);
    }

    public static string CheckPadding(string padding) => padding.ToLowerInvariant() is "valid" or "same"
        ? padding.ToLowerInvariant()
        : throw new ArgumentException($"Unknown padding '{padding}'; use \"valid\" or \"same\".");
}
