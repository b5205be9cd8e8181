// Sparse inference: the CSR product against a float64 reference (tails of every vector width, batch 1 and
// wider), Dense and 1x1 Conv2D inference through it equal to the dense kernel, training and gradients on the
// dense path, and captured Predict steps that see weights written by training since they were captured.
using Lepton.Backends.Cpu;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;
using Sgd = Lepton.Nn.Optimizers.Sgd;

namespace Lepton.Tests.Nn;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed unsafe class SparseInferenceTests
{
    [Theory]
    [InlineData(7, 13, 1, 0.9)]
    [InlineData(5, 40, 3, 0.5)]
    [InlineData(33, 17, 83, 0.8)]
    [InlineData(16, 9, 64, 1.0)]
    public void SparseProductMatchesAFloat64Reference(int rows, int columns, int width, double sparsity)
    {
        var rng = new Random(rows + columns + width);
        float[] w = Sparse(rng, rows * columns, sparsity);
        float[] x = Enumerable.Range(0, columns * width).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var y = new float[rows * width];
        var yRows = new float[width * rows];
        fixed (float* wp = w)
        fixed (float* xp = x)
        fixed (float* yp = y)
        fixed (float* ytp = yRows)
        {
            var sparse = SparseRows.FromDense(wp, rows, columns, transposed: false);
            Assert.Equal(w.Count(v => v != 0), sparse.NonZeros);
            sparse.Multiply(xp, yp, 1, width);

            // The same matrix read as a Dense kernel [columns, rows], times inputs [width, columns].
            float[] kernel = new float[columns * rows];
            float[] inputs = new float[width * columns];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    kernel[(c * rows) + r] = w[(r * columns) + c];
                }
            }

            for (int c = 0; c < columns; c++)
            {
                for (int j = 0; j < width; j++)
                {
                    inputs[(j * columns) + c] = x[(c * width) + j];
                }
            }

