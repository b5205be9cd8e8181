// Records the layer calls one Forward of a subclassed model makes (which layer, on which tensors, giving
// which tensor), so code that composes layers can be turned into a graph: ONNX export traces subclassed
// models this way. Only the calls made directly by the traced model are recorded, not those inside them.
namespace Lepton.Nn;

/// <summary>The layer calls of one traced Forward, on this thread.</summary>
internal sealed class LayerTrace : IDisposable
{
    [ThreadStatic]
    private static LayerTrace? current;

    private readonly LayerTrace? outer;

    private LayerTrace()
    {
        outer = current;
        current = this;
    }

    /// <summary>The trace recording on this thread, if any.</summary>
    public static LayerTrace? Current => current;

    /// <summary>The calls the traced model made, in order.</summary>
    public List<(Layer Layer, Tensor[] Inputs, Tensor Output)> Calls { get; } = [];

    /// <summary>How deep the current call is: 0 outside, 1 inside the traced model's own call, 2 inside a layer it called.</summary>
    public int Depth { get; set; }

    /// <summary>Starts recording; dispose to stop.</summary>
    public static LayerTrace Begin() => new();

    /// <inheritdoc />
    public void Dispose() => current = outer;
}
