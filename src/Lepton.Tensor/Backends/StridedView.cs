// A window on a buffer: offset, shape and strides in elements. Broadcast dims have stride 0.
// Backends read inputs through views so that transposes and broadcasts need no copy.
namespace Lepton.Backends;

/// <summary>An element window on a <see cref="DeviceBuffer"/>: offset, shape and strides in elements.</summary>
public readonly struct StridedView
{
    /// <summary>Creates a view.</summary>
    public StridedView(DeviceBuffer buffer, int offset, int[] shape, int[] strides)
    {
        Buffer = buffer;
        Offset = offset;
        Shape = shape;
        Strides = strides;
    }

    /// <summary>The buffer viewed.</summary>
    public DeviceBuffer Buffer { get; }

    /// <summary>Element offset of index (0, ..., 0).</summary>
    public int Offset { get; }

    /// <summary>Extent of each dimension.</summary>
    public int[] Shape { get; }

    /// <summary>Element step of each dimension (0 where broadcast).</summary>
    public int[] Strides { get; }

    /// <summary>True when the view is dense row-major.</summary>
    public bool IsContiguous => Shapes.IsContiguous(Shape, Strides);

    /// <summary>A dense row-major view of a whole buffer.</summary>
    public static StridedView Dense(DeviceBuffer buffer, int[] shape) =>
        new(buffer, 0, shape, Shapes.ContiguousStrides(shape));
}
