// Models end to end: the three ways to define one, Compile/Fit/Evaluate/Predict/TrainOnBatch,
// Summary's table, freezing, progress output, and the errors users hit first.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class ModelTests
{
    /// <summary>Two Gaussian blobs per class in 4-D: easy, but not linearly trivial.</summary>
    internal static (Tensor X, Tensor Y) Blobs(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 4];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 4; j++)
            {
                x[(i * 4) + j] = (float)(((j == y[i] ? 2.0 : 0.0) * (i % 2 == 0 ? 1 : -1)) + (rng.NextDouble() - 0.5));
            }
        }

        return (Tensor.FromArray(x, [n, 4]), Tensor.FromArray(y, [n]));
    }

    internal static Sequential SmallClassifier() => new([
        new InputLayer([4]),
        new Dense(16, activation: "relu", seed: 1),
        new Dense(3, activation: "softmax", seed: 2),
    ]);

    [Fact]
    public void SequentialFitsEvaluatesAndPredicts()
    {
        var (x, y) = Blobs(300, 1);
        var model = SmallClassifier();
        model.Output = TextWriter.Null;
        model.Compile(new Adam(0.02f), "sparse_categorical_crossentropy", "accuracy");
        var history = model.Fit(x, y, epochs: 8, batchSize: 32, validationSplit: 0.2f, verbose: 0, seed: 3);
        Assert.Equal(8, history["loss"].Count);
        Assert.True(history["loss"][^1] < history["loss"][0] * 0.5, $"loss {history["loss"][0]} -> {history["loss"][^1]}");
        Assert.True(history["val_accuracy"][^1] > 0.95, $"val accuracy {history["val_accuracy"][^1]}");
        var result = model.Evaluate(x, y, batchSize: 64);
        Assert.True(result["accuracy"] > 0.95);
        var p = model.Predict(x, batchSize: 7);
        Assert.Equal(new[] { 300, 3 }, p.Shape);
        Assert.All(p.Sum(1).ToArray(), s => Assert.Equal(1f, s, 4));
        var logs = model.TrainOnBatch(x.Narrow(0, 0, 10), y.Narrow(0, 0, 10));
        Assert.Contains("loss", logs.Keys);
        Assert.Contains("accuracy", model.TestOnBatch(x, y).Keys);
    }

    [Fact]
    public void SummaryMatchesKerasForTheMnistCnn()
    {
        var model = new Sequential([
            new InputLayer([1, 28, 28]),
            new Conv2D(32, 3, activation: "relu", name: "conv2d"),
            new MaxPooling2D(2, name: "max_pooling2d"),
            new Flatten(name: "flatten"),
            new Dense(128, activation: "relu", name: "dense"),
            new BatchNormalization(name: "batch_normalization"),
            new Dense(10, activation: "softmax", name: "dense_1"),
        ], name: "mnist");
        var writer = new StringWriter();
        model.Output = writer;
        string summary = model.Summary();
        Assert.Equal(summary, writer.ToString());
        Assert.Contains("Model: \"mnist\"", summary);
        Assert.Contains(" conv2d (Conv2D)             (None, 32, 26, 26)        320", summary);
        Assert.Contains(" dense (Dense)               (None, 128)               692,352", summary);
        Assert.Contains("(None, 32, 13, 13)", summary);
        Assert.Contains("Total params: 694,474", summary);
        Assert.Contains("Trainable params: 694,218", summary);
        Assert.Contains("Non-trainable params: 256", summary);
    }

    [Fact]
    public void FunctionalResidualModelTrains()
    {
        var input = Keras.Input([4]);
        var h = new Dense(8, activation: "relu", seed: 1).Apply(input);
        var r = new Dense(8, seed: 2).Apply(h);
        var merged = new Activation("relu").Apply(new Add().Apply(h, r));
        var both = new Concatenate().Apply(merged, h);
        var output = new Dense(3, seed: 3).Apply(both);
        var model = new Model(input, output);
        Assert.Equal(new[] { 16 }, both.Shape);
        Assert.Equal(6, model.Layers.Count);
        model.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        var (x, y) = Blobs(240, 2);
        var history = model.Fit(x, y, epochs: 6, batchSize: 24, verbose: 0);
        Assert.True(history["accuracy"][^1] > 0.9, $"accuracy {history["accuracy"][^1]}");
        var e = Assert.Throws<ArgumentException>(() => new Add().Apply(Keras.Input([4]), Keras.Input([5])));
        Assert.Contains("[1, 5]", e.Message);
    }

    [Fact]
    public void SubclassedModelFindsItsLayersAndTrains()
    {
        var model = new TwoLayer();
        model.Compile(new Sgd(0.2f, momentum: 0.9f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        var (x, y) = Blobs(240, 3);
        var history = model.Fit(x, y, epochs: 6, batchSize: 24, verbose: 0);
        Assert.Equal(2, model.Layers.Count);
        Assert.Equal((4 * 12) + 12 + (12 * 3) + 3, model.CountParams());
        Assert.True(history["accuracy"][^1] > 0.9);
        Assert.Throws<NotSupportedException>(() => model.Save(Path.Combine(Path.GetTempPath(), "never.lepton")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ASubclassedModelTrainsFromItsFirstStepLikeTheSameSequentialModel(bool fit)
    {
        // The subclassed model's layers are built on first use: its first step must still update them, and must not
        // leave its gradients to be added to the next step's.
        var subclassed = new TwoLayer();
        var sequential = new Sequential([new InputLayer([4]), new Dense(12, activation: "tanh", seed: 4), new Dense(3, seed: 5)]);
        var (x, y) = Blobs(24, 6);
        foreach (var model in new Model[] { subclassed, sequential })
        {
            model.Compile(new Sgd(0.2f, momentum: 0.9f), new SparseCategoricalCrossentropy(fromLogits: true));
            if (fit)
            {
                model.Fit(x, y, epochs: 1, batchSize: 8, shuffle: false, verbose: 0);
            }
            else
            {
                model.TrainOnBatch(x, y);
                model.TrainOnBatch(x, y);
            }
        }

        Assert.Equal(sequential.Weights.Select(w => w.Value.ToArray()), subclassed.Weights.Select(w => w.Value.ToArray()));
        Assert.Equal(sequential.Optimizer!.Iterations, subclassed.Optimizer!.Iterations);
    }

    [Fact]
    public void FrozenLayersKeepTheirWeights()
    {
        var model = SmallClassifier();
        model.Layers[1].Trainable = false;
        model.Compile(new Adam(0.05f), "sparse_categorical_crossentropy", "accuracy");
        var frozen = model.Layers[1].Weights.Select(w => w.Value.ToArray()).ToList();
        var trained = model.Layers[2].Weights[0].Value.ToArray();
        var (x, y) = Blobs(90, 4);
        model.Fit(x, y, epochs: 2, batchSize: 30, verbose: 0);
        Assert.Equal(frozen, model.Layers[1].Weights.Select(w => w.Value.ToArray()).ToList());
        Assert.NotEqual(trained, model.Layers[2].Weights[0].Value.ToArray());
        Assert.Equal(3 * 16 + 3, model.TrainableWeights.Sum(w => w.Value.Numel));
        Assert.Equal(4 * 16 + 16, model.NonTrainableWeights.Sum(w => w.Value.Numel));
    }

    [Fact]
    public void ProgressPrintsOneKerasLinePerEpochWhenRedirected()
    {
        var model = SmallClassifier();
        var writer = new StringWriter();
        model.Output = writer;
        model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = Blobs(64, 5);
        model.Fit(x, y, epochs: 2, batchSize: 16, validationData: (x, y));
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("Epoch 1/2", lines[0]);
        Assert.Matches(@"^4/4 \[=+\] - \d+s \d+(ms|us|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$", lines[1]);
        Assert.Equal("Epoch 2/2", lines[2]);
    }

    [Fact]
    public void MisuseGivesClearErrors()
    {
        var model = SmallClassifier();
        var (x, y) = Blobs(10, 6);
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, verbose: 0));
        Assert.Contains("Compile", e.Message);
        model.Compile("adam", "sparse_categorical_crossentropy");
        Assert.Throws<ArgumentException>(() => model.Fit(x, Tensor.Zeros([9]), verbose: 0));
        Assert.Throws<ArgumentException>(() => model.Fit(Tensor.Zeros([10, 5]), y, verbose: 0));
        Assert.Throws<ArgumentException>(() => model.Compile("adam", "hinge-ish"));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x, y, validationSplit: 1f, verbose: 0));
        var categorical = Assert.Throws<ArgumentException>(() => model.TrainOnBatch(x, Tensor.Zeros([10])));
        Assert.Contains("int32", categorical.Message);
    }

    [Fact]
    public void IntegerInputsFlowIntoEmbeddings()
    {
        var model = new Sequential([new InputLayer([5], DType.Int32), new Embedding(12, 4, seed: 1), new Flatten(), new Dense(2, seed: 2)]);
        Assert.Equal(new[] { 5, 4 }, model.Layers[1].OutputShape);
        var input = Keras.Input([5], DType.Int32);
        var functional = new Model(input, new Dense(2, seed: 3).Apply(new Flatten().Apply(new Embedding(12, 4, seed: 4).Apply(input))));
        Assert.Equal(DType.Int32, input.DType);
        var ids = Tensor.RandInt(0, 12, [64, 5], new Generator(5));
        var labels = (ids.Select(1, 0) > 5f) * 1f;
        var target = Tensor.FromArray(labels.ToInt32Array(), [64]);
        var inferred = new Sequential([new Embedding(12, 4, seed: 6), new Flatten(), new Dense(2, seed: 7)]);
        foreach (var m in new Model[] { model, functional, inferred })
        {
            m.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
            var history = m.Fit(ids, target, epochs: 10, batchSize: 16, verbose: 0);
            Assert.True(history["accuracy"][^1] > 0.9, $"accuracy {history["accuracy"][^1]}");
            string path = Path.Combine(Path.GetTempPath(), $"lepton-embedding-{Guid.NewGuid():N}.lepton");
            m.Save(path);
            var loaded = Model.Load(path);
            File.Delete(path);
            Assert.Equal(m.Predict(ids).ToArray(), loaded.Predict(ids).ToArray());
        }
    }

    [Fact]
    public void CancellationStopsFit()
    {
        var model = SmallClassifier();
        model.Compile("adam", "sparse_categorical_crossentropy");
        var (x, y) = Blobs(64, 7);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => model.Fit(x, y, epochs: 3, verbose: 0, cancellationToken: cts.Token));
    }

    private sealed class TwoLayer : Model
    {
        private readonly Dense hidden = new(12, activation: "tanh", seed: 4);
        private readonly Dense output = new(3, seed: 5);

        protected override Tensor Forward(Tensor input, bool training) => output.Call(hidden.Call(input, training), training);
    }
}
