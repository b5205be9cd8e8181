// The dense stages and the loss of a training plan: a Dense layer with a fused activation or none,
// and sparse categorical cross-entropy from logits averaged over the batch, each as its eager ops.
using Lepton.Backends;
using Lepton.Nn.Layers;

namespace Lepton.Nn;

internal sealed partial class TrainingPlan
{
    /// <summary>A <see cref="Dense"/> layer on a batch of rows: <see cref="Tensor.MatMul"/>, then the bias and activation.</summary>
    private abstract class DenseStage : Stage
    {
        private readonly Tensor? dx, dw;

        protected DenseStage(Dense dense, Tensor input, bool inputNeedsGrad)
        {
            (Kernel, Bias) = (dense.Kernel, dense.Bias);
            (Rows, Units) = (input.ShapeRef[0], dense.Units);
            Product = Keep([Rows, Units], input.Device);
            dx = inputNeedsGrad ? Keep((int[])input.ShapeRef.Clone(), input.Device) : null;
            (dw, BiasGradient) = (GradientFor(Kernel), GradientFor(Bias));
        }

        public override bool HasTrainableWeights => dw is not null || BiasGradient is not null;

        protected Weight Kernel { get; }

        protected Weight? Bias { get; }

        protected int Rows { get; }

        protected int Units { get; }

        /// <summary>x W, before the bias and activation.</summary>
        protected Tensor Product { get; }

        protected Tensor? BiasGradient { get; }

        public static DenseStage? TryCreate(Dense dense, Tensor input, bool inputNeedsGrad)
        {
            if (input.Rank != 2 || input.ShapeRef[1] != dense.Kernel.Value.ShapeRef[0] || !dense.Kernel.Value.IsDense)
            {
                return null;
            }

            // The activations Dense fuses with its bias (Activations.GetFused), and none.
            return dense.ActivationName.ToLowerInvariant() switch
            {
                "linear" or "" => new LinearDenseStage(dense, input, inputNeedsGrad),
                "relu" => new ActivatedDenseStage<ReluOp>(default, dense, input, inputNeedsGrad),
                "sigmoid" => new ActivatedDenseStage<SigmoidOp>(default, dense, input, inputNeedsGrad),
                "tanh" => new ActivatedDenseStage<TanhOp>(default, dense, input, inputNeedsGrad),
                "gelu" => new ActivatedDenseStage<GeluOp>(default, dense, input, inputNeedsGrad),
                "softplus" => new ActivatedDenseStage<SoftplusOp>(default, dense, input, inputNeedsGrad),
                "leaky_relu" => new ActivatedDenseStage<LeakyReluOp>(new LeakyReluOp(0.2f), dense, input, inputNeedsGrad),
                _ => null,
            };
        }

        public override Tensor? GradientOf(Weight weight) => ReferenceEquals(weight, Kernel) ? dw : ReferenceEquals(weight, Bias) ? BiasGradient : null;

        /// <summary>The product's backward from its output's gradient, as MatMul's: dx = dz W^T, dW = x^T dz.</summary>
        protected Tensor? ProductBackward(Tensor input, Tensor productGradient)
        {
            if (dx is not null)
            {
                Tensor.Gemm2d(productGradient, false, Kernel.Value, true, dx);
            }

            if (dw is not null)
            {
                Tensor.Gemm2d(input, true, productGradient, false, dw);
            }

            return dx;
        }
    }

    /// <summary>A Dense layer with a fused bias and activation (<see cref="Tensor.BiasActivation"/>).</summary>
    private sealed class ActivatedDenseStage<TOp> : DenseStage
        where TOp : struct, IUnaryOp
    {
        private readonly TOp op;
        private readonly Tensor productGradient;

        public ActivatedDenseStage(TOp op, Dense dense, Tensor input, bool inputNeedsGrad)
            : base(dense, input, inputNeedsGrad)
        {
            this.op = op;
            Output = Keep([Rows, Units], input.Device);
            productGradient = Keep([Rows, Units], input.Device);
        }

        public override void Forward(IBackend backend, Tensor input)
        {
            Tensor.Gemm2d(input, false, Kernel.Value, false, Product);
            backend.BiasActivation(op, Product.Buffer, Bias?.Value.Buffer, Rows, Units, 1, Output.Buffer);
        }

        public override Tensor? Backward(IBackend backend, Tensor input, Tensor outputGradient)
        {
            backend.BiasActivationBackward(op, Product.Buffer, Bias?.Value.Buffer, Output.Buffer, outputGradient.Buffer, Rows, Units, 1, productGradient.Buffer, BiasGradient?.Buffer);
            return ProductBackward(input, productGradient);
        }
    }

