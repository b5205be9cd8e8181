// ONNX export and import of models, and what transfer learning reaches for next: a layer by name and
// a layer's symbolic output to build a new model on. The ONNX work is done in Lepton.Onnx.
using Google.Protobuf;
using Lepton.IO;
using Lepton.Onnx;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>
    /// Writes the model as an ONNX file (weights as initializers) that ONNX Runtime and other tools run. Sequential and
    /// functional models export, nested ones included; a subclassed model exports by tracing the layer calls of one
    /// Forward, so its Forward must compute with layers only (Add, Arithmetic, Activation... rather than tensor
    /// operators). The write is atomic: a failed export leaves an existing file as it was.
    /// </summary>
    /// <param name="path">The <c>.onnx</c> file to create or replace.</param>
    /// <param name="opset">The ONNX operator set to target, 13 to 21.</param>
    /// <param name="dynamicBatch">Whether the batch dimension is symbolic ("batch"); when false it is fixed at 1.</param>
    /// <example><code>model.ExportOnnx("classifier.onnx"); // then: new InferenceSession("classifier.onnx") in ONNX Runtime</code></example>
    /// <exception cref="NotSupportedException">A layer has no ONNX form; the message lists every such layer.</exception>
    public void ExportOnnx(string path, int opset = 17, bool dynamicBatch = true)
    {
        var proto = OnnxExporter.Build(this, opset, dynamicBatch);
        AtomicFile.Write(path, stream => proto.WriteTo(stream));
    }

    /// <summary>
    /// Builds a functional model from an ONNX file (opsets 13 to 21): each supported operator becomes a layer, named
    /// after its node, and the initializers become its weights, trainable as any other. The model trains, saves to
    /// <c>.lepton</c> and exports again.
    /// </summary>
    /// <param name="path">The <c>.onnx</c> file.</param>
    /// <param name="device">Where the weights are created (default: <see cref="Device.Default"/>).</param>
    /// <example><code>
    /// var backbone = Model.LoadOnnx("resnet.onnx");
    /// var features = backbone.GetLayer("/layer4/relu").Output;
    /// </code></example>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is damaged or its graph is invalid; the message names the file, the node and the problem.</exception>
    /// <exception cref="NotSupportedException">The graph uses operators we do not import; the message lists every such node with its operator and opset.</exception>
    public static Model LoadOnnx(string path, Device? device = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"ONNX file '{path}' does not exist.", path);
        }

        return OnnxImporter.Load(path, device ?? Device.Default);
    }

    /// <summary>The layer with this name (Keras's get_layer), searching nested models too.</summary>
    /// <param name="name">The layer's name.</param>
    /// <example><code>model.GetLayer("conv2d").Trainable = false;</code></example>
    /// <exception cref="ArgumentException">No layer has that name; the message lists the names there are.</exception>
    public Layer GetLayer(string name) => FindLayer(name)
        ?? throw new ArgumentException($"{Name}: no layer is named '{name}'; the layers are {string.Join(", ", Layers.Select(l => l.Name))}.", nameof(name));

    /// <summary>The layer at <paramref name="index"/> in <see cref="Layers"/> (Keras's get_layer(index=...)).</summary>
    /// <param name="index">The position, from 0.</param>
    /// <example><code>var last = model.GetLayer(model.Layers.Count - 1);</code></example>
    public Layer GetLayer(int index) => index >= 0 && index < Layers.Count
        ? Layers[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name}: the model has {Layers.Count} layers.");

    /// <summary>
    /// The symbolic tensor a functional model's layer produced (its first call), to build a new model on part of this one,
    /// e.g. a headless backbone: <c>new Model(model.GraphInput(), model.LayerOutput("features"))</c>.
    /// </summary>
    /// <param name="name">The layer's name.</param>
    /// <example><code>
    /// var features = imported.LayerOutput("flatten");
    /// var head = new Dense(5).Apply(features);
    /// var transfer = new Model(imported.Input, head);
    /// </code></example>
    public SymbolicTensor LayerOutput(string name)
    {
        var layer = GetLayer(name);
        return GraphOrder?.FirstOrDefault(n => ReferenceEquals(n.Layer, layer))
            ?? throw new InvalidOperationException($"{Name}: LayerOutput needs a functional model whose graph calls '{name}' (use Model.LoadOnnx or Model(inputs, outputs)).");
    }

    /// <summary>The functional model's (first) input placeholder, to build new models on its layers.</summary>
    /// <example><code>var headless = new Model(backbone.Input, backbone.LayerOutput("pool"));</code></example>
    public SymbolicTensor Input => GraphInputs is { Count: > 0 } inputs
        ? inputs[0]
        : throw new InvalidOperationException($"{Name}: only functional models have symbolic inputs.");

    private Layer? FindLayer(string name)
    {
        foreach (var layer in Layers)
        {
            if (layer.Name == name)
            {
                return layer;
            }

            if (layer is Model nested && nested.FindLayer(name) is { } found)
            {
                return found;
            }
        }

        return null;
    }
}
