// Export: every layer type we have runs in ONNX Runtime and matches our outputs (1e-5 relative),
// Sequential, functional and nested models, opsets 13 to 21, a symbolic or fixed batch; layers without
// an ONNX form are listed together; a failed export keeps the previous file.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Onnx.Proto;

namespace Lepton.Tests.Onnx;

public sealed class OnnxExportTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-onnx-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    internal static Tensor Random(int[] shape, ulong seed) => Tensor.RandN(shape, new Generator(seed));

    /// <summary>Gives batch-norm layers non-trivial statistics and parameters, so inference form is really checked.</summary>
    internal static void RandomizeBatchNorms(Model model, ulong seed)
    {
        var generator = new Generator(seed);
        foreach (var bn in model.Layers.OfType<BatchNormalization>())
        {
            foreach (var w in bn.Weights)
            {
                using var values = Tensor.Uniform(w.Shape, 0.5f, 1.5f, generator);
                w.Assign(w.Name.EndsWith("mean", StringComparison.Ordinal) || w.Name.EndsWith("beta", StringComparison.Ordinal) ? values - 1f : values);
            }
        }
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("sigmoid")]
    [InlineData("tanh")]
    [InlineData("softmax")]
    [InlineData("log_softmax")]
    [InlineData("gelu")]
    [InlineData("softplus")]
    [InlineData("leaky_relu")]
    public void DenseWithEachActivationMatchesOnnxRuntime(string activation)
    {
        var model = new Sequential([new InputLayer([6]), new Dense(5, activation: activation, seed: 1), new Dense(3, seed: 2), new Activation(activation)], name: $"dense_{activation}");
        OnnxRuntimeCheck.ExportAndCompare(model, Random([4, 6], 3), folder);
    }

    [Theory]
    [InlineData("same", 1, 1, 1)]
    [InlineData("valid", 2, 1, 1)]
    [InlineData("same", 2, 1, 1)]
    [InlineData("same", 1, 2, 1)]
    [InlineData("valid", 1, 1, 2)]
    public void Conv2DPaddingStrideDilationGroupsMatchOnnxRuntime(string padding, int strides, int dilation, int groups)
    {
        var model = new Sequential([
            new InputLayer([4, 9, 8]),
            new Conv2D(6, (3, 2), (strides, strides), padding, (dilation, dilation), activation: "relu", groups: groups, seed: 1),
            new BatchNormalization(),
            new MaxPooling2D(2, padding: "same"),
            new Conv2D(4, 1, useBias: false, seed: 2),
            new AveragePooling2D(2, 1, padding: "same"),
            new Dropout(0.5f),
            new Flatten(),
            new Dense(3, seed: 3),
        ], name: $"conv_{padding}_{strides}_{dilation}_{groups}");
        RandomizeBatchNorms(model, 4);
        OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 4, 9, 8], 5), folder);
    }

    [Fact]
    public void ChannelsLastLayersMatchOnnxRuntime()
    {
        var model = new Sequential([
            new InputLayer([7, 6, 3]),
            new Conv2D(4, 3, padding: "same", dataFormat: DataFormat.ChannelsLast, seed: 1),
            new BatchNormalization(dataFormat: DataFormat.ChannelsLast),
            new MaxPooling2D(2, dataFormat: DataFormat.ChannelsLast),
            new ZeroPadding2D((1, 0, 2, 1), DataFormat.ChannelsLast),
            new AveragePooling2D(3, 1, dataFormat: DataFormat.ChannelsLast, explicitPadding: (1, 1, 0, 1), countIncludePad: true),
            new MaxPooling2D(3, 2, dataFormat: DataFormat.ChannelsLast, explicitPadding: (1, 0, 1, 1)),
            new GlobalAveragePooling2D(DataFormat.ChannelsLast),
        ], name: "channels_last");
        RandomizeBatchNorms(model, 2);
        OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 7, 6, 3], 3), folder);
    }

    [Fact]
    public void SequenceLayersMatchOnnxRuntime()
    {
        var model = new Sequential([
            new InputLayer([3, 11]),
            new Conv1D(5, 3, padding: "same", activation: "tanh", seed: 1),
            new MaxPooling1D(2),
            new Conv1D(4, 2, strides: 2, dilationRate: 1, seed: 2),
            new ZeroPadding1D((2, 1)),
            new Permute([2, 1]),
            new ZeroPadding1D((0, 3), DataFormat.ChannelsLast),
            new Conv1D(3, 2, dataFormat: DataFormat.ChannelsLast, seed: 3),
            new GlobalAveragePooling1D(DataFormat.ChannelsLast),
        ], name: "sequence");
        OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 3, 11], 3), folder);
    }

    [Fact]
    public void FunctionalMergesAndShapeLayersMatchOnnxRuntime()
    {
        var input = Keras.Input([2, 6, 6]);
        var x = new Conv2D(4, 3, padding: "same", activation: "relu", seed: 1).Apply(input);
        var y = new Conv2D(4, 3, padding: "same", seed: 2).Apply(x);
        var residual = new ReLU(0.1f).Apply(new Add().Apply(x, y));
        var both = new Concatenate().Apply(residual, new ZeroPadding2D(0).Apply(y));
        var scaled = new Arithmetic("multiply", [1, 8, 1, 1], name: "scale").Apply(both);
        var shifted = new Arithmetic("subtract", [1], constantFirst: true, name: "shift").Apply(scaled);
        var denominator = new Arithmetic("add", [8, 6, 6], name: "plus").Apply(new Clip(0f, 1f).Apply(both));
        var clipped = new Clip(-2f, 3f).Apply(new Arithmetic("divide").Apply(shifted, denominator));
        var permuted = new Permute([2, 3, 1]).Apply(clipped);
        var reshaped = new Reshape([36, -1]).Apply(permuted);
        var output = new Softmax(1).Apply(new Dense(3, seed: 3).Apply(reshaped));
        var model = new Model(input, output, name: "functional_merges");
        foreach (var layer in model.Layers.OfType<Arithmetic>().Where(l => l.Constant is not null))
        {
            using var values = Tensor.Uniform(layer.Constant!.Shape, 1f, 2f, new Generator(6));
            layer.Constant.Assign(values);
        }

        OnnxRuntimeCheck.ExportAndCompare(model, Random([3, 2, 6, 6], 7), folder);
    }

    [Fact]
    public void EmbeddingTakesInt32IdsInOnnxRuntime()
    {
        var model = new Sequential([new InputLayer([5], DType.Int32), new Embedding(10, 4), new Flatten(), new Dense(2, seed: 1)], name: "embedding");
        var ids = Tensor.FromArray(new[] { 1, 2, 3, 4, 5, 0, 9, 8, 7, 6 }, [2, 5]);
        OnnxRuntimeCheck.ExportAndCompare(model, ids, folder);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RecurrentLayersMatchOnnxRuntime(bool resetAfter)
    {
        var model = new Sequential([
            new InputLayer([5, 3]),
            new LSTM(4, returnSequences: true, useBias: true, seed: 1),
            new GRU(3, returnSequences: true, resetAfter: resetAfter, seed: 2),
            new SimpleRNN(4, activation: "relu", returnSequences: true, seed: 3),
            new LSTM(2, recurrentActivation: "tanh", seed: 4),
        ], name: $"recurrent_{resetAfter}");
        foreach (var w in model.Weights.Where(w => w.Name.EndsWith("bias", StringComparison.Ordinal)))
        {
            using var values = Tensor.Uniform(w.Shape, -0.5f, 0.5f, new Generator(5));
            w.Assign(values);
        }

        OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 5, 3], 6), folder);
    }

    [Theory]
    [InlineData("concat")]
    [InlineData("sum")]
    [InlineData("mul")]
    [InlineData("ave")]
    public void BidirectionalMatchesOnnxRuntime(string mergeMode)
    {
        var model = new Sequential([
            new InputLayer([6, 3]),
            new Bidirectional(new LSTM(3, returnSequences: true, seed: 1), mergeMode),
            new Bidirectional(new GRU(2, seed: 2), mergeMode),
            new Dense(2, seed: 3),
        ], name: $"bidirectional_{mergeMode}");
        OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 6, 3], 4), folder);
    }

    [Fact]
    public void TimeDistributedLayersMatchOnnxRuntime()
    {
        var model = new Sequential([
            new InputLayer([4, 2, 6, 6]),
            new TimeDistributed(new Conv2D(3, 3, strides: 2, padding: "same", activation: "relu", seed: 1)),
            new TimeDistributed(new Flatten()),
            new TimeDistributed(new Dense(5, activation: "tanh", seed: 2)),
            new GRU(3, seed: 3),
        ], name: "time_distributed");
        OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 4, 2, 6, 6], 4), folder);
    }

    [Fact]
    public void TwoInputModelExportsAndImportsBoth()
    {
        var image = Keras.Input([1, 5, 5]);
        var features = Keras.Input([3]);
        var merged = new Concatenate().Apply(new Flatten().Apply(new Conv2D(2, 3, seed: 1).Apply(image)), new Dense(4, seed: 2).Apply(features));
        var model = new Model([image, features], [new Dense(2, seed: 3).Apply(merged)], name: "two_inputs");
        var (a, b) = (Random([2, 1, 5, 5], 4), Random([2, 3], 5));
        string path = Path.Combine(folder, "two_inputs.onnx");
        model.ExportOnnx(path);

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
        Assert.Equal(["input_0", "input_1"], session.InputMetadata.Keys);
        using var results = session.Run(
        [
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input_0", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(a.ToArray(), a.Shape)),
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("input_1", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(b.ToArray(), b.Shape)),
        ]);
        float[] expected = model.Call([a, b]).ToArray();
        OnnxRuntimeCheck.Close(expected, [.. results.First().AsTensor<float>()]);
        OnnxRuntimeCheck.Close(expected, Model.LoadOnnx(path).Call([a, b]).ToArray(), 1e-6f);
    }

    [Fact]
    public void NestedSequentialInsideFunctionalExports()
    {
        var block = new Sequential([new Dense(4, activation: "relu", seed: 1), new Dense(4, seed: 2)], name: "block");
        var input = Keras.Input([4]);
        var output = new Dense(2, seed: 3).Apply(new Add().Apply(input, block.Apply(input)));
        OnnxRuntimeCheck.ExportAndCompare(new Model(input, output, name: "nested"), Random([3, 4], 4), folder);
    }

    [Fact]
    public void SubclassedModelExportsByTracingItsLayerCalls()
    {
        var model = new Residual();
        var x = Random([3, 2, 5, 5], 1);
        model.Predict(x);
        string path = OnnxRuntimeCheck.ExportAndCompare(model, x, folder);
        var imported = Model.LoadOnnx(path);
        OnnxRuntimeCheck.Close(model.Predict(x).ToArray(), imported.Predict(x).ToArray(), 1e-6f);
    }

    [Fact]
    public void SubclassedModelWithTensorOperatorsIsRefusedWithTheReason()
    {
        var model = new Untraceable();
        model.Predict(Random([2, 4], 1));
        var e = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(Path.Combine(folder, "x.onnx")));
        Assert.Contains("an input of 'traced_head'", e.Message);
        Assert.Contains("outside layers", e.Message);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(17)]
    [InlineData(21)]
    public void EachOpsetRunsInOnnxRuntime(int opset)
    {
        var model = new Sequential([new InputLayer([1, 6, 6]), new Conv2D(3, 3, activation: "gelu", seed: 1), new GlobalAveragePooling2D(), new Dense(2, activation: "softmax", seed: 2)], name: "opsets");
        string path = OnnxRuntimeCheck.ExportAndCompare(model, Random([2, 1, 6, 6], 3), folder, opset);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        Assert.Equal(opset, proto.OpsetImport.Single().Version);
    }

    [Fact]
    public void BatchIsSymbolicOrFixedAsAsked()
    {
        var model = new Sequential([new InputLayer([3]), new Dense(2, seed: 1)], name: "batch");
        string dynamicPath = Path.Combine(folder, "dynamic.onnx"), fixedPath = Path.Combine(folder, "fixed.onnx");
        model.ExportOnnx(dynamicPath);
        model.ExportOnnx(fixedPath, dynamicBatch: false);

        var dynamicInput = ModelProto.Parser.ParseFrom(File.ReadAllBytes(dynamicPath)).Graph.Input[0];
        Assert.Equal("batch", dynamicInput.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(3, dynamicInput.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal(1, ModelProto.Parser.ParseFrom(File.ReadAllBytes(fixedPath)).Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue);
        foreach (int batch in new[] { 1, 5 })
        {
            var x = Random([batch, 3], (ulong)batch);
            OnnxRuntimeCheck.Close(model.Predict(x).ToArray(), OnnxRuntimeCheck.Run(dynamicPath, x));
        }

        var one = Random([1, 3], 9);
        OnnxRuntimeCheck.Close(model.Predict(one).ToArray(), OnnxRuntimeCheck.Run(fixedPath, one));
    }

    [Fact]
    public void LayersWithoutAnOnnxFormAreListedTogether()
    {
        var model = new Sequential([
            new InputLayer([4, 3, 2]), new TimeDistributed(new LSTM(2, goBackwards: true), name: "td_b"),
            new LSTM(5, returnSequences: true, goBackwards: true, name: "lstm_a"), new Bidirectional(new GRU(2, activation: "gelu"), name: "bi_c"), new Dense(1),
        ]);
        var e = Assert.Throws<NotSupportedException>(() => model.ExportOnnx(Path.Combine(folder, "x.onnx")));
        Assert.Contains("'lstm_a' (LSTM)", e.Message);
        Assert.Contains("'td_b' (TimeDistributed)", e.Message);
        Assert.Contains("'bi_c' (Bidirectional)", e.Message);

        // A padding mask changes what the layers after it compute; ONNX has no such thing, so it is refused, not dropped.
        var masked = new Sequential([new InputLayer([5], DType.Int32), new Embedding(10, 4, maskZero: true, name: "masked"), new LSTM(3)]);
        e = Assert.Throws<NotSupportedException>(() => masked.ExportOnnx(Path.Combine(folder, "x.onnx")));
        Assert.Contains("'masked' (Embedding)", e.Message);
        Assert.False(File.Exists(Path.Combine(folder, "x.onnx")));
    }

    [Fact]
    public void OpsetOutsideTheRangeIsRefused()
    {
        var model = new Sequential([new InputLayer([3]), new Dense(2)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ExportOnnx(Path.Combine(folder, "x.onnx"), opset: 12));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ExportOnnx(Path.Combine(folder, "x.onnx"), opset: 22));
    }

    [Fact]
    public void FailedExportKeepsThePreviousFile()
    {
        string path = Path.Combine(folder, "keep.onnx");
        new Sequential([new InputLayer([3]), new Dense(2)]).ExportOnnx(path);
        byte[] before = File.ReadAllBytes(path);
        var bad = new Sequential([new InputLayer([4, 3]), new Masking()]);
        Assert.Throws<NotSupportedException>(() => bad.ExportOnnx(path));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(folder));
    }

    private sealed class Residual : Model
    {
        private readonly Conv2D first = new(2, 3, padding: "same", activation: "relu", seed: 1);
        private readonly Conv2D second = new(2, 3, padding: "same", seed: 2);
        private readonly Add add = new();
        private readonly GlobalAveragePooling2D pool = new();
        private readonly Dense head = new(3, seed: 3);

        protected override Tensor Forward(Tensor input, bool training) =>
            head.Call(pool.Call(add.Call([input, second.Call(first.Call(input, training), training)]), training), training);
    }

    private sealed class Untraceable : Model
    {
        private readonly Dense hidden = new(3, seed: 1);
        private readonly Dense head = new(2, seed: 2, name: "traced_head");

        protected override Tensor Forward(Tensor input, bool training) => head.Call(hidden.Call(input, training).Relu(), training);
    }
}
