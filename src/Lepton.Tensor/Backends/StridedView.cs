// A window on a buffer: offset, shape and strides in elements of the view's size. Broadcast dims have stride 0.
// Backends read inputs through views so that transposes and broadcasts need no copy.
namespace Lepton.Backends;

/// <summary>An element window on a <see cref="DeviceBuffer"/>: offset, shape and strides in elements.</summary>
public readonly struct StridedView
{
    /// <summary>Creates a view.</summary>
    /// <param name="buffer">The buffer viewed.</param>
    /// <param name="offset">Element offset of index (0, ..., 0).</param>
    /// <param name="shape">Extent of each dimension.</param>
    /// <param name="strides">Element step of each dimension (0 where broadcast).</param>
    /// <param name="elementSize">Bytes per element: 4 for float32 (the default), 1, 2 or 8 for other types.</param>
    public StridedView(DeviceBuffer buffer, int offset, int[] shape, int[] strides, int elementSize = 4)
    {
        Buffer = buffer;
        Offset = offset;
        Shape = shape;
        Strides = strides;
        ElementSize = elementSize;
    }

    /// <summary>The buffer viewed.</summary>
    public DeviceBuffer Buffer { get; }

    /// <summary>Element offset of index (0, ..., 0).</summary>
    public int Offset { get; }

    /// <summary>Extent of each dimension.</summary>
    public int[] Shape { get; }

    /// <summary>Element step of each dimension (0 where broadcast).</summary>
    public int[] Strides { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementSize { get; }

    /// <summary>True when the view is dense row-major.</summary>
    public bool IsContiguous => Shapes.IsContiguous(Shape, Strides);

    /// <summary>The same window on another buffer (a captured step's calls moved to other memory).</summary>
    /// <param name="buffer">The buffer viewed instead.</param>
    internal StridedView On(DeviceBuffer buffer) => new(buffer, Offset, Shape, Strides, ElementSize);

    /// <summary>A dense row-major view of a whole buffer.</summary>
    /// <param name="buffer">The buffer viewed.</param>
    /// <param name="shape">Extent of each dimension.</param>
    /// <param name="elementSize">Bytes per element.</param>
    public static StridedView Dense(DeviceBuffer buffer, int[] shape, int elementSize = 4) =>
        new(buffer, 0, shape, Shapes.ContiguousStrides(shape), elementSize);
}
