// Import: files exported by PyTorch match PyTorch's saved outputs; hand-built graphs of every supported
// operator match ONNX Runtime on the same file; an imported model trains, saves to .lepton and exports
// again; bad files give errors naming the file, the node and the problem.
using System.Text.Json;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Onnx.Proto;
using static Lepton.Tests.Onnx.OnnxGraphs;

namespace Lepton.Tests.Onnx;

public sealed class OnnxImportTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-onnx-import-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    internal static string PyTorchFile(string name) => Path.Combine(AppContext.BaseDirectory, "onnx", name + ".onnx");

    internal static (Tensor Input, float[] Output) PyTorchCase(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "onnx", name + ".json")));
        var root = json.RootElement;
        int[] shape = [.. root.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32())];
        float[] input = [.. root.GetProperty("input").EnumerateArray().Select(e => e.GetSingle())];
        float[] output = [.. root.GetProperty("output").EnumerateArray().Select(e => e.GetSingle())];
        return (Tensor.FromArray(input, shape), output);
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("recurrent")]
    [InlineData("resnet")]
    [InlineData("mnist_cnn")]
    public void PyTorchExportsMatchPyTorchOutputs(string name)
    {
        var model = Model.LoadOnnx(PyTorchFile(name));
        var (x, expected) = PyTorchCase(name);
        OnnxRuntimeCheck.Close(expected, model.Predict(x).ToArray(), 1e-5f, name);
    }

    [Fact]
    public void ImportedResNetTrainsSavesAndExportsAgain()
    {
        var model = Model.LoadOnnx(PyTorchFile("resnet"));
        Assert.Contains(model.Layers, l => l is Add);
        Assert.Contains(model.Layers, l => l is BatchNormalization);
        Assert.NotEmpty(model.TrainableWeights);
        var summary = new StringWriter();
        model.Output = summary;
        model.Summary();
        Assert.Contains("(Conv2D)", summary.ToString());
        Assert.Contains(model.Layers, l => l.Name == "block2/conv1/Conv");

        var x = Tensor.RandN([8, 3, 16, 16], new Generator(1));
        var y = Tensor.FromArray(new[] { 0, 1, 2, 3, 4, 0, 1, 2 }, [8]);
        model.Compile(new Adam(1e-2f), new SparseCategoricalCrossentropy(fromLogits: true));
        double first = model.Fit(x, y, epochs: 1, batchSize: 8, verbose: 0)["loss"][0];
        double last = model.Fit(x, y, epochs: 5, batchSize: 8, verbose: 0)["loss"][^1];
        Assert.True(last < first, $"loss went from {first} to {last}");

        string saved = Path.Combine(folder, "resnet.lepton");
        model.Save(saved);
        var loaded = Model.Load(saved);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        OnnxRuntimeCheck.ExportAndCompare(loaded, x, folder);
    }

    [Fact]
    public void OurExportImportsBackToTheSameOutputs()
    {
        var input = Keras.Input([2, 8, 8]);
        var a = new Conv2D(4, 3, padding: "same", activation: "relu", seed: 1).Apply(input);
        var b = new BatchNormalization().Apply(new Conv2D(4, 3, strides: 2, padding: "same", seed: 2).Apply(a));
        var c = new Concatenate().Apply(new MaxPooling2D(2).Apply(a), b);
        var output = new Dense(3, activation: "softmax", seed: 3).Apply(new Flatten().Apply(new AveragePooling2D(2, padding: "same").Apply(c)));
        var model = new Model(input, output, name: "round_trip");
        OnnxExportTests.RandomizeBatchNorms(model, 5);
        string path = Path.Combine(folder, "round_trip.onnx");
        model.ExportOnnx(path);

        var imported = Model.LoadOnnx(path);
        var x = Tensor.RandN([2, 2, 8, 8], new Generator(6));
        OnnxRuntimeCheck.Close(model.Predict(x).ToArray(), imported.Predict(x).ToArray(), 1e-6f);
    }

    [Fact]
    public void DenseAndArithmeticOperatorsMatchOnnxRuntime()
    {
        var proto = Graph([6],
        [
            Node("Gemm", ["x", "w1", "c1"], "g", Int("transB", 1), Float("alpha", 0.5f), Float("beta", 2f)),
            Node("Relu", ["g"], "r"),
            Node("MatMul", ["r", "w2"], "m"),
            Node("Add", ["m", "b2"], "a"),
            Node("Sub", ["one", "a"], "s"),
            Node("Mul", ["s", "a"], "p"),
            Node("Div", ["p", "two"], "d"),
            Node("Clip", ["d", "lo", ""], "c"),
            Node("LeakyRelu", ["c"], "l", Float("alpha", 0.3f)),
            Node("LogSoftmax", ["l"], "y", Int("axis", -1)),
        ],
        [
            Floats("w1", [5, 6], 1), Floats("c1", [1, 5], 2), Floats("w2", [5, 4], 3), Floats("b2", [4], 4),
            Floats("one", [], 5, 1f, 1.0001f), Floats("two", [1, 4], 6, 1.5f, 2.5f), Floats("lo", [], 7, -0.5f, -0.4f),
        ]);
        var model = CompareWithOnnxRuntime(proto, "arithmetic", [3, 6]);
        Assert.Contains(model.Layers, l => l is Arithmetic { Constant: not null });
        Assert.Contains(model.Layers, l => l is Clip);

        // The layers import creates save to .lepton and load back with the same outputs.
        string saved = Path.Combine(folder, "arithmetic.lepton");
        model.Save(saved);
        var x = Tensor.RandN([3, 6], new Generator(8));
        Assert.Equal(model.Predict(x).ToArray(), Model.Load(saved).Predict(x).ToArray());
    }

    [Fact]
    public void ConvolutionPoolingAndShapeOperatorsMatchOnnxRuntime()
    {
        var proto = Graph([3, 7, 6],
        [
            Node("Conv", ["x", "w", "b"], "conv", Ints("pads", 0, 1, 2, 0), Ints("strides", 1, 1), Int("group", 1)),
            Node("BatchNormalization", ["conv", "scale", "bias", "mean", "var"], "bn", Float("epsilon", 1e-3f)),
            Node("Sigmoid", ["bn"], "sig"),
            Node("Pad", ["sig", "pads"], "padded"),
            Node("MaxPool", ["padded"], "max", Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Ints("pads", 0, 0, 0, 1)),
            Node("AveragePool", ["padded"], "avg", Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 0, 1, 1, 1), Int("count_include_pad", 0)),
            Node("Concat", ["max", "avg"], "cat", Int("axis", 1)),
            Node("Dropout", ["cat"], "drop"),
            Node("Identity", ["drop"], "same"),
            Node("Transpose", ["same"], "hwc", Ints("perm", 0, 2, 3, 1)),
            Node("Shape", ["hwc"], "shape"),
            Node("Constant", [], "zero", new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Lepton.Onnx.OnnxTensors.FromInt64s("z", [0], []) }),
            Node("Gather", ["shape", "zero"], "n"),
            Node("Unsqueeze", ["n", "axis0"], "n1"),
            Node("Concat", ["n1", "minus1"], "target", Int("axis", 0)),
            Node("Reshape", ["hwc", "target"], "flat"),
            Node("Gemm", ["flat", "w2"], "logits"),
            Node("Unsqueeze", ["logits", "axis2"], "logits3"),
            Node("Tanh", ["logits3"], "t"),
            Node("Softmax", ["t"], "soft", Int("axis", 1)),
            Node("Flatten", ["soft"], "y", Int("axis", 1)),
        ],
        [
            Floats("w", [4, 3, 3, 2], 1), Floats("b", [4], 2), Floats("scale", [4], 3, 0.5f, 1.5f), Floats("bias", [4], 4),
            Floats("mean", [4], 5), Floats("var", [4], 6, 0.5f, 1.5f), OnnxGraphs.Int64s("pads", 0, 0, 1, 0, 0, 0, 0, 1),
            OnnxGraphs.Int64s("axis0", 0), OnnxGraphs.Int64s("minus1", -1), OnnxGraphs.Int64s("axis2", 2), Floats("w2", [128, 5], 7),
        ]);
        var model = CompareWithOnnxRuntime(proto, "conv_shapes", [2, 3, 7, 6]);
        Assert.Contains(model.Layers, l => l is ZeroPadding2D);
        Assert.Contains(model.Layers, l => l is Permute);
        string saved = Path.Combine(folder, "conv_shapes.lepton");
        model.Save(saved);
        var x = Tensor.RandN([2, 3, 7, 6], new Generator(8));
        Assert.Equal(model.Predict(x).ToArray(), Model.Load(saved).Predict(x).ToArray());
    }

    [Theory]
    [InlineData(13)]
    [InlineData(15)]
    [InlineData(18)]
    [InlineData(21)]
    public void EachOpsetImports(int opset)
    {
        var model = new Sequential([
            new InputLayer([2, 6, 6]), new Conv2D(3, 3, padding: "same", seed: 1), new BatchNormalization(), new ReLU(),
            new ZeroPadding2D(1), new MaxPooling2D(2), new Reshape([3, -1]), new Permute([2, 1]), new Flatten(), new Dense(2, activation: "softmax", seed: 2),
        ], name: $"opset_{opset}");
        OnnxExportTests.RandomizeBatchNorms(model, 3);
        string path = Path.Combine(folder, $"opset_{opset}.onnx");
        model.ExportOnnx(path, opset);
        var x = Tensor.RandN([2, 2, 6, 6], new Generator(4));
        OnnxRuntimeCheck.Close(model.Predict(x).ToArray(), Model.LoadOnnx(path).Predict(x).ToArray(), 1e-6f);
    }

    [Fact]
    public void OurRecurrentExportImportsBack()
    {
        var input = Keras.Input([5, 3]);
        var sequence = new GRU(4, returnSequences: true, resetAfter: false, seed: 2).Apply(new LSTM(3, returnSequences: true, seed: 1).Apply(input));
        var last = new SimpleRNN(2, activation: "relu", seed: 3).Apply(sequence);
        var output = new Concatenate().Apply(last, new Flatten().Apply(new Cropping1D((1, 2)).Apply(sequence)));
        var model = new Model(input, output, name: "recurrent_round_trip");
        foreach (var w in model.Weights.Where(w => w.Name.EndsWith("bias", StringComparison.Ordinal)))
        {
            using var values = Tensor.Uniform(w.Shape, -0.5f, 0.5f, new Generator(4));
            w.Assign(values);
        }

        var x = Tensor.RandN([2, 5, 3], new Generator(5));
        string path = OnnxRuntimeCheck.ExportAndCompare(model, x, folder);
        var imported = Model.LoadOnnx(path);
        OnnxRuntimeCheck.Close(model.Predict(x).ToArray(), imported.Predict(x).ToArray(), 1e-5f);
    }

    [Fact]
    public void SequenceConvolutionWithExplicitPaddingMatchesOnnxRuntime()
    {
        var proto = Graph([3, 9],
        [
            Node("Conv", ["x", "w", "b"], "conv", Ints("pads", 2, 1), Ints("strides", 2), Ints("dilations", 2)),
            Node("Pad", ["conv", "pads"], "padded"),
            Node("Relu", ["padded"], "relu"),
            Node("Flatten", ["relu"], "y"),
        ],
        [Floats("w", [4, 3, 2], 1), Floats("b", [4], 2), OnnxGraphs.Int64s("pads", 0, 0, 1, 0, 0, 2)]);
        var model = CompareWithOnnxRuntime(proto, "sequence_pads", [2, 3, 9]);
        Assert.Equal(2, model.Layers.Count(l => l is ZeroPadding1D));
    }

    [Theory]
    [InlineData(17)]
    [InlineData(18)]
    public void MeansSqueezesAndCastsMatchOnnxRuntime(int opset)
    {
        var meanNode = opset >= 18
            ? Node("ReduceMean", ["c", "spatial"], "mean", Int("keepdims", 1))
            : Node("ReduceMean", ["c"], "mean", Ints("axes", -2, -1), Int("keepdims", 1));
        var proto = Graph([3, 4, 5],
        [
            Node("Cast", ["x"], "c", Int("to", 1)),
            meanNode,
            Node("Squeeze", ["mean", "squeeze_axes"], "flat"),
            Node("Cast", ["shape_f"], "shape", Int("to", 7)),
            Node("Reshape", ["c", "shape"], "rows"),
            opset >= 18 ? Node("ReduceMean", ["rows"], "row_mean", Int("keepdims", 0)) : Node("ReduceMean", ["rows"], "row_mean", Int("keepdims", 0), Ints("axes", 2)),
            Node("Concat", ["flat", "row_mean"], "both", Int("axis", 1)),
            Node("Gemm", ["both", "w"], "y"),
        ],
        [OnnxGraphs.Int64s("spatial", 2, 3), OnnxGraphs.Int64s("squeeze_axes", 2, 3), Floats("shape_f", [3], 1, 0f, 0f), Floats("w", [9, 2], 2)],
        opset);
        proto.Graph.Initializer[2] = Lepton.Onnx.OnnxTensors.FromFloats("shape_f", [0f, 6f, 10f], [3]);
        if (opset >= 18)
        {
            proto.Graph.Node[5].Input.Add("last_axis");
            proto.Graph.Initializer.Add(OnnxGraphs.Int64s("last_axis", 2));
        }

        CompareWithOnnxRuntime(proto, $"means_{opset}", [2, 3, 4, 5]);
    }

    [Fact]
    public void UnsupportedOperatorsAreListedTogether()
    {
        var proto = Graph([4], [Node("Relu", ["x"], "r"), Node("Erf", ["r"], "e"), Node("Resize", ["e"], "y")]);
        string path = Save(proto, folder, "unsupported");
        var e = Assert.Throws<NotSupportedException>(() => Model.LoadOnnx(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("Erf (node 'e_node', opset 17)", e.Message);
        Assert.Contains("Resize (node 'y_node', opset 17)", e.Message);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(22)]
    public void OpsetOutsideTheRangeIsNamed(int opset)
    {
        string path = Save(Graph([4], [Node("Relu", ["x"], "y")], opset: opset), folder, "opset");
        var e = Assert.Throws<NotSupportedException>(() => Model.LoadOnnx(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"opset {opset}", e.Message);
    }

    [Fact]
    public void TruncatedAndCorruptFilesAreReportedWithTheirName()
    {
        byte[] bytes = File.ReadAllBytes(PyTorchFile("resnet"));
        string truncated = Path.Combine(folder, "truncated.onnx");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(truncated));
        Assert.Contains(truncated, e.Message);

        string garbage = Path.Combine(folder, "garbage.onnx");
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 300).Select(i => (byte)((i * 37) + 11))]);
        e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(garbage));
        Assert.Contains(garbage, e.Message);
    }

    [Fact]
    public void CyclesAreReportedWithTheirNodes()
    {
        string path = Save(Graph([4], [Node("Add", ["x", "b"], "a"), Node("Relu", ["a"], "b"), Node("Relu", ["b"], "y")]), folder, "cycle");
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(path));
        Assert.Contains("cycle", e.Message);
        Assert.Contains("'a_node' (Add)", e.Message);
    }

    [Fact]
    public void MissingInitializerNamesTheNodeAndTheInput()
    {
        string path = Save(Graph([3, 5, 5], [Node("Conv", ["x", "weight"], "y")]), folder, "missing");
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(path));
        Assert.Contains("node 'y_node' (Conv)", e.Message);
        Assert.Contains("'weight'", e.Message);
        Assert.Contains("missing initializer", e.Message);
    }

    [Fact]
    public void WeightShapeThatDoesNotFitTheInputIsReported()
    {
        string path = Save(Graph([3, 5, 5], [Node("Conv", ["x", "w"], "y")], [Floats("w", [2, 4, 3, 3], 1)]), folder, "mismatch");
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("node 'y_node' (Conv, opset 17)", e.Message);
        Assert.Contains("expects 4 input channels, but the input has 3", e.Message);

        string gemm = Save(Graph([6], [Node("Gemm", ["x", "w"], "y", Int("transB", 1))], [Floats("w", [4, 5], 1)]), folder, "gemm");
        e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(gemm));
        Assert.Contains("takes 5 features, but the input has 6", e.Message);
    }

    [Fact]
    public void InitializerWithTooFewBytesIsReported()
    {
        var w = Floats("w", [2, 3], 1);
        w.RawData = Google.Protobuf.ByteString.CopyFrom(w.RawData.Span[..20]);
        string path = Save(Graph([3], [Node("MatMul", ["x", "w"], "y")], [w]), folder, "short");
        var e = Assert.Throws<InvalidDataException>(() => Model.LoadOnnx(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("initializer 'w'", e.Message);
    }

    private Model CompareWithOnnxRuntime(ModelProto proto, string name, int[] inputShape)
    {
        string path = Save(proto, folder, name);
        var model = Model.LoadOnnx(path);
        var x = Tensor.RandN(inputShape, new Generator(42));
        OnnxRuntimeCheck.Close(OnnxRuntimeCheck.Run(path, x), model.Predict(x).ToArray(), 1e-5f, name);
        return model;
    }
}
