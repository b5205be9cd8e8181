// Spatial padding for conv and pooling ops: symmetric from an (h, w) tuple, or any amount per side
// (top, bottom, left, right), as ONNX's pads and TensorFlow-style "same" padding need.
namespace Lepton;

/// <summary>Zero padding of the two spatial dimensions, per side; (h, w) converts to symmetric padding.</summary>
/// <param name="Top">Rows added above the input.</param>
/// <param name="Bottom">Rows added below the input.</param>
/// <param name="Left">Columns added left of the input.</param>
/// <param name="Right">Columns added right of the input.</param>
/// <example><code>x.Conv2d(w, padding: (1, 1)); x.Conv2d(w, padding: new Padding2d(Top: 0, Bottom: 2, Left: 1, Right: 0));</code></example>
public readonly record struct Padding2d(int Top, int Bottom, int Left, int Right)
{
    /// <summary>Symmetric padding: h rows above and below, w columns left and right.</summary>
    /// <param name="padding">Rows (H) and columns (W) added on each side.</param>
    public static implicit operator Padding2d((int H, int W) padding) => new(padding.H, padding.H, padding.W, padding.W);

    internal bool IsValid => Top >= 0 && Bottom >= 0 && Left >= 0 && Right >= 0;

    /// <inheritdoc />
    public override string ToString() => Top == Bottom && Left == Right ? $"({Top}, {Left})" : $"(top {Top}, bottom {Bottom}, left {Left}, right {Right})";
}
