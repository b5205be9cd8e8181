// Spatial padding for conv and pooling ops: symmetric from an (h, w) tuple, or TensorFlow-style
// "same" padding with one extra row/column at the bottom/right.
namespace Lepton;

/// <summary>Zero padding of the two spatial dimensions; (h, w) converts to symmetric padding.</summary>
/// <example><code>x.Conv2d(w, padding: (1, 1)); x.Conv2d(w, padding: new Padding2d(0, 1, 0, 1));</code></example>
public readonly record struct Padding2d(int Top, int Bottom, int Left, int Right)
{
    /// <summary>Symmetric padding: h rows above and below, w columns left and right.</summary>
    public static implicit operator Padding2d((int H, int W) padding) => new(padding.H, padding.H, padding.W, padding.W);

    internal bool IsValid => Top >= 0 && Left >= 0 && Bottom >= Top && Right >= Left && Bottom - Top <= 1 && Right - Left <= 1;

    /// <inheritdoc />
    public override string ToString() => Top == Bottom && Left == Right ? $"({Top}, {Left})" : $"(top {Top}, bottom {Bottom}, left {Left}, right {Right})";
}
