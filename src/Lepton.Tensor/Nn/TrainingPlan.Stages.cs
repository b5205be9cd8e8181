// The stages of a training plan. Each one mirrors an eager op (named in its summary) call for call, so
// that a planned step gives the eager step's bits; it owns its output, its gradients and any scratch,
// and a stage's backward returns the gradient of its input (null where nothing before it trains).
using Lepton.Backends;
using Lepton.Nn.Layers;

namespace Lepton.Nn;

internal sealed partial class TrainingPlan
{
    /// <summary>A part of the plan that owns tensors kept from step to step, freed with the plan.</summary>
    private abstract class PlanPart : IDisposable
    {
        private readonly List<Tensor> owned = [];

        public void Dispose()
        {
            foreach (var t in owned)
            {
                t.Dispose();
            }

            owned.Clear();
        }

        /// <summary>A tensor the part owns until the plan is disposed.</summary>
        protected Tensor Keep(Tensor tensor)
        {
            owned.Add(tensor.DetachFromScope());
            return tensor;
        }

        protected Tensor Keep(int[] shape, Device device, DType dtype = DType.Float32) => Keep(Tensor.Empty(shape, device, dtype));
    }

    /// <summary>One or more layers of the plan.</summary>
    private abstract class Stage : PlanPart
    {
        /// <summary>The stage's output, kept from step to step.</summary>
        public Tensor Output { get; protected set; } = null!;

        /// <summary>How many of the model's layers the stage runs.</summary>
        public virtual int LayersCovered => 1;

        /// <summary>Whether a weight of the stage requires a gradient.</summary>
        public abstract bool HasTrainableWeights { get; }

        /// <summary>The tensor that receives <paramref name="weight"/>'s gradient, if the stage computes it.</summary>
        public abstract Tensor? GradientOf(Weight weight);

        public abstract void Forward(IBackend backend, Tensor input);

        public abstract Tensor? Backward(IBackend backend, Tensor input, Tensor outputGradient);

        /// <summary>A gradient tensor for <paramref name="weight"/> when it requires one.</summary>
        protected Tensor? GradientFor(Weight? weight) =>
            weight is { Value.RequiresGrad: true } ? Keep((int[])weight.Value.ShapeRef.Clone(), weight.Value.Device) : null;
    }

    /// <summary>A ReLU <see cref="Conv2D"/> and the max pooling after it, as <see cref="Tensor.Conv2dBiasReluMaxPool"/>.</summary>
    private sealed class ConvReluPoolStage : Stage
    {
        private readonly Weight kernel;
        private readonly Weight? bias;
        private readonly Conv2dGeometry g;
        private readonly Pool2dGeometry pg;
        private readonly Tensor indices, masked;
        private readonly Tensor? dx, dw, db, full;
        private Tensor? fullGradient;

        private ConvReluPoolStage(Conv2D conv, MaxPooling2D pool, Tensor input, bool inputNeedsGrad)
        {
            (kernel, bias) = (conv.Kernel, conv.Bias);
            g = input.ConvGeometry(kernel.Value, conv.Strides, conv.PaddingFor(input), conv.DilationRate, conv.Groups);
            pg = Tensor.PoolGeometry("MaxPool2d", [g.N, g.K, g.P, g.Q], pool.PoolSize, pool.Strides, null);
            Output = Keep([pg.N, pg.C, pg.P, pg.Q], input.Device);
            indices = Keep([pg.N, pg.C, pg.P, pg.Q], input.Device, DType.Int32);
            masked = Keep([pg.N, pg.C, pg.P, pg.Q], input.Device);
            dx = inputNeedsGrad ? Keep([g.N, g.C, g.H, g.W], input.Device) : null;
            (dw, db) = (GradientFor(kernel), GradientFor(bias));

            // Without a fused kernel for the pair, the convolution's output is written and pooled from there.
            if (!input.Backend.TryConv2dBiasReluMaxPoolForward(g, pg, input.Buffer, kernel.Value.Buffer, bias?.Value.Buffer, Output.Buffer, indices.Buffer))
            {
                full = Keep([g.N, g.K, g.P, g.Q], input.Device);
            }
        }

        public override int LayersCovered => 2;

        public override bool HasTrainableWeights => dw is not null || db is not null;

        public static ConvReluPoolStage? TryCreate(Conv2D conv, MaxPooling2D pool, Tensor input, bool inputNeedsGrad)
        {
            if (conv.DataFormat != DataFormat.ChannelsFirst || input.Rank != 4)
            {
                return null;
            }

            var stage = new ConvReluPoolStage(conv, pool, input, inputNeedsGrad);
            if (stage.full is not null && !input.Backend.TryConv2dBiasReluForward(stage.g, input.Buffer, stage.kernel.Value.Buffer, stage.bias?.Value.Buffer, stage.full.Buffer))
            {
                // The eager op composes separate operations here; a plan does not.
                stage.Dispose();
                return null;
            }

            return stage;
        }

