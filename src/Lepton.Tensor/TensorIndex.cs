// One entry of a tensor indexer: an integer (selects and drops the dimension) or a range (slices
// it). Implicit conversions let users write x[0, .., 1..3] as in NumPy.
namespace Lepton;

/// <summary>An integer or a range used in <c>tensor[...]</c>.</summary>
/// <example><code>var firstRow = x[0]; var block = x[.., 1..3]; var last = x[^1];</code></example>
public readonly struct TensorIndex
{
    private TensorIndex(Index? index, Range? range)
    {
        Index = index;
        Range = range;
    }

    /// <summary>The integer index, when this entry selects.</summary>
    public Index? Index { get; }

    /// <summary>The range, when this entry slices.</summary>
    public Range? Range { get; }

    /// <summary>Selects one position (negative counts from the end).</summary>
    public static implicit operator TensorIndex(int index) => new(index < 0 ? System.Index.FromEnd(-index) : new Index(index), null);

    /// <summary>Selects one position.</summary>
    public static implicit operator TensorIndex(Index index) => new(index, null);

    /// <summary>Slices a range.</summary>
    public static implicit operator TensorIndex(Range range) => new(null, range);
}
