// Softmax and log-softmax along any axis (numerically stable: rows are shifted by their max).
// The backend works on rows of the last axis; other axes are moved last and back.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>exp(x) / sum(exp(x)) along <paramref name="axis"/>.</summary>
    /// <example><code>var probabilities = logits.Softmax(-1);</code></example>
    public Tensor Softmax(int axis = -1) => SoftmaxCore(axis, log: false);

    /// <summary>x - logsumexp(x) along <paramref name="axis"/>.</summary>
    /// <example><code>var logProbs = logits.LogSoftmax(1);</code></example>
    public Tensor LogSoftmax(int axis = -1) => SoftmaxCore(axis, log: true);

    private Tensor SoftmaxCore(int axis, bool log)
    {
        string name = log ? "LogSoftmax" : "Softmax";
        if (DType.IsHalf())
        {
            return Narrowed(Widened.SoftmaxCore(axis, log), DType);
        }

        CheckFloat(name);
        if (Rank == 0)
        {
            return SoftmaxRows(Reshape(1), log).Reshape();
        }

        int a = Shapes.NormalizeAxis(name, axis, Rank);
        if (a == Rank - 1)
        {
            return SoftmaxRows(this, log);
        }

        return SoftmaxRows(Transpose(a, -1), log).Transpose(a, -1);
    }

    /// <summary>Softmax over the last axis.</summary>
    private static Tensor SoftmaxRows(Tensor input, bool log)
    {
        var x = input.DenseData();
        int cols = input.shape[^1];
        int rows = cols == 0 ? 0 : input.Numel / cols;
        var y = Empty((int[])input.shape.Clone(), input.Device);
        if (rows > 0)
        {
            input.Backend.Softmax(x.Buffer, y.Buffer, rows, cols, log);
        }

        return Record(y, log ? "LogSoftmaxBackward" : "SoftmaxBackward", [input], g =>
        {
            var gd = g.DenseData();
            var dx = Empty((int[])y.shape.Clone(), y.Device);
            if (rows > 0)
            {
                y.Backend.SoftmaxBackward(y.Buffer, gd.Buffer, dx.Buffer, rows, cols, log);
            }

            return [dx];
        });
    }
}