        public override Tensor? GradientOf(Weight weight) => ReferenceEquals(weight, kernel) ? dw : ReferenceEquals(weight, bias) ? db : null;

        public override void Forward(IBackend backend, Tensor input)
        {
            var b = bias?.Value.Buffer;
            if (full is null)
            {
                backend.TryConv2dBiasReluMaxPoolForward(g, pg, input.Buffer, kernel.Value.Buffer, b, Output.Buffer, indices.Buffer);
                return;
            }

            backend.TryConv2dBiasReluForward(g, input.Buffer, kernel.Value.Buffer, b, full.Buffer);
            backend.MaxPool2dForward(pg, full.Buffer, Output.Buffer, indices.Buffer);
        }

        public override Tensor? Backward(IBackend backend, Tensor input, Tensor outputGradient)
        {
            backend.BiasActivationBackward(default(ReluOp), Output.Buffer, null, Output.Buffer, outputGradient.Buffer, pg.N, pg.C, pg.P * pg.Q, masked.Buffer, db?.Buffer);
            if ((dx is not null || dw is not null) &&
                !backend.TryConv2dPooledBackward(g, pg, input.Buffer, kernel.Value.Buffer, masked.Buffer, indices.Buffer, dx?.Buffer, dw?.Buffer))
            {
                fullGradient ??= Keep([g.N, g.K, g.P, g.Q], input.Device);
                backend.MaxPool2dBackward(pg, masked.Buffer, indices.Buffer, fullGradient.Buffer);
                Tensor.WriteConvGradients(g, input, kernel.Value, fullGradient, dx, dw);
            }

            return dx;
        }
    }

    /// <summary>A ReLU <see cref="Conv2D"/>, as <see cref="Tensor.Conv2dBiasRelu"/>.</summary>
    private sealed class ConvReluStage : Stage
    {
        private readonly Weight kernel;
        private readonly Weight? bias;
        private readonly Conv2dGeometry g;
        private readonly Tensor preActivationGradient;
        private readonly Tensor? dx, dw, db;

        private ConvReluStage(Conv2D conv, Tensor input, bool inputNeedsGrad)
        {
            (kernel, bias) = (conv.Kernel, conv.Bias);
            g = input.ConvGeometry(kernel.Value, conv.Strides, conv.PaddingFor(input), conv.DilationRate, conv.Groups);
            Output = Keep([g.N, g.K, g.P, g.Q], input.Device);
            preActivationGradient = Keep([g.N, g.K, g.P, g.Q], input.Device);
            dx = inputNeedsGrad ? Keep([g.N, g.C, g.H, g.W], input.Device) : null;
            (dw, db) = (GradientFor(kernel), GradientFor(bias));
        }

        public override bool HasTrainableWeights => dw is not null || db is not null;

        public static ConvReluStage? TryCreate(Conv2D conv, Tensor input, bool inputNeedsGrad)
        {
            if (!conv.IsRelu || conv.DataFormat != DataFormat.ChannelsFirst || input.Rank != 4)
            {
                return null;
            }

            var stage = new ConvReluStage(conv, input, inputNeedsGrad);
            if (!input.Backend.TryConv2dBiasReluForward(stage.g, input.Buffer, stage.kernel.Value.Buffer, stage.bias?.Value.Buffer, stage.Output.Buffer))
            {
                stage.Dispose();
                return null;
            }

            return stage;
        }

        public override Tensor? GradientOf(Weight weight) => ReferenceEquals(weight, kernel) ? dw : ReferenceEquals(weight, bias) ? db : null;

        public override void Forward(IBackend backend, Tensor input) =>
            backend.TryConv2dBiasReluForward(g, input.Buffer, kernel.Value.Buffer, bias?.Value.Buffer, Output.Buffer);

        public override Tensor? Backward(IBackend backend, Tensor input, Tensor outputGradient)
        {
            // relu'(y) = relu'(x + b), so the bias + activation backward is evaluated at y itself.
            backend.BiasActivationBackward(default(ReluOp), Output.Buffer, null, Output.Buffer, outputGradient.Buffer, g.N, g.K, g.P * g.Q, preActivationGradient.Buffer, db?.Buffer);
            Tensor.WriteConvGradients(g, input, kernel.Value, preActivationGradient, dx, dw);
            return dx;
        }
    }

    /// <summary><see cref="Flatten"/>: a view of its input, whose gradient is the next stage's, read through the same buffer.</summary>
    private sealed class FlattenStage : Stage
    {
        public FlattenStage(Tensor input, bool inputNeedsGrad)
        {
            using (Tensor.NoGrad())
            {
                Output = Keep(input.Flatten(1));
            }

            HasInputGradient = inputNeedsGrad;
        }

        public override bool HasTrainableWeights => false;

        private bool HasInputGradient { get; }

        public override Tensor? GradientOf(Weight weight) => null;

        public override void Forward(IBackend backend, Tensor input)
        {
        }

        public override Tensor? Backward(IBackend backend, Tensor input, Tensor outputGradient) => HasInputGradient ? outputGradient : null;
    }
}
