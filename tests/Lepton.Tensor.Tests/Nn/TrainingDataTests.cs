// What Fit, Evaluate, Predict and the batch methods say about the data they are given: no examples,
// labels that do not match the inputs or the loss, and labels that are not class indices, with the same
// error from a planned step as from an eager one.
using Lepton.Data;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class TrainingDataTests
{
    private static Sequential Compiled(Loss loss, bool eager = false)
    {
        var model = ModelTests.SmallClassifier();
        model.Compile(new Adam(0.01f), loss);
        model.RunEagerly = eager;
        return model;
    }

    private static Tensor Labels(params int[] labels) => Tensor.FromArray(labels, [labels.Length]);

    [Fact]
    public void FitAndEvaluateRefuseDataWithoutExamples()
    {
        var model = Compiled(new SparseCategoricalCrossentropy());
        var (x, y) = (Tensor.Zeros([0, 4]), Tensor.Zeros([0], DType.Int32));
        var e = Assert.Throws<ArgumentException>(() => model.Fit(x, y, verbose: 0));
        Assert.StartsWith("Fit: the training data (inputs [0, 4], targets [0]) has no examples", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Evaluate(x, y));
        Assert.StartsWith("Evaluate: the data (inputs [0, 4], targets [0]) has no examples", e.Message);

        var (x8, y8) = ModelTests.Blobs(8, 1);
        e = Assert.Throws<ArgumentException>(() => model.Fit(x8, y8, validationData: (x, y), verbose: 0));
        Assert.StartsWith("Fit: the validation data (inputs [0, 4], targets [0]) has no examples", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Fit(new DataLoader(new TensorDataset(x8, y8), 16, dropLast: true), verbose: 0));
        Assert.StartsWith("Fit: the training data (inputs [8, 4], targets [8]) has 8 examples, fewer than one batch of 16 with dropLast", e.Message);
        var split = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(x8, y8, validationSplit: 0.1f, verbose: 0));
        Assert.StartsWith("Fit: validationSplit 0.1 of 8 examples holds none out", split.Message);
        Assert.Equal(0, model.Optimizer!.Iterations);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LabelsMustMatchTheBatchAndTheLossPlannedOrEager(bool eager)
    {
        var model = CaptureTests.Make("mlp");
        model.RunEagerly = eager;
        var (x, y) = CaptureTests.Batch("mlp", 8, 10);
        model.TrainOnBatch(x, y);
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, y.Reshape(8, 1));
        }

        Assert.Equal(!eager, model.LastStepReplayed);

        // [4, 2] holds 8 labels, as many as examples: it used to train as if it were [8].
        var e = Assert.Throws<ArgumentException>(() => model.TrainOnBatch(x, y.Reshape(4, 2)));
        Assert.StartsWith("SparseCategoricalCrossentropy: labels [4, 2] do not match inputs [8, 12]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.TrainOnBatch(x, y.Reshape(8, 1, 1)));
        Assert.StartsWith("SparseCategoricalCrossentropy: labels [8, 1, 1] do not fit predictions [8, 4]; expected class indices [8] or [8, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.TestOnBatch(x, Labels(0, 1)));
        Assert.StartsWith("SparseCategoricalCrossentropy: labels [2] do not match inputs [8, 12]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Evaluate(x, Tensor.Zeros([8, 4], DType.Int32), batchSize: 8));
        Assert.StartsWith("SparseCategoricalCrossentropy: labels [8, 4] do not fit", e.Message);
    }

    [Fact]
    public void OneHotLossesWantTargetsShapedLikeThePredictions()
    {
        var (x, y) = ModelTests.Blobs(8, 2);
        foreach (bool logits in new[] { false, true })
        {
            var model = Compiled(new CategoricalCrossentropy(fromLogits: logits));
            var e = Assert.Throws<ArgumentException>(() => model.TrainOnBatch(x, y));
            Assert.StartsWith("CategoricalCrossentropy: targets [8] do not fit predictions [8, 3]; expected one-hot targets of the same shape", e.Message);
            e = Assert.Throws<ArgumentException>(() => model.Fit(x, Tensor.Zeros([8, 2]), batchSize: 8, verbose: 0));
            Assert.StartsWith("CategoricalCrossentropy: targets [8, 2] do not fit predictions [8, 3]", e.Message);
            Assert.True(double.IsFinite(model.TrainOnBatch(x, Tensor.Ones([8, 3]) / 3f)["loss"]));
        }

        var mse = Compiled(new MeanSquaredError());
        var bad = Assert.Throws<ArgumentException>(() => mse.TrainOnBatch(x, Tensor.Zeros([8, 2])));
        Assert.StartsWith("MeanSquaredError: targets [8, 2] do not fit predictions [8, 3]", bad.Message);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void ALabelOutOfRangeNamesTheLossTheLabelItsPositionAndTheClasses(bool fromLogits, bool eager)
    {
        // Replayed steps check labels as eager ones do, with logits and with probabilities.
        var model = new Sequential([new InputLayer([4]), new Dense(16, activation: "relu", seed: 1), new Dense(3, activation: fromLogits ? null : "softmax", seed: 2)]);
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits));
        model.RunEagerly = eager;
        var (x, _) = ModelTests.Blobs(8, 3);
        var good = Labels(0, 1, 2, 0, 1, 2, 0, 1);
        for (int step = 0; step < 3; step++)
        {
            model.TrainOnBatch(x, good);
        }

        Assert.Equal(!eager, model.LastStepReplayed);

        var e = Assert.Throws<IndexOutOfRangeException>(() => model.TrainOnBatch(x, Labels(0, 1, 2, 0, 1, 3, 0, 1)));
        Assert.StartsWith("SparseCategoricalCrossentropy: label 3 at position 5 is out of range for 3 classes (labels 0 to 2)", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => model.Fit(x, Labels(0, 1, 2, -1, 1, 2, 0, 1), batchSize: 8, shuffle: false, verbose: 0));
        Assert.StartsWith("SparseCategoricalCrossentropy: label -1 at position 3 is out of range for 3 classes", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => model.Evaluate(x, Labels(9, 1, 2, 0, 1, 2, 0, 1)));
        Assert.StartsWith("SparseCategoricalCrossentropy: label 9 at position 0", e.Message);

        var floating = Tensor.FromArray([0f, 1f, 2f, 0f, 1f, 2f, 0f, 1f], [8]);
        var notIndices = Assert.Throws<ArgumentException>(() => model.TrainOnBatch(x, floating));
        Assert.StartsWith("sparse_categorical_crossentropy: targets must be int32 or int64 class indices, got float32", notIndices.Message);
    }

    [Fact]
    public void PredictOnNoExamplesGivesAnEmptyResultOfTheOutputShape()
    {
        var built = ModelTests.SmallClassifier();
        var empty = built.Predict(Tensor.Zeros([0, 4]));
        Assert.Equal(new[] { 0, 3 }, empty.Shape);
        Assert.Equal(DType.Float32, empty.DType);

        // Not built yet: one zero example builds it for the inputs' shape and gives the output's.
        var unbuilt = new Sequential([new Flatten(), new Dense(5, seed: 1)]);
        Assert.Equal(new[] { 0, 5 }, unbuilt.Predict(Tensor.Zeros([0, 2, 3])).Shape);
        Assert.Equal(new[] { 2, 5 }, unbuilt.Predict(Tensor.Zeros([2, 2, 3])).Shape);

        var e = Assert.Throws<ArgumentException>(() => built.Predict(Tensor.Scalar(1f)));
        Assert.StartsWith("Predict: the inputs need a batch dimension", e.Message);
    }
}
