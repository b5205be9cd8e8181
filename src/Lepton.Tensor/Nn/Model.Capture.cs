// Captured steps: Fit, TrainOnBatch, Evaluate and Predict run a step of each batch shape eagerly
// once (lazily made state such as optimizer slots comes into being), capture the next one's backend
// calls while it runs, and replay that record for every later batch of the same shape: the batch is
// copied into the captured input buffers and the recorded calls run again, with no autograd graph,
// no tensors and no managed allocation. A step that reads a device value on the host cannot be
// replayed: the model then trains eagerly, after one warning that names the call.
using Lepton.Autograd;
using Lepton.Backends;
using Lepton.Capture;
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>The most captured steps a model keeps (by kind and batch shape); the least recently used goes first.</summary>
    private const int MaxCapturedSteps = 6;

    private readonly List<StepSlot> capturedSteps = [];

    /// <summary>Held while a thread runs a captured step: a step another thread starts meanwhile runs eagerly.</summary>
    private readonly object captureGate = new();
    private long stepClock;
    private string? captureBreak;

    /// <summary>The passes over captured steps (fusion, memory planning), on by default.</summary>
    public CaptureSettings Capture { get; } = new();

    /// <summary>Whether the last step of any kind replayed a captured step.</summary>
    internal bool LastStepReplayed { get; private set; }

    /// <summary>What the most recently captured step holds, or null before any.</summary>
    internal CaptureStatistics? LastCaptureStatistics { get; private set; }

    /// <summary>Why this model's steps run eagerly after a capture failed, or null.</summary>
    internal string? CaptureBreak => captureBreak;

    private enum StepKind
    {
        Train,
        Test,
        Predict,
    }

    /// <summary>
    /// Frees this model's captured steps, so the next steps of each batch shape run eagerly and capture again, and
    /// forgets a capture failure. Call it after changing a value your own code reads on the host inside a step (a loss
    /// weight read in an overridden <c>ComputeTrainingLoss</c>, a layer's setting read in <c>Forward</c>): a replay runs
    /// the calls made with the value it had when the step was captured, as a traced <c>tf.function</c> does. Changes
    /// of optimizer, loss, metrics, clipping, trainable layers, pruning masks, device and weights are detected without it.
    /// </summary>
    /// <example><code>klWeight = 0.5f; model.ClearCapturedSteps();</code></example>
    public void ClearCapturedSteps() => DropCaptures();

    /// <summary>Frees every captured step (the next steps capture again).</summary>
    private void DropCaptures()
    {
        lock (captureGate)
        {
            foreach (var slot in capturedSteps)
            {
                slot.Dispose();
            }

            capturedSteps.Clear();
            captureBreak = null;
        }
    }

    /// <summary>Whether steps on these inputs may be captured at all (never inside another model's step being captured:
    /// the nested step runs eagerly and the outer capture records it).</summary>
    private bool MayCapture(Tensor x, Tensor? y) =>
        !RunEagerly && captureBreak is null && !StepCapture.Active && Built && x.Device == Device && !x.RequiresGrad && x.Rank >= 1 && x.Numel > 0 &&
        (y is null || (y.Device == Device && !y.RequiresGrad && y.Numel > 0));

    /// <summary>The slot for this kind of step on inputs shaped like these, made (evicting the stalest) when new.</summary>
    private StepSlot SlotFor(StepKind kind, int phase, Tensor x, Tensor? y)
    {
        stepClock++;
        foreach (var slot in capturedSteps)
        {
            if (slot.Matches(kind, phase, x, y))
            {
                slot.LastUsed = stepClock;
                return slot;
            }
        }

        if (capturedSteps.Count >= MaxCapturedSteps)
        {
            var stalest = capturedSteps[0];
            foreach (var slot in capturedSteps)
            {
                stalest = slot.LastUsed < stalest.LastUsed ? slot : stalest;
            }

            stalest.Dispose();
            capturedSteps.Remove(stalest);
        }

        var made = new StepSlot(kind, phase, x, y) { LastUsed = stepClock };
        capturedSteps.Add(made);
        return made;
    }

    /// <summary>Runs one training step, replaying its capture where one fits; false where the caller runs it eagerly.</summary>
    private bool TryCapturedTrainStep(Tensor x, Tensor y, MeanMetric lossMean, IReadOnlyList<Weight> trainable, int phase) =>
        GradMode.IsEnabled && Optimizer is not null && !AnyGradient(trainable) && TryCaptured(StepKind.Train, phase, x, y, trainable, lossMean, out _);

    /// <summary>Runs one evaluation step, replaying its capture where one fits; false where the caller runs it eagerly.</summary>
    private bool TryCapturedTestStep(Tensor x, Tensor y, MeanMetric lossMean) => TryCaptured(StepKind.Test, 0, x, y, [], lossMean, out _);

    /// <summary>The model's output for one batch through a captured forward pass, or null where the caller runs it eagerly.</summary>
    private Tensor? TryCapturedPredict(Tensor x) => TryCaptured(StepKind.Predict, 0, x, null, [], null, out var output) ? output : null;

    /// <summary>
    /// Runs a step of this kind on this batch through its slot: replays the slot's capture where it still fits, else
    /// captures this step while running it (after one eager step per slot, which makes lazily created state). False, having
    /// run nothing, where the step should run eagerly: capture is off, the batch does not qualify, another thread is
    /// running a captured step of this model, or the slot is still warming up.
    /// </summary>
    private bool TryCaptured(StepKind kind, int phase, Tensor x, Tensor? y, IReadOnlyList<Weight> weights, MeanMetric? lossMean, out Tensor? output)
    {
        output = null;
        if (!MayCapture(x, y) || !Monitor.TryEnter(captureGate))
        {
            return false;
        }

        try
        {
            var slot = SlotFor(kind, phase, x, y);
            if (slot.TryReplay(this, x, y, weights, lossMean))
            {
                output = kind == StepKind.Predict ? slot.CopyOutput() : null;
                return true;
            }

            if (slot.Seen++ == 0)
            {
                return false;
            }

            var (cx, cy) = slot.Bind(x, y);
            var capture = StepCapture.Begin(Device);
            CapturedStep? step;
            string? reason;
            bool broken;
            try
            {
                using (Tensor.NewScope())
                {
                    switch (kind)
                    {
                        case StepKind.Train:
                            EagerTrainStep(cx, cy!, lossMean!, weights, phase);
                            break;
                        case StepKind.Test:
                            TestStep(cx, cy!, lossMean!);
                            break;
                        default:
                            slot.Output?.Dispose();
                            slot.Output = Call(cx, training: false).DenseData().DetachFromScope();
                            break;
                    }
                }

                step = capture.End(slot.Output is { } o ? [o.Buffer] : [], Capture, out reason, out broken);
            }
            finally
            {
                capture.Dispose();
            }

            // A prediction's output buffer stays the slot's; the caller gets a copy in its own scope.
            try
            {
                output = kind == StepKind.Predict ? slot.CopyOutput() : null;
            }
            finally
            {
                slot.Captured(this, step, weights, lossMean);
            }

            // A capture refused for a reason that comes back every step (state made anew each step) stops being retried.
            slot.Rejections = step is null ? slot.Rejections + 1 : 0;
            Captured(step, reason, broken || slot.Rejections >= 3);
            return true;
        }
        finally
        {
            Monitor.Exit(captureGate);
        }
    }

    /// <summary>Records what a capture made: its statistics, or the warning of a capture that cannot replay.</summary>
    private void Captured(CapturedStep? step, string? reason, bool broken)
    {
        if (step is not null)
        {
            LastCaptureStatistics = step.Statistics;
        }
        else if (broken && captureBreak is null)
        {
            captureBreak = reason;
            Output.WriteLine($"Warning: {Name}: a step of this model cannot be captured: it {reason}. It runs eagerly from now on (set RunEagerly = true to say so and silence this).");
        }
    }

    private static bool AnyGradient(IReadOnlyList<Weight> trainable)
    {
        for (int i = 0; i < trainable.Count; i++)
        {
            if (trainable[i].Value.Grad is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One kind of step on one batch shape: its input buffers and, once captured, the step.</summary>
    private sealed class StepSlot : IDisposable
    {
        private readonly StepKind kind;
        private readonly int phase;
        private readonly int[] xShape;
        private readonly DType xType;
        private readonly int[]? yShape;
        private readonly DType yType;
        private Tensor? x;
        private Tensor? y;
        private CapturedStep? step;
        private Optimizer? optimizer;
        private Loss? loss;
        private float? clipNorm;
        private float? globalClipNorm;
        private bool hooked;
        private GradientReducer? reducer;
        private Weight[] trainable = [];
        private IReadOnlyList<Metric> metrics = [];
        private MeanMetric? lossMean;
        private Tensor?[] masks = [];
        private int accumulation;
        private long trainableChanges;

        public StepSlot(StepKind kind, int phase, Tensor x, Tensor? y)
        {
            this.kind = kind;
            this.phase = phase;
            xShape = x.Shape;
            xType = x.DType;
            yShape = y?.Shape;
            yType = y?.DType ?? DType.Float32;
        }

        public long LastUsed { get; set; }

        /// <summary>Eager steps seen before a capture (the first one warms lazily made state).</summary>
        public int Seen { get; set; }

        /// <summary>Captures in a row that could not be kept.</summary>
        public int Rejections { get; set; }

        /// <summary>A prediction step's output buffer, read after each replay.</summary>
        public Tensor? Output { get; set; }

        public bool Matches(StepKind kind, int phase, Tensor x, Tensor? y) =>
            kind == this.kind && phase == this.phase && x.DType == xType && Shapes.SameShape(x.ShapeRef, xShape) &&
            (y is null ? yShape is null : yShape is not null && y.DType == yType && Shapes.SameShape(y.ShapeRef, yShape));

        /// <summary>The slot's input tensors, holding copies of <paramref name="batchX"/> and <paramref name="batchY"/>.</summary>
        public (Tensor X, Tensor? Y) Bind(Tensor batchX, Tensor? batchY)
        {
            using (Tensor.NoGrad())
            {
                x ??= Tensor.Empty(xShape, batchX.Device, xType).DetachFromScope();
                if (batchY is not null)
                {
                    y ??= Tensor.Empty(yShape!, batchY.Device, yType).DetachFromScope();
                }
            }

            Copy(batchX, batchY);
            return (x, y);
        }

        /// <summary>Keeps a captured step (or none) with the configuration it was captured under.</summary>
        public void Captured(Model model, CapturedStep? captured, IReadOnlyList<Weight> weights, MeanMetric? lossMean)
        {
            this.lossMean = lossMean;
            step?.Dispose();
            step = captured;
            optimizer = model.Optimizer;
            loss = model.Loss;
            metrics = model.Metrics;
            clipNorm = model.Optimizer?.ClipNorm;
            globalClipNorm = model.Optimizer?.GlobalClipNorm;
            hooked = model.GradientReady is not null;
            reducer = model.reducer;
            trainable = [.. weights];
            masks = Array.ConvertAll(trainable, w => w.PruningMask);
            accumulation = model.accumulation;
            trainableChanges = Layer.TrainableChanges;
            if (captured is null)
            {
                Output?.Dispose();
                Output = null;
            }
        }

        /// <summary>Replays the captured step on this batch if it still fits the model; false when the step must run otherwise.</summary>
        public bool TryReplay(Model model, Tensor batchX, Tensor? batchY, IReadOnlyList<Weight> weights, MeanMetric? loss)
        {
            if (step is null)
            {
                return false;
            }

            if (!ReferenceEquals(loss, lossMean) || !Fits(model, weights) || !step.IsValid())
            {
                step.Dispose();
                step = null;
                return false;
            }

            Copy(batchX, batchY);
            step.Replay();
            model.LastStepReplayed = true;
            return true;
        }

        /// <summary>A new tensor with the output of the last replay.</summary>
        public Tensor CopyOutput() => Output!.CopyDense();

        private bool Fits(Model model, IReadOnlyList<Weight> weights)
        {
            // A training step captured without a GradientReady handler recorded no call to one: once a handler is set,
            // it is captured again (one captured with a handler checks for it at each replay).
            if (!ReferenceEquals(model.Optimizer, optimizer) || !ReferenceEquals(model.Loss, loss) || !ReferenceEquals(model.Metrics, metrics) ||
                model.Optimizer?.ClipNorm != clipNorm || model.Optimizer?.GlobalClipNorm != globalClipNorm || weights.Count != trainable.Length ||
                (kind == StepKind.Train && model.accumulation != accumulation) || Layer.TrainableChanges != trainableChanges ||
                (kind == StepKind.Train && ((!hooked && model.GradientReady is not null) || !ReferenceEquals(model.reducer, reducer))))
            {
                return false;
            }

            for (int i = 0; i < trainable.Length; i++)
            {
                if (!ReferenceEquals(weights[i], trainable[i]) || !weights[i].Value.RequiresGrad || !ReferenceEquals(weights[i].PruningMask, masks[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private void Copy(Tensor batchX, Tensor? batchY)
        {
            batchX.Device.RealBackend.CopyElements(batchX.View, x!.View);
            if (batchY is not null)
            {
                batchY.Device.RealBackend.CopyElements(batchY.View, y!.View);
            }
        }

        public void Dispose()
        {
            step?.Dispose();
            step = null;
            x?.Dispose();
            y?.Dispose();
            Output?.Dispose();
            (x, y, Output) = (null, null, null);
        }
    }
}
