// EvaluateConfusion: runs the model over data without gradients and counts true against predicted
// classes in a ConfusionMatrix, batch by batch, so a whole test set never sits in memory as outputs.
using Lepton.Data;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>The confusion matrix of the model's classes against the labels of in-memory data.</summary>
    /// <param name="x">Inputs, batch first (at least one example).</param>
    /// <param name="y">Int32 class indices, or one-hot rows.</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    /// <param name="numClasses">Rows and columns; null takes them from the model's output (2 for one probability).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <example><code>
    /// var matrix = model.EvaluateConfusion(xTest, yTest);
    /// Console.WriteLine(matrix[3, 5]); // threes taken for fives
    /// </code></example>
    public ConfusionMatrix EvaluateConfusion(Tensor x, Tensor y, int batchSize = 32, int? numClasses = null, CancellationToken cancellationToken = default) =>
        EvaluateConfusion(new DataLoader(new TensorDataset(x, y), batchSize, device: Device), numClasses, cancellationToken);

    /// <summary>The confusion matrix of the model's classes against the labels of a data loader's batches (its transforms apply).</summary>
    /// <param name="data">The batches; a loader that gives none is an <see cref="ArgumentException"/>.</param>
    /// <param name="numClasses">Rows and columns; null takes them from the model's output (2 for one probability).</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <example><code>var matrix = model.EvaluateConfusion(testLoader);</code></example>
    public ConfusionMatrix EvaluateConfusion(DataLoader data, int? numClasses = null, CancellationToken cancellationToken = default)
    {
        RequireExamples("EvaluateConfusion", "the data", data);
        ConfusionMatrix? matrix = null;
        foreach (var (x, y) in data.Batches(cancellationToken))
        {
            using (Tensor.NewScope())
            using (Tensor.NoGrad())
            {
                var prediction = Call(x.To(Device), training: false);
                if (matrix is null)
                {
                    matrix = ConfusionMatrix.FromPredictions(y, prediction, numClasses);
                }
                else
                {
                    matrix.Update(y, prediction);
                }
            }

            x.Dispose();
            y.Dispose();
        }

        return matrix!;
    }
}
