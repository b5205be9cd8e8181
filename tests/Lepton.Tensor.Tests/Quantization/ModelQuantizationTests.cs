// Model-level int8 quantization: static and dynamic models against a float64 replay of their integer arithmetic
// (bit for bit, eager and captured), the float model left untouched, conversion faithful to the float weights,
// save/load, damaged files, bad inputs, calibration methods and the summary's byte counts.
using System.IO.Compression;
using System.Runtime.InteropServices;
using Lepton.Data;
using Lepton.IO;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Quantization;

namespace Lepton.Tests.Quantization;

public sealed class ModelQuantizationTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-quant-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>conv-bn-relu, pool, two branches added then ReLU'd, concat, flatten, dense-relu, dense, softmax.</summary>
    internal static Model Functional()
    {
        var input = Keras.Input([3, 8, 8]);
        var c = new Conv2D(4, 3, padding: "same", seed: 1, name: "stem").Apply(input);
        var n = new BatchNormalization(name: "stem_bn").Apply(c);
        var r = new ReLU(name: "stem_relu").Apply(n);
        var p = new MaxPooling2D(2, name: "pool").Apply(r);
        var a = new Conv2D(4, 1, activation: "relu", seed: 2, name: "branch_a").Apply(p);
        var b = new Conv2D(4, 3, padding: "same", seed: 3, name: "branch_b").Apply(p);
        var sum = new Activation("relu", name: "sum_relu").Apply(new Add(name: "sum").Apply(a, b));
        var joined = new Concatenate(name: "join").Apply(sum, p);
        var h = new Dense(16, activation: "relu", seed: 4, name: "hidden").Apply(new Flatten(name: "flat").Apply(joined));
        var output = new Softmax(name: "probabilities").Apply(new Dense(5, seed: 5, name: "logits").Apply(h));
        var model = new Model(input, output, name: "small") { Output = TextWriter.Null };
        var bn = (BatchNormalization)model.Layers.Single(l => l.Name == "stem_bn");
        bn.Gamma!.Assign(Tensor.FromArray([1.5f, 0.5f, 1f, 2f], [4]));
        bn.Beta!.Assign(Tensor.FromArray([0.1f, -0.2f, 0f, 0.3f], [4]));
        bn.MovingMean.Assign(Tensor.FromArray([0.2f, -0.1f, 0.05f, 0f], [4]));
        bn.MovingVariance.Assign(Tensor.FromArray([0.5f, 2f, 1f, 0.25f], [4]));
        return model;
    }

    internal static Model SequentialModel() => new Sequential([
        new InputLayer([1, 8, 8]),
        new Conv2D(4, 3, activation: "relu", seed: 1, name: "conv"),
        new MaxPooling2D(2, name: "pool"),
        new Flatten(name: "flat"),
        new Dropout(0.5f, name: "drop"),
        new Dense(8, seed: 2, name: "hidden"),
        new ReLU(name: "hidden_relu"),
        new Dense(3, activation: "softmax", seed: 3, name: "head"),
    ], name: "seq")
    { Output = TextWriter.Null };

    internal static DataLoader Loader(int[] shape, int count, ulong seed, int batchSize = 8)
    {
        var x = Tensor.RandN([count, .. shape], new Generator(seed));
        return new DataLoader(new TensorDataset(x, Tensor.Zeros([count], DType.Int32)), batchSize);
    }

    [Fact]
    public void FunctionalModelRunsTheSimulatedIntegerArithmeticExactly()
    {
        var model = Functional();
        var x = Tensor.RandN([12, 3, 8, 8], new Generator(7));
        var before = Snapshot(model, x);
        using var q = model.Quantize(Loader([3, 8, 8], 24, 11), batches: 2);

        // The float model is not changed by calibration or conversion.
        Assert.Equal(before, Snapshot(model, x));

        var types = q.Layers.Select(l => l.GetType().Name).ToList();
        Assert.Equal(3, types.Count(t => t == nameof(QuantizedConv2D)));
        Assert.Equal(2, types.Count(t => t == nameof(QuantizedDense)));
        Assert.Single(types, nameof(QuantizedAdd));
        Assert.Single(types, nameof(QuantizedConcatenate));
        Assert.Single(types, nameof(Lepton.Nn.Quantization.Quantize));
        Assert.Single(types, nameof(Dequantize));
        Assert.DoesNotContain(nameof(BatchNormalization), types);
        Assert.DoesNotContain(nameof(ReLU), types);
        Assert.True(((QuantizedConv2D)q.Layers.Single(l => l.Name == "stem")).Relu);
        Assert.True(((QuantizedAdd)q.Layers.Single(l => l.Name == "sum")).Relu);

        float[] expected = QuantizedModelSimulation.Run(q, x.ToArray(), x.Shape);
        q.RunEagerly = true;
        Assert.Equal(expected, q.Predict(x, batchSize: 4).ToArray());
        q.RunEagerly = false;
        Assert.Equal(expected, q.Predict(x, batchSize: 4).ToArray()); // eager, captured, replayed
        Assert.True(q.LastStepReplayed);

        // Close to the float model (the int8 grid costs a little precision).
        float[] reference = model.Predict(x).ToArray();
        Assert.True(expected.Zip(reference).Max(t => Math.Abs(t.First - t.Second)) < 0.1f);
    }

    [Fact]
    public void ConversionQuantizesTheFoldedFloatWeightsByTheRules()
    {
        var model = Functional();
        using var q = model.Quantize(Loader([3, 8, 8], 16, 12), batches: 2);
        var conv = (Conv2D)model.Layers.Single(l => l.Name == "stem");
        var bn = (BatchNormalization)model.Layers.Single(l => l.Name == "stem_bn");
        var (kernel, bias) = QuantizedModelBuilder.FoldBatchNorm(conv, bn);
        var stem = (QuantizedConv2D)q.Layers.Single(l => l.Name == "stem");
        sbyte[] w = stem.Kernel.Value.ToArray<sbyte>();
        float[] scales = stem.KernelScale.Value.ToArray<float>();
        Assert.Equal(QuantParams.WeightScales(kernel, 4), scales);
        int per = kernel.Length / 4;
        for (int i = 0; i < w.Length; i++)
        {
            Assert.Equal(QuantParams.QuantizeWeight(kernel[i], scales[i / per]), w[i]);
        }

        int[] qBias = stem.Bias!.Value.ToArray<int>();
        var input = stem.InputParams;
        for (int k = 0; k < 4; k++)
        {
            Assert.InRange(bias[k] - (qBias[k] * (double)(input.Scale * scales[k])), -input.Scale * scales[k], input.Scale * scales[k]);
        }

        // The folded convolution computes what conv + batch norm compute in inference.
        using (Tensor.NoGrad())
        {
            var x = Tensor.RandN([2, 3, 8, 8], new Generator(3));
            var reference = bn.Call(conv.Call(x)).ToArray();
            var folded = x.Conv2d(Tensor.FromArray(kernel, conv.Kernel.Shape), Tensor.FromArray(bias, [4]), padding: (1, 1)).ToArray();
            Assert.True(reference.Zip(folded).Max(t => Math.Abs(t.First - t.Second)) < 1e-4f);
        }
    }

    [Fact]
    public void SequentialModelWithPerTensorScalesRunsTheSimulationExactly()
    {
        var model = SequentialModel();
        var x = Tensor.RandN([6, 1, 8, 8], new Generator(5));
        var before = Snapshot(model, x);
        using var q = model.Quantize(Loader([1, 8, 8], 16, 13), options: new QuantizationOptions { PerChannel = false });
        Assert.Equal(before, Snapshot(model, x));
        Assert.IsType<Sequential>(q);
        Assert.Equal(
            ["input_layer", "quantize", "conv", "pool", "flat", "hidden", "head", "dequantize", "head_softmax"],
            q.Layers.Select(l => l.GetType() == typeof(InputLayer) ? "input_layer" : l.GetType() == typeof(Lepton.Nn.Quantization.Quantize) ? "quantize" : l.GetType() == typeof(Dequantize) ? "dequantize" : l.Name));
        Assert.True(((QuantizedDense)q.Layers.Single(l => l.Name == "hidden")).Relu);
        Assert.False(((QuantizedDense)q.Layers.Single(l => l.Name == "head")).Relu); // its softmax runs in float32 after it
        Assert.Single(((QuantizedConv2D)q.Layers.Single(l => l.Name == "conv")).KernelScale.Value.ToArray<float>().Distinct());
        // One batch: the float32 head's matrix product may round differently for another batch size.
        float[] expected = QuantizedModelSimulation.Run(q, x.ToArray(), x.Shape);
        Assert.Equal(expected, q.Predict(x, batchSize: 6).ToArray());

        string path = Path.Combine(folder, "seq.lepton");
        q.Save(path);
        using var loaded = Model.Load(path);
        Assert.IsType<Sequential>(loaded);
        Assert.Equal(expected, loaded.Predict(x, batchSize: 6).ToArray());
    }

    [Fact]
    public void DynamicQuantizationRunsTheSimulationExactlyAndNeedsNoData()
    {
        var model = new Sequential([new InputLayer([6]), new Dense(8, activation: "relu", seed: 1, name: "a"), new Dense(3, seed: 2, name: "b")]);
        var x = Tensor.RandN([10, 6], new Generator(2));
        var before = Snapshot(model, x);
        using var q = model.QuantizeDynamic();
        Assert.Equal(before, Snapshot(model, x));
        Assert.All(q.Layers.Skip(1), l => Assert.IsType<DynamicQuantizedDense>(l));
        // Each call quantizes its input from that batch's range: simulate per batch of 5.
        float[] all = x.ToArray();
        float[] expected = [.. QuantizedModelSimulation.Run(q, all[..30], [5, 6]), .. QuantizedModelSimulation.Run(q, all[30..], [5, 6])];
        Assert.Equal(expected, q.Predict(x, batchSize: 5).ToArray()); // eager, then captured
        Assert.Equal(expected, q.Predict(x, batchSize: 5).ToArray()); // replayed

        using var kept = model.QuantizeDynamic(new QuantizationOptions { KeepFloat = ["b"] });
        Assert.IsType<Dense>(kept.Layers[^1]);
    }

    [Fact]
    public void SavedQuantizedModelLoadsReadyToRunWithTheSameBits()
    {
        var model = Functional();
        model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");
        using var q = model.Quantize(Loader([3, 8, 8], 16, 14), batches: 2);
        var x = Tensor.RandN([5, 3, 8, 8], new Generator(9));
        string path = Path.Combine(folder, "q.lepton");
        q.Save(path);
        using var loaded = Model.Load(path);
        Assert.Equal(q.Layers.Select(l => l.GetType()), loaded.Layers.Select(l => l.GetType()));
        Assert.Equal(q.Predict(x).ToArray(), loaded.Predict(x).ToArray());

        // int8 weights are stored as int8.
        using var zip = ZipFile.OpenRead(path);
        using var stream = new MemoryStream();
        using (var entry = zip.GetEntry("model.safetensors")!.Open())
        {
            entry.CopyTo(stream);
        }

        var tensors = SafeTensors.Read(stream.ToArray(), "model.safetensors");
        Assert.Equal(DType.Int8, tensors["stem/kernel"].DType);
        Assert.Equal(DType.Int32, tensors["stem/bias"].DType);
    }

    [Fact]
    public void LayersWithoutAnInt8FormStayFloatBetweenConversions()
    {
        // A channels-last convolution, global pooling, a Dense called twice and an Add of three: all float32, with the
        // int8 layers around them joined by Quantize and Dequantize; two outputs, each float32.
        var input = Keras.Input([2, 6, 6]);
        var a = new Conv2D(3, 3, padding: "same", activation: "relu", seed: 1, name: "first").Apply(input);
        var last = new Conv2D(3, 3, padding: "same", dataFormat: DataFormat.ChannelsLast, seed: 2, name: "last").Apply(new Permute([2, 3, 1], name: "to_last").Apply(a));
        var pooled = new GlobalAveragePooling2D(name: "gap").Apply(a);
        var shared = new Dense(3, seed: 3, name: "shared");
        var sum = new Add(name: "three").Apply(shared.Apply(pooled), shared.Apply(pooled), new Dense(3, seed: 4, name: "third").Apply(pooled));
        var output = new Dense(2, seed: 5, name: "out").Apply(sum);
        var model = new Model([input], [output, new Flatten(name: "flat").Apply(last)]) { Output = TextWriter.Null };
        using var q = model.Quantize(Loader([2, 6, 6], 8, 4), batches: 1);
        Assert.IsType<QuantizedConv2D>(q.Layers.Single(l => l.Name == "first"));
        Assert.IsType<Conv2D>(q.Layers.Single(l => l.Name == "last"));
        Assert.IsType<Dense>(q.Layers.Single(l => l.Name == "shared"));
        Assert.IsType<Add>(q.Layers.Single(l => l.Name == "three"));
        Assert.IsType<QuantizedDense>(q.Layers.Single(l => l.Name == "third"));
        Assert.IsType<QuantizedDense>(q.Layers.Single(l => l.Name == "out"));
        Assert.Equal(2, q.GraphOutputs!.Count);
        Assert.All(q.GraphOutputs, o => Assert.Equal(DType.Float32, o.DType));
        var x = Tensor.RandN([3, 2, 6, 6], new Generator(8));
        Assert.Equal(QuantizedModelSimulation.Run(q, x.ToArray(), x.Shape), q.Predict(x).ToArray());
    }

    [Fact]
    public void ConvertKeepsALayerFloatWithoutItsRangeBeforeTheActivation()
    {
        // Ranges as training-time observers give them: every layer output, nothing before an activation.
        var model = SequentialModel();
        var ranges = new ActivationRanges();
        ranges.Set(null, -4f, 4f);
        foreach (var layer in model.Layers)
        {
            ranges.Set(layer, 0f, 6f);
        }

        using var q = QuantizedModelBuilder.Convert(model, ranges, new QuantizationOptions());
        Assert.IsType<Dense>(q.Layers[^1]);
        Assert.IsType<QuantizedDense>(q.Layers.Single(l => l.Name == "hidden"));
        var x = Tensor.RandN([3, 1, 8, 8], new Generator(6));
        Assert.Equal(QuantizedModelSimulation.Run(q, x.ToArray(), x.Shape), q.Predict(x, batchSize: 3).ToArray());

        ranges.SetBeforeActivation(model.Layers[^1], -10f, 10f);
        using var all = QuantizedModelBuilder.Convert(model, ranges, new QuantizationOptions());
        Assert.IsType<QuantizedDense>(all.Layers.Single(l => l.Name == "head"));
    }

    [Fact]
    public void CompiledModelsQuantizedModelEvaluatesEagerAndCapturedAlike()
    {
        var model = SequentialModel();
        model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");
        var progress = new StringWriter();
        model.Output = progress;
        using var q = model.Quantize(Loader([1, 8, 8], 16, 21), batches: 2, options: new QuantizationOptions { Method = CalibrationMethod.Percentile });
        Assert.Contains("Calibration 1/2", progress.ToString());
        Assert.Contains("2/2 [==============================]", progress.ToString());

        var x = Tensor.RandN([12, 1, 8, 8], new Generator(22));
        var y = Tensor.FromArray(Enumerable.Range(0, 12).Select(i => i % 3).ToArray(), [12]);
        q.RunEagerly = true;
        var eager = q.Evaluate(x, y, batchSize: 4);
        q.RunEagerly = false;
        var captured = q.Evaluate(x, y, batchSize: 4);
        Assert.True(q.LastStepReplayed);
        Assert.Equal(eager, captured);
        Assert.Equal(["loss", "accuracy"], captured.Keys);
    }

    [Theory]
    [InlineData("hidden/output_scale", "negative", "output_scale is -1")]
    [InlineData("hidden/input_zero_point", "300", "input_zero_point is 300, outside the uint8 range")]
    [InlineData("hidden/kernel_scale", "long", "'hidden/kernel_scale' is saved with shape [17] but the model has [16]")]
    [InlineData("hidden/kernel_scale", "renamed", "has no values for weights hidden/kernel_scale")]
    public void DamagedScalesFailToLoadNamingTheLayer(string weight, string damage, string message)
    {
        var model = Functional();
        using var q = model.Quantize(Loader([3, 8, 8], 16, 15), batches: 1);
        string path = Path.Combine(folder, "q.lepton");
        q.Save(path);
        RewriteWeights(path, tensors =>
        {
            var value = tensors[weight];
            switch (damage)
            {
                case "negative":
                    tensors[weight] = Tensor.Full(value.Shape, -1f);
                    break;
                case "300":
                    tensors[weight] = Tensor.Full(value.Shape, 300L, DType.Int32);
                    break;
                case "long":
                    tensors[weight] = Tensor.Ones([value.Shape[0] + 1]);
                    break;
                default:
                    // Missing under its name (another name keeps the element count the loader budgets for).
                    tensors.Remove(weight);
                    tensors[weight + "s"] = value;
                    break;
            }
        });

        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains(message, e.Message);
        Assert.Contains("hidden", e.Message);
    }

    [Fact]
    public void BadInputsAreRejectedNamingWhatIsWrong()
    {
        var model = SequentialModel();
        var loader = Loader([1, 8, 8], 8, 1);

        var unbuilt = new Sequential([new Dense(3)]);
        Assert.Contains("not built", Assert.Throws<InvalidOperationException>(() => unbuilt.Quantize(loader)).Message);

        var wrongShape = Assert.Throws<ArgumentException>(() => model.Quantize(Loader([1, 6, 6], 8, 1)));
        Assert.Contains("[8, 1, 6, 6]", wrongShape.Message);
        Assert.Contains("[1, 8, 8]", wrongShape.Message);

        var empty = new DataLoader(new TensorDataset(Tensor.Zeros([0, 1, 8, 8]), Tensor.Zeros([0], DType.Int32)));
        Assert.Contains("no batches", Assert.Throws<ArgumentException>(() => model.Quantize(empty)).Message);

        var unknown = Assert.Throws<ArgumentException>(() => model.Quantize(loader, options: new QuantizationOptions { KeepFloat = ["nope"] }));
        Assert.Contains("'nope'", unknown.Message);
        Assert.Contains("KeepFloat", unknown.Message);

        var noKernel = Assert.Throws<ArgumentException>(() => Functional().Quantize(Loader([3, 8, 8], 8, 1), options: new QuantizationOptions { Layers = ["stem", "probabilities"] }));
        Assert.Contains("'probabilities' (Softmax)", noKernel.Message);
        Assert.Contains("has no int8 kernel", noKernel.Message);

        var notDense = Assert.Throws<ArgumentException>(() => model.QuantizeDynamic(new QuantizationOptions { Layers = ["conv"] }));
        Assert.Contains("'conv' (Conv2D)", notDense.Message);

        var subclassed = Assert.Throws<NotSupportedException>(() => new Subclassed().Quantize(Loader([4], 8, 1)));
        Assert.Contains("Sequential or functional", subclassed.Message);
        Assert.Contains(nameof(Subclassed), subclassed.Message);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Quantize(loader, cancellationToken: cancelled.Token));
    }

    [Fact]
    public void KeptLayersRunInFloatBetweenDequantizeAndQuantize()
    {
        var model = SequentialModel();
        using var q = model.Quantize(Loader([1, 8, 8], 16, 2), options: new QuantizationOptions { KeepFloat = ["hidden"], Method = CalibrationMethod.Mse });
        Assert.IsType<Dense>(q.Layers.Single(l => l.Name == "hidden"));
        Assert.IsType<ReLU>(q.Layers.Single(l => l.Name == "hidden_relu"));
        var x = Tensor.RandN([4, 1, 8, 8], new Generator(4));
        Assert.Equal(QuantizedModelSimulation.Run(q, x.ToArray(), x.Shape), q.Predict(x).ToArray());
    }

    [Fact]
    public void CalibrationMethodsClipOutliersThatMinMaxKeeps()
    {
        // A million values in [0, 1) and one at 1000: MinMax keeps the outlier, Percentile drops it, and Mse trades the
        // outlier's clipping error against the rounding error of the million (it clips to about 440).
        float[] values = [.. Enumerable.Range(0, 1_000_000).Select(i => i / 1e6f), 1000f];
        (float Min, float Max) RangeBy(CalibrationMethod method)
        {
            var observer = new RangeObserver();
            observer.AddToRange(values);
            observer.StartHistogram();
            observer.AddToHistogram(values);
            return observer.Range(new QuantizationOptions { Method = method, Percentile = 99.9 });
        }

        Assert.Equal((0f, 1000f), RangeBy(CalibrationMethod.MinMax));
        Assert.InRange(RangeBy(CalibrationMethod.Percentile).Max, 0.99f, 1.5f);
        Assert.InRange(RangeBy(CalibrationMethod.Mse).Max, 300f, 600f);
    }

    [Fact]
    public void SummaryShowsEachLayersBytes()
    {
        var model = SequentialModel();
        using var q = model.Quantize(Loader([1, 8, 8], 8, 3), batches: 1);
        string floatSummary = model.Summary();
        Assert.Contains($"Total size: {model.CountParams() * 4:N0} bytes", floatSummary);
        string summary = q.Summary();
        var conv = summary.Split('\n').Single(l => l.StartsWith(" conv (QuantizedConv2D)", StringComparison.Ordinal));

        // 36 int8 weights, 4 float32 scales, 4 int32 biases, 2 scales and 2 zero points of 4 bytes each.
        Assert.EndsWith(" 84", conv.TrimEnd());
        Assert.Contains("Bytes", summary);
    }

    /// <summary>The bits of every (float32) weight and of the outputs on <paramref name="x"/>, as one list to compare.</summary>
    private static List<int[]> Snapshot(Model model, Tensor x) =>
        [.. model.Weights.Select(w => Bits(w.Value)), Bits(model.Predict(x))];

    private static int[] Bits(Tensor t) => MemoryMarshal.Cast<float, int>(t.ToArray<float>()).ToArray();

    private static void RewriteWeights(string path, Action<Dictionary<string, Tensor>> change)
    {
        byte[] config, weights;
        using (var zip = ZipFile.OpenRead(path))
        {
            config = Read(zip, "config.json");
            weights = Read(zip, "model.safetensors");
        }

        var tensors = SafeTensors.Read(weights, "model.safetensors");
        change(tensors);
        File.Delete(path);
        using var output = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var entry = output.CreateEntry("config.json").Open())
        {
            entry.Write(config);
        }

        using (var entry = output.CreateEntry("model.safetensors").Open())
        {
            SafeTensors.Write(entry, tensors.Select(t => (t.Key, t.Value)));
        }

        static byte[] Read(ZipArchive zip, string name)
        {
            using var stream = new MemoryStream();
            using (var entry = zip.GetEntry(name)!.Open())
            {
                entry.CopyTo(stream);
            }

            return stream.ToArray();
        }
    }

    private sealed class Subclassed : Model
    {
        private readonly Dense dense = new(2);

        public Subclassed()
            : base(inputShape: [4])
        {
        }

        protected override Tensor Forward(Tensor input, bool training) => dense.Call(input);
    }
}