    /// <summary>A Dense layer without an activation: the product, plus the bias broadcast over rows (an Add).</summary>
    private sealed class LinearDenseStage : DenseStage
    {
        private readonly int[] biasStrides = [0, 1];

        public LinearDenseStage(Dense dense, Tensor input, bool inputNeedsGrad)
            : base(dense, input, inputNeedsGrad)
        {
            Output = Bias is null ? Product : Keep([Rows, Units], input.Device);
        }

        public override void Forward(IBackend backend, Tensor input)
        {
            Tensor.Gemm2d(input, false, Kernel.Value, false, Product);
            if (Bias is not null)
            {
                var shape = Product.ShapeRef;
                backend.Binary(default(AddOp), Product.View, new StridedView(Bias.Value.Buffer, 0, shape, biasStrides), Output.Buffer, shape);
            }
        }

        public override Tensor? Backward(IBackend backend, Tensor input, Tensor outputGradient)
        {
            // The bias's gradient is the sum over rows of the output's (Add's backward), the product's is the output's.
            if (BiasGradient is not null)
            {
                backend.Reduce(ReduceKind.Sum, outputGradient.Buffer, 1, Rows, Units, BiasGradient.Buffer);
            }

            return ProductBackward(input, outputGradient);
        }
    }

    /// <summary>Sparse categorical cross-entropy from logits, averaged (<see cref="Tensor.CrossEntropy(Tensor, Tensor, Reduction, float)"/> with its mean).</summary>
    private sealed class LossStage : PlanPart
    {
        private readonly int rows, classes;
        private readonly float smoothing;
        private readonly ScaleOp mean;
        private readonly int[] labels;
        private readonly int[] broadcast = [0];
        private readonly Tensor probabilities, perExample, sum, seed, scaledSeed, perExampleGradient, logitsGradient;

        public LossStage(Tensor logits, float smoothing)
        {
            Logits = logits;
            (rows, classes, this.smoothing) = (logits.ShapeRef[0], logits.ShapeRef[1], smoothing);
            mean = new ScaleOp(1f / rows);
            labels = new int[rows];
            var device = logits.Device;
            probabilities = Keep([rows, classes], device);
            perExample = Keep([rows], device);
            sum = Keep([1], device);
            Value = Keep([], device);
            seed = Keep([], device);
            scaledSeed = Keep([], device);
            perExampleGradient = Keep([rows], device);
            logitsGradient = Keep([rows, classes], device);
        }

        public Tensor Logits { get; }

        public Tensor Value { get; }

        /// <summary>
        /// The check the eager loss makes (<see cref="SparseCategoricalCrossentropy"/>), with its message: every label a whole
        /// number in [0, classes). Backends that check indices in their kernels skip it; no allocation.
        /// </summary>
        public void CheckLabels(Tensor y)
        {
            if (y.Backend.ValidatesIndices)
            {
                return;
            }

            y.Backend.DownloadBytes(y.Buffer, 0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(labels.AsSpan()));
            IndexValues.Check(nameof(SparseCategoricalCrossentropy), labels, classes, labels: true);
        }

        public void Forward(IBackend backend, Tensor y)
        {
            backend.SoftmaxCrossEntropy(Logits.Buffer, y.Buffer, rows, classes, smoothing, perExample.Buffer, probabilities.Buffer);
            backend.Reduce(ReduceKind.Sum, perExample.Buffer, 1, rows, 1, sum.Buffer);
            backend.Unary(mean, sum.Buffer, Value.Buffer, 1);
        }

        /// <summary>The logits' gradient: the seed 1 through the mean's backward, then the fused cross-entropy backward.</summary>
        public Tensor Backward(IBackend backend, Tensor y)
        {
            backend.Fill(seed.Buffer, 0, 1, 1f);
            backend.Unary(mean, seed.Buffer, scaledSeed.Buffer, 1);
            backend.Copy(new StridedView(scaledSeed.Buffer, 0, perExampleGradient.ShapeRef, broadcast), perExampleGradient.View);
            backend.SoftmaxCrossEntropyBackward(probabilities.Buffer, y.Buffer, perExampleGradient.Buffer, rows, classes, smoothing, logitsGradient.Buffer);
            return logitsGradient;
        }
    }
}
