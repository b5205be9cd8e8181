// Exact counts of which class was predicted for each true class: rows are true classes, columns
// predicted ones (the layout of sklearn's confusion_matrix and tf.math.confusion_matrix).
namespace Lepton.Nn;

/// <summary>A confusion matrix of integer counts: <c>this[t, p]</c> examples of true class t were predicted as class p.</summary>
/// <remarks>
/// Predictions are turned into classes as <see cref="Accuracy"/> does: scores <c>[N, C]</c> by their arg-max
/// (ties go to the lower index), int32 class indices as they are, and a single probability per example
/// (<c>[N]</c> or <c>[N, 1]</c>, float) thresholded at 0.5 into classes 0 and 1. Labels are int32 class indices,
/// or one-hot rows shaped like the scores.
/// </remarks>
/// <example><code>
/// var matrix = model.EvaluateConfusion(xTest, yTest);
/// Console.WriteLine($"class 3 recall: {matrix.Recall(3):P1}");
/// </code></example>
public sealed class ConfusionMatrix
{
    private readonly long[] counts;

    /// <summary>An empty matrix for <paramref name="numClasses"/> classes, to fill with <see cref="Update(Tensor, Tensor)"/>.</summary>
    /// <param name="numClasses">How many classes (rows and columns); at least 1.</param>
    /// <example><code>var matrix = new ConfusionMatrix(10);</code></example>
    public ConfusionMatrix(int numClasses)
    {
        if (numClasses < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "ConfusionMatrix: numClasses must be at least 1.");
        }

