// A Sequential model's training step laid out once for one batch shape, as Keras compiles its train
// step: each layer becomes a stage that calls the same backend kernels as the eager ops, in the same
// order, into tensors the plan keeps from step to step. Steps give the eager step's bits and, once
// warm, allocate nothing. Models with a layer, loss or input the plan does not cover train eagerly.
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

/// <summary>The forward, loss, backward and optimizer update of one training step on fixed buffers.</summary>
internal sealed partial class TrainingPlan : IDisposable
{
    private readonly Stage[] stages;
    private readonly Weight[] weights;
    private readonly bool[] weightNeedsGrad;
    private readonly Tensor?[] gradients;
    private readonly int[] inputShape;
    private readonly Device device;
    private readonly Loss loss;
    private readonly Optimizer optimizer;
    private readonly LossStage lossStage;

    private TrainingPlan(Stage[] stages, LossStage lossStage, Weight[] weights, int[] inputShape, Device device, Loss loss, Optimizer optimizer)
    {
        this.stages = stages;
        this.lossStage = lossStage;
        this.weights = weights;
        this.inputShape = inputShape;
        this.device = device;
        this.loss = loss;
        this.optimizer = optimizer;
        weightNeedsGrad = Array.ConvertAll(weights, w => w.Value.RequiresGrad);
        gradients = new Tensor?[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            foreach (var stage in stages)
            {
                gradients[i] ??= stage.GradientOf(weights[i]);
            }
        }
    }

    /// <summary>The logits of the last step (kept by the plan; read them before the next step).</summary>
    public Tensor Prediction => lossStage.Logits;

    /// <summary>The mean loss of the last step, a one-element tensor kept by the plan.</summary>
    public Tensor LossValue => lossStage.Value;

    /// <summary>
    /// A plan for <paramref name="model"/> on batches shaped like <paramref name="x"/> and <paramref name="y"/>, or null
    /// where a layer, the loss, the optimizer's settings or the data are outside what a plan covers.
    /// </summary>
    public static TrainingPlan? TryCreate(Sequential model, Tensor x, Tensor y, IReadOnlyList<Weight> trainable)
    {
        if (model.GetType() != typeof(Sequential) || model.Loss is not SparseCategoricalCrossentropy { FromLogits: true } loss ||
            model.Optimizer is not { ClipNorm: null, GlobalClipNorm: null } optimizer || !IsBatch(x, y, model.Device) || x.RequiresGrad)
        {
            return null;
        }

        var stages = new List<Stage>();
        try
        {
            Tensor input = x;
            bool inputNeedsGrad = false;
            var layers = model.Layers;
            for (int i = 0; i < layers.Count; i++)
            {
                if (layers[i] is InputLayer)
                {
                    continue;
                }

                var next = i + 1 < layers.Count ? layers[i + 1] : null;
                Stage? stage = layers[i] switch
                {
                    Conv2D conv when next is MaxPooling2D pool && conv.FusesWithMaxPool(pool) => ConvReluPoolStage.TryCreate(conv, pool, input, inputNeedsGrad),
                    Conv2D conv => ConvReluStage.TryCreate(conv, input, inputNeedsGrad),
                    Flatten => input.Rank >= 2 ? new FlattenStage(input, inputNeedsGrad) : null,
                    Dense dense => DenseStage.TryCreate(dense, input, inputNeedsGrad),
                    _ => null,
                };

                if (stage is null)
                {
                    return DisposeAll(stages);
                }

                stages.Add(stage);
                i += stage.LayersCovered - 1;
                input = stage.Output;
                inputNeedsGrad |= stage.HasTrainableWeights;
            }

            if (input.Rank != 2 || input.ShapeRef[1] == 0 || !inputNeedsGrad || stages.Count == 0)
            {
                return DisposeAll(stages);
            }

            var lossStage = new LossStage(input, loss.LabelSmoothing);
            var planWeights = trainable.ToArray();
            foreach (var w in planWeights)
            {
                if (!stages.Exists(s => s.GradientOf(w) is not null))
                {
                    lossStage.Dispose();
                    return DisposeAll(stages);
                }
            }

            return new TrainingPlan([.. stages], lossStage, planWeights, x.Shape, model.Device, loss, optimizer);
        }
        catch (ArgumentException)
        {
            // A geometry the eager ops would reject: let them report it.
            return DisposeAll(stages);
        }
    }

    /// <summary>Whether this plan still describes <paramref name="model"/> training on these inputs and weights.</summary>
    public bool Fits(Model model, Tensor x, Tensor y, IReadOnlyList<Weight> trainable)
    {
        if (!ReferenceEquals(model.Loss, loss) || !ReferenceEquals(model.Optimizer, optimizer) || optimizer.ClipNorm is not null ||
            optimizer.GlobalClipNorm is not null || model.Device != device || !IsBatch(x, y, device) || x.RequiresGrad ||
            !Shapes.SameShape(x.ShapeRef, inputShape) || trainable.Count != weights.Length)
        {
            return false;
        }

        for (int i = 0; i < weights.Length; i++)
        {
            if (!ReferenceEquals(trainable[i], weights[i]) || trainable[i].Value.RequiresGrad != weightNeedsGrad[i] || trainable[i].Value.Grad is not null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One step on <paramref name="x"/> and its int32 labels <paramref name="y"/>: forward, loss, backward and the optimizer's update.</summary>
    public void Step(Tensor x, Tensor y)
    {
        var backend = device.Backend;
        lossStage.CheckLabels(y);
        var input = x;
        foreach (var stage in stages)
        {
            stage.Forward(backend, input);
            input = stage.Output;
        }

        lossStage.Forward(backend, y);

        // Back to the first stage with a trainable weight: before it, nothing needs a gradient.
        Tensor? gradient = lossStage.Backward(backend, y);
        for (int i = stages.Length - 1; i >= 0 && gradient is not null; i--)
        {
            gradient = stages[i].Backward(backend, i == 0 ? x : stages[i - 1].Output, gradient);
        }

        optimizer.Step(weights, gradients);
    }

    /// <summary>Frees the plan's tensors.</summary>
    public void Dispose()
    {
        DisposeAll(stages);
        lossStage.Dispose();
    }

    /// <summary>A dense, non-empty float32 batch on the model's device with dense int32 labels [N] or [N, 1].</summary>
    private static bool IsBatch(Tensor x, Tensor y, Device device) =>
        x.DType == DType.Float32 && x.IsDense && x.Rank >= 2 && x.ShapeRef[0] > 0 && x.Device == device && !x.IsDisposed &&
        y.DType == DType.Int32 && y.IsDense && y.Rank is 1 or 2 && y.ShapeRef[0] == x.ShapeRef[0] && y.Numel == x.ShapeRef[0] && y.Device == device && !y.IsDisposed;

    private static TrainingPlan? DisposeAll(IEnumerable<Stage> stages)
    {
        foreach (var stage in stages)
        {
            stage.Dispose();
        }

        return null;
    }
}
