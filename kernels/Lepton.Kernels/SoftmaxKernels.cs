// Row-wise softmax, log-softmax and the fused softmax cross-entropy: one group per row, each thread
// keeping an online (max, sum of exp) over its share of the row, merged across the group.
namespace Lepton.Kernels;

/// <summary>Softmax-family kernels. Each needs dynamic shared memory of two floats per warp.</summary>
public static class SoftmaxKernels
{
    /// <summary>y = softmax(x) (or log-softmax when <paramref name="log"/> != 0) for each row of [rows, cols].</summary>
    public static void Forward(ArrayView<float> x, ArrayView<float> y, int rows, int cols, int log)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        for (int row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            long start = (long)row * cols;
            float max = float.NegativeInfinity, sum = 0f;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                GroupReduce.Accumulate(ref max, ref sum, x[start + c]);
            }

            GroupReduce.MaxSumExp(ref max, ref sum, scratch);

            // Shift by the max alone: max + log(sum) would round away log(sum) for huge logits.
            float logSum = MathF.Log(sum), inverse = 1f / sum;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                float v = x[start + c] - max;
                y[start + c] = log != 0 ? v - logSum : MathF.Exp(v) * inverse;
            }
        }
    }

    /// <summary>dx from y = softmax(x) (dx = y * (dy - sum(dy * y))) or y = log-softmax(x) (dx = dy - exp(y) * sum(dy)).</summary>
    public static void Backward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows, int cols, int log)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        for (int row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            long start = (long)row * cols;
            float acc = 0f;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                acc += log != 0 ? dy[start + c] : dy[start + c] * y[start + c];
            }

            acc = GroupReduce.Sum(acc, scratch);
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                long at = start + c;
                dx[at] = log != 0 ? dy[at] - (MathF.Exp(y[at]) * acc) : y[at] * (dy[at] - acc);
            }
        }
    }

    /// <summary>
    /// Per row: loss = logsumexp(x) - sum_c target_c * x_c with target = (1 - s) * onehot(label) + s / cols,
    /// and the row's softmax kept in <paramref name="probabilities"/> for the backward pass. A label outside
    /// [0, cols) is reported through <paramref name="errors"/> and gives a NaN loss.
    /// </summary>
    public static void CrossEntropy(
        ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss, ArrayView<float> probabilities,
        int rows, int cols, float smoothing, ArrayView<int> errors)
    {
        var scratch = SharedMemory.GetDynamic<float>();
        for (int row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            long start = (long)row * cols;
            float max = float.NegativeInfinity, sum = 0f, sumX = 0f;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                float v = logits[start + c];
                GroupReduce.Accumulate(ref max, ref sum, v);
                sumX += v;
            }

            GroupReduce.MaxSumExp(ref max, ref sum, scratch);
            sumX = GroupReduce.Sum(sumX, scratch);
            float inverse = 1f / sum;
            for (int c = Group.IdxX; c < cols; c += Group.DimX)
            {
                probabilities[start + c] = MathF.Exp(logits[start + c] - max) * inverse;
            }

            if (Group.IsFirstThread)
            {
                int label = labels[row];
                if (!IndexErrors.InRange(label, cols))
                {
                    IndexErrors.Report(errors, IndexErrors.CrossEntropy, label, cols, row);
                    loss[row] = float.NaN;
                }
                else
                {
                    float targetDot = ((1f - smoothing) * logits[start + label]) + (smoothing * sumX / cols);
                    loss[row] = (max - targetDot) + MathF.Log(sum);
                }
            }
        }
    }

    /// <summary>dlogits[r, c] = dloss[r] * (p[r, c] - target[r, c]) with the smoothed one-hot target.</summary>
    public static void CrossEntropyBackward(
        ArrayView<float> probabilities, ArrayView<int> labels, ArrayView<float> dloss, ArrayView<float> dlogits,
        int rows, int cols, float smoothing)
    {
        float uniform = smoothing / cols;
        long total = (long)rows * cols;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int r = (int)(e / cols), c = (int)(e % cols);
            float target = uniform + (labels[r] == c ? 1f - smoothing : 0f);
            dlogits[e] = dloss[r] * (probabilities[e] - target);
        }
    }
}
