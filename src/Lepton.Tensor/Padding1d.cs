// Padding of the one spatial dimension of 1-D conv and pooling ops: symmetric from an int, or any
// amount per side from a (left, right) tuple, as ONNX's pads allow.
namespace Lepton;

/// <summary>Zero padding of a sequence's length, per side; an int converts to symmetric padding.</summary>
/// <param name="Left">Positions added before the sequence.</param>
/// <param name="Right">Positions added after it.</param>
/// <example><code>x.Conv1d(w, padding: 1); x.Conv1d(w, padding: (0, 2));</code></example>
public readonly record struct Padding1d(int Left, int Right)
{
    /// <summary>Symmetric padding: the same amount on both sides.</summary>
    /// <param name="padding">Positions added on each side.</param>
    public static implicit operator Padding1d(int padding) => new(padding, padding);

    /// <summary>Padding per side.</summary>
    /// <param name="padding">Positions added before (Left) and after (Right) the sequence.</param>
    public static implicit operator Padding1d((int Left, int Right) padding) => new(padding.Left, padding.Right);

    /// <summary>The same padding on the width of an image one row high.</summary>
    internal Padding2d As2d => new(0, 0, Left, Right);

    /// <inheritdoc />
    public override string ToString() => Left == Right ? $"{Left}" : $"(left {Left}, right {Right})";
}
