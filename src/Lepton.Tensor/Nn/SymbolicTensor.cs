// The functional API's placeholder: a shape (without the batch dimension) and the layer call that
// produces it. Calling layers on symbolic tensors records a graph that Model(inputs, outputs) runs.
namespace Lepton.Nn;

/// <summary>A placeholder in a functional model graph (Keras's KerasTensor).</summary>
/// <example><code>
/// var input = Keras.Input([1, 28, 28]);
/// var x = new Conv2D(32, 3, activation: "relu").Apply(input);
/// var output = new Dense(10).Apply(new Flatten().Apply(x));
/// var model = new Model(input, output);
/// </code></example>
public sealed class SymbolicTensor
{
    internal SymbolicTensor(int[] shape, Layer? layer, SymbolicTensor[] inputs, DType dtype = DType.Float32)
    {
        Shape = shape;
        Layer = layer;
        Inputs = inputs;
        DType = dtype;
    }

    /// <summary>The shape of one example (no batch dimension).</summary>
    public int[] Shape { get; }

    /// <summary>The element type (int32 for token ids feeding an Embedding).</summary>
    public DType DType { get; }

    /// <summary>The layer whose call produced this tensor; null for a model input.</summary>
    public Layer? Layer { get; }

    /// <summary>The tensors that layer was called on.</summary>
    public IReadOnlyList<SymbolicTensor> Inputs { get; }

    /// <inheritdoc />
    public override string ToString() => $"SymbolicTensor(shape=(None, {string.Join(", ", Shape)}), layer={Layer?.Name ?? "input"})";
}

/// <summary>Keras-style entry points of the functional API.</summary>
public static class Keras
{
    /// <summary>A model input of the given shape (without the batch dimension) and element type.</summary>
    /// <example><code>var input = Keras.Input([3, 32, 32]); var tokens = Keras.Input([20], DType.Int32);</code></example>
    public static SymbolicTensor Input(int[] shape, DType dtype = DType.Float32) => new((int[])shape.Clone(), null, [], dtype);
}
