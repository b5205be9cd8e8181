// A box of floats with per-element bounds, Gymnasium's Box(low, high, shape); infinite bounds are
// allowed (CartPole's velocities). Observations are checked against its shape.
using System.Globalization;

namespace Lepton.Rl;

/// <summary>Float arrays of a fixed shape whose elements lie in [Low[i], High[i]].</summary>
/// <example><code>var box = new Box([-1f, -1f], [1f, 1f], [2]);</code></example>
public sealed class Box : Space
{
    private readonly int[] shape;

    /// <summary>Creates the box.</summary>
    /// <param name="low">The lower bound of each element (flattened, row-major); may be negative infinity.</param>
    /// <param name="high">The upper bound of each element; may be positive infinity, never below <paramref name="low"/>.</param>
    /// <param name="shape">The shape of one element; its product must equal the length of the bounds.</param>
    public Box(float[] low, float[] high, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        ArgumentNullException.ThrowIfNull(shape);
        this.shape = (int[])shape.Clone();
        if (low.Length != Size || high.Length != Size)
        {
            throw new ArgumentException($"Box: shape {Shapes.Format(shape)} holds {Size} elements, but low has {low.Length} and high {high.Length}.");
        }

        for (int i = 0; i < low.Length; i++)
        {
            if (float.IsNaN(low[i]) || float.IsNaN(high[i]) || low[i] > high[i])
            {
                throw new ArgumentException($"Box: bound {i} is [{low[i]}, {high[i]}]; low must be at most high and neither NaN.");
            }
        }

        Low = (float[])low.Clone();
        High = (float[])high.Clone();
    }

    /// <summary>The lower bounds, flattened.</summary>
    public IReadOnlyList<float> Low { get; }

    /// <summary>The upper bounds, flattened.</summary>
    public IReadOnlyList<float> High { get; }

    /// <inheritdoc />
    public override int[] Shape => (int[])shape.Clone();

    /// <summary>Whether <paramref name="value"/> has the box's size and lies within its bounds.</summary>
    /// <param name="value">The flattened element to check.</param>
    /// <example><code>bool inside = box.Contains([0f, 0.5f]);</code></example>
    public bool Contains(ReadOnlySpan<float> value)
    {
        if (value.Length != Size)
        {
            return false;
        }

        for (int i = 0; i < value.Length; i++)
        {
            if (!(value[i] >= Low[i] && value[i] <= High[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"Box({Bound(Low)}, {Bound(High)}, {Shapes.Format(shape)})";

    private static string Bound(IReadOnlyList<float> values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture))) + "]";
}