            fixed (float* kp = kernel)
            fixed (float* ip = inputs)
            {
                SparseRows.FromDense(kp, rows, columns, transposed: true).MultiplyTransposed(ip, ytp, width);
            }
        }

        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < width; j++)
            {
                double expected = 0;
                for (int c = 0; c < columns; c++)
                {
                    expected += (double)w[(r * columns) + c] * x[(c * width) + j];
                }

                Assert.Equal(expected, y[(r * width) + j], 5);
                Assert.Equal(expected, yRows[(j * rows) + r], 5);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(19)]
    public void DenseInferenceOnTheSparseKernelEqualsTheDenseKernel(int batch)
    {
        var layer = new Dense(24, activation: "relu", biasInitializer: "ones", seed: 3, inputShape: [40]);
        PruneRandomly(layer.Kernel, 0.9, seed: 1);
        var x = Tensor.RandN([batch, 40], new Generator(2));

        var (dense, sparse) = Both(() => layer.Call(x));
        AssertClose(dense, sparse, 1e-5f);
        Assert.False(sparse.RequiresGrad);
    }

    [Fact]
    public void PointwiseConvolutionInferenceOnTheSparseKernelEqualsTheDenseKernel()
    {
        var layer = new Conv2D(12, 1, activation: "relu", biasInitializer: "ones", seed: 4, inputShape: [20, 5, 3]);
        var strided = new Conv2D(12, 1, strides: 2, seed: 4, inputShape: [20, 5, 3]);
        PruneRandomly(layer.Kernel, 0.85, seed: 5);
        var x = Tensor.RandN([2, 20, 5, 3], new Generator(6));

        var (dense, sparse) = Both(() => layer.Call(x));
        AssertClose(dense, sparse, 1e-5f);
        Assert.Null(SparseKernelFor(strided, x));
    }

    [Fact]
    public void TrainingAndGradientsStayOnTheDenseKernel()
    {
        var layer = new Dense(6, seed: 7, inputShape: [10]);
        PruneRandomly(layer.Kernel, 0.9, seed: 8);
        var x = Tensor.RandN([4, 10], new Generator(9));
        SparseKernel.Forced = true;
        try
        {
            // With autograd on and a trainable kernel, even an inference call takes the dense kernel.
            var y = layer.Call(x);
            Assert.True(y.RequiresGrad);
            y.Sum().Backward();
            float[] grad = layer.Kernel.Value.Grad!.ToArray<float>();
            layer.Kernel.Value.ZeroGrad();
            SparseKernel.Forced = false;
            layer.Call(x, training: true).Sum().Backward();
            Assert.Equal(layer.Kernel.Value.Grad!.ToArray<float>(), grad);
        }
        finally
        {
            SparseKernel.Forced = null;
        }
    }

    [Fact]
    public void ReplayedPredictSeesWeightsTrainedSinceItWasCaptured()
    {
        var model = new Sequential([new InputLayer([16]), new Dense(32, activation: "relu", seed: 1), new Dense(3, seed: 2)]) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.5f), new MeanSquaredError());
        var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(0.9, beginStep: 0, frequency: 1));
        var x = Tensor.RandN([8, 16], new Generator(3));
        var y = Tensor.RandN([8, 3], new Generator(4));
        model.Fit(x, y, epochs: 1, batchSize: 8, callbacks: [pruning], verbose: 0);
        SparseKernel.Forced = true;
        try
        {
            for (int i = 0; i < 3; i++)
            {
                model.Predict(x, batchSize: 8);
            }

            Assert.True(model.LastStepReplayed);
            model.Fit(x, y, epochs: 3, batchSize: 8, callbacks: [pruning], verbose: 0);
            var replayed = model.Predict(x, batchSize: 8);
            Assert.True(model.LastStepReplayed);
            SparseKernel.Forced = false;
            Pruning.Strip(model);
            var dense = model.Predict(x, batchSize: 8);
            Assert.False(model.LastStepReplayed);
            AssertClose(dense, replayed, 1e-5f);
        }
        finally
        {
            SparseKernel.Forced = null;
        }
    }

    [Fact]
    public void TheAutomaticChoiceFollowsTheMeasuredSparsity()
    {
        var layer = new Dense(64, seed: 1, inputShape: [128]);
        var x = Tensor.RandN([1, 128], new Generator(2));
        Assert.Null(SparseKernelFor(layer, x));
        PruneRandomly(layer.Kernel, 0.99, seed: 3);
        Assert.NotNull(SparseKernelFor(layer, x));
        Assert.Equal(0.95, SparseKernel.MinSparsity(transposed: true, 128, 64, 1), 12);
        Assert.Equal(0.85, SparseKernel.MinSparsity(transposed: true, 5408, 128, 1), 12);
        Assert.Null(SparseKernelFor(layer, Tensor.RandN([8, 128], new Generator(4))));
    }

    private static SparseKernel? SparseKernelFor(Layer layer, Tensor x)
    {
        using var noGrad = Tensor.NoGrad();
        var kernel = layer.Weights[0];
        bool conv = layer is Conv2D;
        if (conv && ((Conv2D)layer).Strides != (1, 1))
        {
            return null;
        }

        return SparseKernel.ForInference(kernel, transposed: !conv, x, conv ? x.Shape[2] * x.Shape[3] : x.Shape[0]);
    }

    private static (Tensor Dense, Tensor Sparse) Both(Func<Tensor> run)
    {
        using var noGrad = Tensor.NoGrad();
        try
        {
            SparseKernel.Forced = false;
            var dense = run();
            SparseKernel.Forced = true;
            return (dense, run());
        }
        finally
        {
            SparseKernel.Forced = null;
        }
    }

    private static void PruneRandomly(Weight kernel, double sparsity, int seed)
    {
        float[] values = kernel.Value.ToArray<float>();
        var rng = new Random(seed);
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = rng.NextDouble() < sparsity ? 0 : values[i];
        }

        kernel.Assign(Tensor.FromArray(values, kernel.Shape));
    }

    private static float[] Sparse(Random rng, int length, double sparsity) =>
        Enumerable.Range(0, length).Select(_ => rng.NextDouble() < sparsity ? 0f : (float)rng.NextDouble() - 0.5f).ToArray();

    private static void AssertClose(Tensor expected, Tensor actual, float tolerance)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float[] e = expected.ToArray<float>(), a = actual.ToArray<float>();
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * (1 + Math.Abs(e[i])), $"element {i}: dense {e[i]}, sparse {a[i]}");
        }
    }
}