        NumClasses = numClasses;
        counts = new long[(long)numClasses * numClasses];
    }

    /// <summary>How many classes the matrix has (rows and columns).</summary>
    public int NumClasses { get; }

    /// <summary>Examples counted.</summary>
    public long Total { get; private set; }

    /// <summary>Examples of true class <paramref name="trueClass"/> predicted as <paramref name="predictedClass"/>.</summary>
    /// <param name="trueClass">The row: the label.</param>
    /// <param name="predictedClass">The column: the model's class.</param>
    public long this[int trueClass, int predictedClass] => counts[(Check(trueClass, "trueClass") * NumClasses) + Check(predictedClass, "predictedClass")];

    /// <summary>The fraction of examples on the diagonal (0 when empty).</summary>
    public double Accuracy
    {
        get
        {
            long diagonal = 0;
            for (int c = 0; c < NumClasses; c++)
            {
                diagonal += counts[(c * NumClasses) + c];
            }

            return Total == 0 ? 0 : (double)diagonal / Total;
        }
    }

    /// <summary>Computes the matrix of labels against a model's outputs.</summary>
    /// <param name="labels">Int32 class indices <c>[N]</c>, or one-hot rows <c>[N, C]</c>.</param>
    /// <param name="predictions">Scores <c>[N, C]</c>, int32 class indices <c>[N]</c>, or probabilities <c>[N]</c>/<c>[N, 1]</c>.</param>
    /// <param name="numClasses">Rows and columns; null takes C from the scores, 2 for probabilities, else the largest class seen plus one.</param>
    /// <example><code>var matrix = ConfusionMatrix.FromPredictions(yTest, model.Predict(xTest));</code></example>
    public static ConfusionMatrix FromPredictions(Tensor labels, Tensor predictions, int? numClasses = null)
    {
        var (trueClasses, predicted, known) = Classes(labels, predictions);
        int n = numClasses ?? known ?? Math.Max(Max(trueClasses), Max(predicted)) + 1;
        var matrix = new ConfusionMatrix(n);
        matrix.Add(trueClasses, predicted);
        return matrix;
    }

    /// <summary>Adds one batch of labels and outputs (shaped as for <see cref="FromPredictions"/>).</summary>
    /// <param name="labels">Int32 class indices, or one-hot rows.</param>
    /// <param name="predictions">Scores, int32 class indices, or probabilities.</param>
    /// <example><code>matrix.Update(yBatch, model.Predict(xBatch));</code></example>
    public void Update(Tensor labels, Tensor predictions)
    {
        var (trueClasses, predicted, _) = Classes(labels, predictions);
        Add(trueClasses, predicted);
    }

    /// <summary>Adds pairs of true and predicted class indices.</summary>
    /// <param name="trueClasses">The labels.</param>
    /// <param name="predictedClasses">The model's classes, one per label.</param>
    /// <example><code>matrix.Add([0, 1, 1], [0, 1, 0]);</code></example>
    public void Add(ReadOnlySpan<int> trueClasses, ReadOnlySpan<int> predictedClasses)
    {
        if (trueClasses.Length != predictedClasses.Length)
        {
            throw new ArgumentException($"ConfusionMatrix: {trueClasses.Length} labels but {predictedClasses.Length} predictions.", nameof(predictedClasses));
        }

        for (int i = 0; i < trueClasses.Length; i++)
        {
            int t = trueClasses[i], p = predictedClasses[i];
            if ((uint)t >= (uint)NumClasses || (uint)p >= (uint)NumClasses)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(trueClasses), $"ConfusionMatrix: example {i} has label {t} and prediction {p}; classes must be in [0, {NumClasses}).");
            }
        }

        for (int i = 0; i < trueClasses.Length; i++)
        {
            counts[(trueClasses[i] * NumClasses) + predictedClasses[i]]++;
        }

        Total += trueClasses.Length;
    }

    /// <summary>Of the examples of class <paramref name="c"/>, the fraction predicted as <paramref name="c"/> (0 when there are none).</summary>
    /// <param name="c">The class.</param>
    /// <example><code>double r = matrix.Recall(3);</code></example>
    public double Recall(int c)
    {
        long row = 0;
        for (int p = 0; p < NumClasses; p++)
        {
            row += this[c, p];
        }

        return row == 0 ? 0 : (double)this[c, c] / row;
    }

    /// <summary>Of the examples predicted as class <paramref name="c"/>, the fraction that are <paramref name="c"/> (0 when there are none).</summary>
    /// <param name="c">The class.</param>
    /// <example><code>double p = matrix.Precision(3);</code></example>
    public double Precision(int c)
    {
        long column = 0;
        for (int t = 0; t < NumClasses; t++)
        {
            column += this[t, c];
        }

        return column == 0 ? 0 : (double)this[c, c] / column;
    }

    /// <summary>The counts as a <c>[true, predicted]</c> array.</summary>
    /// <example><code>long[,] counts = matrix.ToArray();</code></example>
    public long[,] ToArray()
    {
        var result = new long[NumClasses, NumClasses];
        for (int t = 0; t < NumClasses; t++)
        {
            for (int p = 0; p < NumClasses; p++)
            {
                result[t, p] = counts[(t * NumClasses) + p];
            }
        }

        return result;
    }

    private int Check(int c, string name) =>
        (uint)c < (uint)NumClasses ? c : throw new ArgumentOutOfRangeException(name, c, $"ConfusionMatrix: classes are in [0, {NumClasses}).");

    private static int Max(int[] values) => values.Length == 0 ? 0 : values.Max();

    /// <summary>True and predicted class indices, and the class count the predictions' shape implies (if any).</summary>
    private static (int[] True, int[] Predicted, int? NumClasses) Classes(Tensor labels, Tensor predictions)
    {
        if (predictions.Rank == 0 || labels.Rank == 0)
        {
            throw new ArgumentException($"ConfusionMatrix: labels {Shapes.Format(labels.Shape)} and predictions {Shapes.Format(predictions.Shape)} need a batch dimension.");
        }

        int n = predictions.Shape[0];
        int[] predicted;
        int? known = null;
        using (Tensor.NoGrad())
        {
            if (predictions.DType.IsInteger())
            {
                predicted = predictions.Reshape(-1).ToInt32Array();
            }
            else if (predictions.Rank >= 2 && predictions.Shape[^1] > 1)
            {
                known = predictions.Shape[^1];
                using var classes = predictions.Reshape(n, known.Value).ArgMax(1);
                predicted = classes.ToInt32Array();
            }
            else
            {
                known = 2;
                using var above = predictions.Reshape(-1) > 0.5f;
                predicted = above.ToInt32Array();
            }

            int[] trueClasses = !labels.DType.IsInteger() && labels.Rank >= 2 && labels.Shape[^1] > 1
                ? ArgMaxRows(labels)
                : labels.Reshape(-1).ToInt32Array();
            if (trueClasses.Length != predicted.Length)
            {
                throw new ArgumentException(
                    $"ConfusionMatrix: labels {Shapes.Format(labels.Shape)} give {trueClasses.Length} classes but predictions {Shapes.Format(predictions.Shape)} give {predicted.Length}.");
            }

            return (trueClasses, predicted, known);
        }
    }

    private static int[] ArgMaxRows(Tensor oneHot)
    {
        using var classes = oneHot.Reshape(oneHot.Shape[0], -1).ArgMax(1);
        return classes.ToInt32Array();
    }
}
