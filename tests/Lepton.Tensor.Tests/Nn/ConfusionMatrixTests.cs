// ConfusionMatrix: exact counts from scores, class indices, one-hot labels and probabilities,
// precision and recall, bad input, and EvaluateConfusion against Predict on a trained model.
using Lepton.Nn;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class ConfusionMatrixTests
{
    [Fact]
    public void ScoresAndLabelsGiveExactCounts()
    {
        // Arg-max classes: 0, 1, 2, 1, 0, 2 (the tie in row 4 goes to the lower index).
        var scores = Tensor.FromArray(
            [
                0.9f, 0.05f, 0.05f,
                0.1f, 0.8f, 0.1f,
                0.2f, 0.3f, 0.5f,
                0.3f, 0.6f, 0.1f,
                0.4f, 0.4f, 0.2f,
                0.0f, 0.1f, 0.9f,
            ],
            [6, 3]);
        var labels = Tensor.FromArray(new[] { 0, 1, 1, 2, 0, 2 }, [6]);
        var matrix = ConfusionMatrix.FromPredictions(labels, scores);
        Assert.Equal(3, matrix.NumClasses);
        Assert.Equal(6, matrix.Total);
        Assert.Equal(new long[,] { { 2, 0, 0 }, { 0, 1, 1 }, { 0, 1, 1 } }, matrix.ToArray());
        Assert.Equal(4.0 / 6, matrix.Accuracy, 12);
        Assert.Equal(0.5, matrix.Recall(1), 12);
        Assert.Equal(0.5, matrix.Precision(2), 12);
        Assert.Equal(1.0, matrix.Precision(0), 12);

        // One-hot labels give the same matrix.
        var oneHot = new float[18];
        int[] classes = [0, 1, 1, 2, 0, 2];
        for (int i = 0; i < 6; i++)
        {
            oneHot[(i * 3) + classes[i]] = 1;
        }

        Assert.Equal(matrix.ToArray(), ConfusionMatrix.FromPredictions(Tensor.FromArray(oneHot, [6, 3]), scores).ToArray());
    }

    [Fact]
    public void ClassIndicesAndProbabilitiesAreCounted()
    {
        var labels = Tensor.FromArray(new[] { 3, 3, 1, 0 }, [4]);
        var predicted = Tensor.FromArray(new[] { 3, 1, 1, 0 }, [4]);
        var matrix = ConfusionMatrix.FromPredictions(labels, predicted, numClasses: 5);
        Assert.Equal(5, matrix.NumClasses);
        Assert.Equal(1, matrix[3, 3]);
        Assert.Equal(1, matrix[3, 1]);
        Assert.Equal(1, matrix[1, 1]);
        Assert.Equal(1, matrix[0, 0]);
        Assert.Equal(4, matrix.Total);

        // One probability per example: thresholded at 0.5 into classes 0 and 1.
        var binary = ConfusionMatrix.FromPredictions(Tensor.FromArray(new[] { 1, 0, 1, 0 }, [4]), Tensor.FromArray([0.7f, 0.2f, 0.4f, 0.6f], [4, 1]));
        Assert.Equal(new long[,] { { 1, 1 }, { 1, 1 } }, binary.ToArray());

        binary.Add([1, 1], [1, 1]);
        Assert.Equal(3, binary[1, 1]);
        Assert.Equal(6, binary.Total);
    }

    [Fact]
    public void BadInputNamesTheProblem()
    {
        var labels = Tensor.FromArray(new[] { 0, 4 }, [2]);
        var scores = Tensor.FromArray([0.9f, 0.1f, 0.2f, 0.8f], [2, 2]);
        var outOfRange = Assert.Throws<ArgumentOutOfRangeException>(() => ConfusionMatrix.FromPredictions(labels, scores));
        Assert.Contains("label 4", outOfRange.Message);
        var mismatch = Assert.Throws<ArgumentException>(() => ConfusionMatrix.FromPredictions(Tensor.FromArray(new[] { 0, 1, 1 }, [3]), scores));
        Assert.Contains("[3]", mismatch.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(2)[2, 0]);
    }

    [Fact]
    public void EvaluateConfusionMatchesPredict()
    {
        var model = ModelTests.SmallClassifier();
        model.Compile(new Adam(0.02f), "sparse_categorical_crossentropy", "accuracy");
        var (x, y) = ModelTests.Blobs(90, 11);
        model.Fit(x, y, epochs: 2, batchSize: 30, verbose: 0);

        var matrix = model.EvaluateConfusion(x, y, batchSize: 16);
        int[] predicted = model.Predict(x).ArgMax(1).ToInt32Array();
        int[] labels = y.ToInt32Array();
        var expected = new long[3, 3];
        for (int i = 0; i < labels.Length; i++)
        {
            expected[labels[i], predicted[i]]++;
        }

        Assert.Equal(expected, matrix.ToArray());
        Assert.Equal(90, matrix.Total);
        Assert.Equal(model.Evaluate(x, y)["accuracy"], matrix.Accuracy, 5);
    }
}
