// Keras losses over sequences: SparseCategoricalCrossentropy takes a sequence's [B, T, C] predictions with
// [B, T] labels, as Keras does, and its value and gradient match a float64 mean over every position.
using Lepton.Nn;

namespace Lepton.Tests.Nn;

public sealed class LossTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void SparseCrossentropyAveragesOverEveryStepOfASequence(bool fromLogits, bool trailingOne)
    {
        const int Batch = 2, Time = 3, Classes = 5;
        var logits = Tensor.RandN([Batch, Time, Classes], new Generator(7));
        var labelValues = new[] { 0, 4, 2, 1, 3, 3 };
        var labels = Tensor.FromArray(labelValues, trailingOne ? [Batch, Time, 1] : [Batch, Time]);
        var values = logits.ToArray();

        // float64 reference: mean over the B * T positions of -log softmax(logits)[label], and its gradient (p - onehot) / (B * T).
        double expected = 0;
        var expectedGrad = new double[values.Length];
        for (int position = 0; position < Batch * Time; position++)
        {
            var row = values.AsSpan(position * Classes, Classes);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float v in row)
            {
                max = Math.Max(max, v);
            }

            foreach (float v in row)
            {
                sum += Math.Exp(v - max);
            }

            expected -= (row[labelValues[position]] - max - Math.Log(sum)) / (Batch * Time);
            for (int c = 0; c < Classes; c++)
            {
                double p = Math.Exp(row[c] - max) / sum;
                expectedGrad[(position * Classes) + c] = (p - (c == labelValues[position] ? 1 : 0)) / (Batch * Time);
            }
        }

        var input = fromLogits ? logits.Detach() : logits.Softmax(-1).Detach();
        input.RequiresGrad = true;
        var loss = new SparseCategoricalCrossentropy(fromLogits).Compute(labels, input);
        Assert.Equal(expected, loss.Item(), 5);
        if (fromLogits)
        {
            loss.Backward();
            var grad = input.Grad!.ToArray();
            for (int i = 0; i < grad.Length; i++)
            {
                Assert.Equal(expectedGrad[i], grad[i], 5);
            }
        }
    }

    [Fact]
    public void SparseCrossentropyNamesBothShapesWhenLabelsDoNotFitTheSteps()
    {
        var logits = Tensor.Zeros([2, 3, 5]);
        var e = Assert.Throws<ArgumentException>(() => new SparseCategoricalCrossentropy(fromLogits: true).Compute(Tensor.Zeros([2, 4], DType.Int32), logits));
        Assert.StartsWith("SparseCategoricalCrossentropy: labels [2, 4] do not fit predictions [2, 3, 5]; expected class indices [2, 3] or [2, 3, 1]", e.Message);
    }
}
