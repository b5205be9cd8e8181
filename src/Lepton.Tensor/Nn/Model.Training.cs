// Fit, Evaluate, Predict, TrainOnBatch and TestOnBatch. Every step runs in a tensor scope, so all of
// a step's intermediates are freed when it ends and a long run keeps flat memory.
using Lepton.Autograd;
using Lepton.Data;
using Lepton.Nn.Callbacks;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>Examples trained on so far in the current epoch (for the training meter's throughput).</summary>
    private long epochExamples;

    /// <summary>Trains on in-memory tensors for a number of epochs.</summary>
    /// <param name="x">Inputs, batch first (at least one example).</param>
    /// <param name="y">Targets, one per example, shaped as the loss expects.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Examples per step.</param>
    /// <param name="validationData">Data to evaluate after each epoch (val_ logs).</param>
    /// <param name="validationSplit">Fraction of the data, taken from the end before shuffling, held out for validation.</param>
    /// <param name="shuffle">Reshuffle the training data every epoch.</param>
    /// <param name="callbacks">Hooks such as EarlyStopping.</param>
    /// <param name="verbose">0 silent, 1 progress line (redrawn on a terminal), 2 one line per epoch.</param>
    /// <param name="seed">Seed for shuffling.</param>
    /// <param name="cancellationToken">Stops training between batches.</param>
    /// <param name="gradientAccumulation">Batches whose gradients are averaged into one optimizer update (1: update every batch).</param>
    /// <example><code>var history = model.Fit(x, y, epochs: 3, batchSize: 64, validationSplit: 0.1f);</code></example>
    public History Fit(
        Tensor x, Tensor y, int epochs = 1, int batchSize = 32, (Tensor X, Tensor Y)? validationData = null, float validationSplit = 0f,
        bool shuffle = true, IEnumerable<Callback>? callbacks = null, int verbose = 1, ulong? seed = null, CancellationToken cancellationToken = default,
        int gradientAccumulation = 1)
    {
        if (validationSplit is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(validationSplit), validationSplit, "Fit: validationSplit must be in [0, 1).");
        }

        var all = new TensorDataset(x, y);
        var train = all;
        TensorDataset? validation = validationData is { } v ? new TensorDataset(v.X, v.Y) : null;
        if (validationSplit > 0)
        {
            int held = (int)(all.Count * validationSplit);
            if (held == 0 && all.Count > 0)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(validationSplit), validationSplit, $"Fit: validationSplit {validationSplit.ToString(System.Globalization.CultureInfo.InvariantCulture)} of {all.Count} examples holds none out; use a larger split or pass validationData.");
            }

            train = all.Take(0, all.Count - held);
            validation = all.Take(all.Count - held, held);
        }

        var trainLoader = new DataLoader(train, batchSize, shuffle, seed ?? Generator.Seed, device: Device);
        var validationLoader = validation is null ? null : new DataLoader(validation, batchSize, device: Device);
        return Fit(trainLoader, epochs, validationLoader, callbacks, verbose, cancellationToken, gradientAccumulation);
    }

    /// <summary>
    /// Trains on batches from a data loader (shuffling and augmentation are the loader's). While
    /// <see cref="Distributed.Current"/> has more than one rank, trains data-parallel: each rank takes its
    /// <see cref="DistributedSampler"/> shard of every epoch (the loader's batch size is per rank) and gradients are
    /// averaged over the ranks; see the README's data-parallel section.
    /// </summary>
    /// <param name="train">The training batches; a loader that gives none is an <see cref="ArgumentException"/>.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="validation">Batches to evaluate after each epoch (val_ logs), or null.</param>
    /// <param name="callbacks">Hooks such as EarlyStopping.</param>
    /// <param name="verbose">0 silent, 1 progress line (redrawn on a terminal), 2 one line per epoch.</param>
    /// <param name="cancellationToken">Stops training between batches.</param>
    /// <param name="gradientAccumulation">
    /// Batches whose gradients are averaged into one optimizer update (1: update every batch): with k, the optimizer steps
    /// after every k-th batch on the mean of the k gradients, as one batch k times larger would give for equal batches.
    /// Gradients of a last incomplete group are dropped when Fit returns.
    /// </param>
    /// <example><code>model.Fit(new DataLoader(train, 64, shuffle: true), epochs: 10, validation: new DataLoader(test, 256));</code></example>
    public History Fit(
        DataLoader train, int epochs = 1, DataLoader? validation = null, IEnumerable<Callback>? callbacks = null, int verbose = 1,
        CancellationToken cancellationToken = default, int gradientAccumulation = 1)
    {
        RequireCompiled("Fit");
        if (epochs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "Fit: epochs cannot be negative.");
        }

        if (gradientAccumulation < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(gradientAccumulation), gradientAccumulation, "Fit: gradientAccumulation must be at least 1.");
        }

        RequireExamples("Fit", "the training data", train);
        if (validation is not null)
        {
            RequireExamples("Fit", "the validation data", validation);
        }

        var history = new History();
        var all = new List<Callback>(callbacks ?? []) { history };
        var group = DataParallelGroup;
        if (group is not null)
        {
            (train, validation, verbose, all) = ForRank(group, train, validation, verbose, all);
        }

        foreach (var c in all)
        {
            c.Model = this;
        }

        return OnEveryRank(group, "Fit", () => FitEpochs(group, train, epochs, validation, all, history, verbose, cancellationToken, gradientAccumulation));
    }

    private History FitEpochs(
        Distributed? group, DataLoader train, int epochs, DataLoader? validation, List<Callback> all, History history, int verbose,
        CancellationToken cancellationToken, int gradientAccumulation)
    {
        StopTraining = false;
        using var shard = group is null ? default : Generator.ShardBatches(group.Rank, group.WorldSize);
        accumulation = gradientAccumulation;
        accumulated = 0;
        var lossMean = ResetMetrics(trainLoss);
        var logs = new Dictionary<string, double>();
        foreach (var c in all)
        {
            c.OnTrainBegin();
        }

        try
        {
            for (int epoch = 0; epoch < epochs && !StopTraining; epoch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (var c in all)
                {
                    c.OnEpochBegin(epoch);
                }

                lossMean = ResetMetrics(trainLoss);
                epochExamples = 0;

                var progress = verbose > 0 ? new ProgressBar(Output, epoch, epochs, train.Count, verbose) : null;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                int step = 0;
                var start = group is null || reducer is not null ? null : (Action)(() => StartDataParallel(
                    group,
                    "Fit",
                    [("batch size", train.BatchSize), ("shuffling seed", (long)train.Seed), ("epochs", epochs), ("gradient accumulation", gradientAccumulation)],
                    train.Dataset.Count));
                foreach (var batchLogs in TrainBatches(train, lossMean, start, cancellationToken))
                {
                    step++;
                    progress?.Update(step, batchLogs);
                    foreach (var c in all)
                    {
                        c.OnTrainBatchEnd(step - 1, batchLogs);
                    }

                    if (StopTraining)
                    {
                        break;
                    }
                }

                if (group is not null)
                {
                    SumMetricsOverRanks(group, lossMean, Metrics);
                }

                logs = CurrentLogs(lossMean);
                if (validation is not null)
                {
                    foreach (var (key, value) in Evaluate(validation, cancellationToken))
                    {
                        logs["val_" + key] = value;
                    }
                }

                history.EpochSeconds.Add(clock.Elapsed.TotalSeconds);
                TrainingMetrics.RecordEpoch(Name, logs, epochExamples, clock.Elapsed.TotalSeconds);
                progress?.Finish(step, logs);
                foreach (var c in all)
                {
                    c.OnEpochEnd(epoch, logs);
                }
            }
        }
        finally
        {
            EndDataParallel();
            DropAccumulatedGradients();
            accumulation = 1;
            accumulated = 0;
            foreach (var c in all)
            {
                c.OnTrainEnd(logs);
            }
        }

        return history;
    }

    /// <summary>Loss and metrics over in-memory data.</summary>
    /// <param name="x">Inputs, batch first (at least one example).</param>
    /// <param name="y">Targets, one per example, shaped as the loss expects.</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <example><code>var result = model.Evaluate(xTest, yTest); Console.WriteLine(result["accuracy"]);</code></example>
    public Dictionary<string, double> Evaluate(Tensor x, Tensor y, int batchSize = 32, CancellationToken cancellationToken = default) =>
        Evaluate(new DataLoader(new TensorDataset(x, y), batchSize, device: Device), cancellationToken);

    /// <summary>Loss and metrics over a data loader's batches.</summary>
    /// <param name="data">The batches; a loader that gives none is an <see cref="ArgumentException"/>.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <example><code>var result = model.Evaluate(testLoader);</code></example>
    public Dictionary<string, double> Evaluate(DataLoader data, CancellationToken cancellationToken = default)
    {
        RequireCompiled("Evaluate");
        RequireExamples("Evaluate", "the data", data);
        var group = DataParallelGroup;
        if (group is not null && data.Sampler is null)
        {
            data = data.WithSampler(new DistributedSampler(group.Rank, group.WorldSize, padToEqual: false));
        }

        return OnEveryRank(group, "Evaluate", () => EvaluateBatches(group, data, cancellationToken));
    }

    private Dictionary<string, double> EvaluateBatches(Distributed? group, DataLoader data, CancellationToken cancellationToken)
    {
        var lossMean = ResetMetrics(testLoss);

        foreach (var (x, y) in data.Batches(cancellationToken))
        {
            using (Tensor.NewScope())
            using (Tensor.NoGrad())
            {
                CheckTargets(x, y);
                LastStepReplayed = false;
                if (!TryCapturedTestStep(x, y, lossMean))
                {
                    TestStep(x, y, lossMean);
                }
            }

            x.Dispose();
            y.Dispose();
        }

        if (group is not null)
        {
            SumMetricsOverRanks(group, lossMean, Metrics);
        }

        return CurrentLogs(lossMean);
    }

    /// <summary>Outputs for in-memory inputs, computed in batches without gradients.</summary>
    /// <remarks>
    /// Inputs with no examples ([0, ...]) give an empty result [0, ...the output shape per example], as Keras gives an
    /// empty array; the output shape comes from running the model on one zero example (building it, if needed, for the
    /// inputs' shape per example).
    /// </remarks>
    /// <param name="x">Inputs, batch first.</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <example><code>var probabilities = model.Predict(xTest, batchSize: 256);</code></example>
    public Tensor Predict(Tensor x, int batchSize = 32, CancellationToken cancellationToken = default)
    {
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Predict: batch size must be positive.");
        }

        if (x.Rank == 0)
        {
            throw new ArgumentException("Predict: the inputs need a batch dimension; got a scalar (shape []).", nameof(x));
        }

        int n = x.ShapeRef[0];
        if (n == 0)
        {
            return EmptyPrediction(x);
        }

        var outputs = new List<Tensor>();
        for (int start = 0; start < n; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = Tensor.NewScope();
            using var noGrad = Tensor.NoGrad();
            var batch = x.Narrow(0, start, Math.Min(batchSize, n - start)).To(Device);
            LastStepReplayed = false;
            outputs.Add((TryCapturedPredict(batch) ?? Call(batch, training: false).Contiguous()).MoveToOuter());
        }

        var result = outputs.Count == 1 ? outputs[0] : Tensor.Concat([.. outputs]);
        if (outputs.Count > 1)
        {
            outputs.ForEach(o => o.Dispose());
        }

        return result;
    }

    /// <summary>
    /// One optimizer step on one batch; returns the batch's loss and metrics. In data-parallel training each rank passes
    /// its own batch and the gradients are averaged over the ranks (the first call checks that every rank has the same
    /// model and starts them from rank 0's weights); the logs are this rank's.
    /// </summary>
    /// <example><code>var logs = model.TrainOnBatch(xBatch, yBatch);</code></example>
    public Dictionary<string, double> TrainOnBatch(Tensor x, Tensor y)
    {
        RequireCompiled("TrainOnBatch");
        var group = DataParallelGroup;
        return OnEveryRank(group, "TrainOnBatch", () =>
        {
            var lossMean = ResetMetrics(trainLoss);
            using var shard = group is null ? default : Generator.ShardBatches(group.Rank, group.WorldSize);
            using (Tensor.NewScope())
            {
                var input = x.To(Device);
                if (!Built)
                {
                    EnsureBuiltFor([input]);
                }

                var trainable = RequireGradOnTrainable();
                if (group is not null && reducer is null)
                {
                    StartDataParallel(group, "TrainOnBatch", [("batch size", input.ShapeRef[0])]);
                }

                TrainStep(input, y.To(Device), lossMean, trainable);
            }

            return CurrentLogs(lossMean);
        });
    }

    /// <summary>Loss and metrics of one batch, without training.</summary>
    /// <example><code>var logs = model.TestOnBatch(xBatch, yBatch);</code></example>
    public Dictionary<string, double> TestOnBatch(Tensor x, Tensor y)
    {
        RequireCompiled("TestOnBatch");
        var lossMean = ResetMetrics(testLoss);

        using (Tensor.NewScope())
        using (Tensor.NoGrad())
        {
            var (input, target) = (x.To(Device), y.To(Device));
            CheckTargets(input, target);
            TestStep(input, target, lossMean);
        }

        return CurrentLogs(lossMean);
    }

    private IEnumerable<IReadOnlyDictionary<string, double>> TrainBatches(DataLoader train, MeanMetric lossMean, Action? onFirstBatch, CancellationToken cancellationToken)
    {
        IReadOnlyList<Weight>? trainable = null;
        foreach (var (x, y) in train.Batches(cancellationToken))
        {
            using (Tensor.NewScope())
            {
                // Weights exist once the first batch has built the model.
                if (trainable is null)
                {
                    EnsureBuiltFor([x]);
                    trainable = RequireGradOnTrainable();
                    onFirstBatch?.Invoke();
                }

                long started = TrainingMetrics.StepStarted();
                TrainStep(x, y, lossMean, trainable);
                TrainingMetrics.RecordStep(Name, x.ShapeRef[0], started);
                epochExamples += x.ShapeRef[0];
            }

            x.Dispose();
            y.Dispose();

            yield return new BatchLogs(this, lossMean);
        }
    }

    /// <summary>
    /// One training step on a batch: replayed from its capture where one fits (see Model.Capture.cs), else eagerly. With
    /// gradient accumulation the step adds its gradients to the accumulated ones and every k-th applies their mean.
    /// </summary>
    internal void TrainStep(Tensor x, Tensor y, MeanMetric lossMean, IReadOnlyList<Weight> trainable)
    {
        CheckTargets(x, y);
        int phase = accumulation == 1 ? 0 : ++accumulated % accumulation == 0 ? 2 : 1;
        LastStepReplayed = false;
        if (!TryCapturedTrainStep(x, y, lossMean, trainable, phase))
        {
            EagerTrainStep(x, y, lossMean, trainable, phase);
        }
    }

    /// <summary>The step through autograd: forward, loss, backward (with the gradient-ready hook), update, loss and metrics.</summary>
    /// <param name="x">The batch's inputs.</param>
    /// <param name="y">The batch's targets.</param>
    /// <param name="lossMean">The running mean of the loss.</param>
    /// <param name="trainable">The weights to update.</param>
    /// <param name="phase">0 without accumulation; 1 to accumulate this batch's gradients; 2 to accumulate and apply.</param>
    private void EagerTrainStep(Tensor x, Tensor y, MeanMetric lossMean, IReadOnlyList<Weight> trainable, int phase)
    {
        var prediction = Call(x, training: true);
        var loss = ComputeTrainingLoss(x, y, prediction);
        bool hooked = GradientReady is not null || reducer is not null;
        var previous = hooked ? Engine.SetLeafReady(leafReady ??= OnLeafReady) : null;
        try
        {
            loss.Backward();
        }
        finally
        {
            if (hooked)
            {
                Engine.SetLeafReady(previous);
            }
        }

        if (reducer is not null)
        {
            FinishGradientReduction(reducer);
        }

        if (phase == 0)
        {
            Optimizer!.Step(trainable);
        }
        else
        {
            AccumulateGradients(trainable, apply: phase == 2);
        }

        lossMean.Add(loss, x.ShapeRef[0]);
        foreach (var m in Metrics)
        {
            m.Update(y, prediction);
        }
    }

    /// <summary>
    /// The scalar one training step minimizes, from the batch and the model's training-mode prediction; by default the
    /// compiled <see cref="Loss"/> of the targets and the prediction. Override it to train on more than that loss (as
    /// <see cref="Distiller"/> adds the teacher's soft targets); the step's backward pass, optimizer step, loss mean and
    /// metrics (on <paramref name="prediction"/>) stay the base's. Evaluate and TestOnBatch report the compiled loss
    /// alone. Steps of a model that overrides it are captured and replayed like any other.
    /// </summary>
    /// <param name="x">The batch's inputs, on the model's device.</param>
    /// <param name="y">The batch's targets, on the model's device.</param>
    /// <param name="prediction">The model's output for <paramref name="x"/> in training mode, with its autograd graph.</param>
    /// <returns>A scalar tensor to differentiate.</returns>
    /// <example><code>
    /// protected override Tensor ComputeTrainingLoss(Tensor x, Tensor y, Tensor prediction) =>
    ///     base.ComputeTrainingLoss(x, y, prediction) + (prediction * prediction).Mean() * 1e-3f;
    /// </code></example>
    protected virtual Tensor ComputeTrainingLoss(Tensor x, Tensor y, Tensor prediction) => Loss!.Compute(y, prediction);

    /// <summary>
    /// The trainable weights, after making them the only ones that require a gradient: a frozen layer's weights
    /// (Trainable set to false) get none computed, and lose any left from before they were frozen.
    /// </summary>
    private IReadOnlyList<Weight> RequireGradOnTrainable()
    {
        var trainable = TrainableWeights;
        foreach (var w in trainable)
        {
            if (w.Value.DType != DType.Float32)
            {
                throw new InvalidOperationException(
                    $"{Name}: weight '{w.Name}' is {w.Value.DType.Name()}; training updates float32 weights. Call CastWeights(DType.Float32) before training, or freeze the layer.");
            }
        }

        foreach (var w in Weights)
        {
            bool train = false;
            for (int i = 0; i < trainable.Count && !train; i++)
            {
                train = ReferenceEquals(trainable[i], w);
            }

            w.Value.RequiresGrad = train;
            if (!train)
            {
                w.Value.ZeroGrad();
            }
        }

        return trainable;
    }

    private void TestStep(Tensor x, Tensor y, MeanMetric lossMean)
    {
        var prediction = Call(x, training: false);
        lossMean.Add(Loss!.Compute(y, prediction), x.ShapeRef[0]);
        foreach (var m in Metrics)
        {
            m.Update(y, prediction);
        }
    }

    /// <summary>Clears the compiled metrics and <paramref name="loss"/>, which it returns.</summary>
    /// <remarks>The metrics keep their device buffers, so captured steps go on adding into them.</remarks>
    private MeanMetric ResetMetrics(MeanMetric loss)
    {
        foreach (var m in Metrics)
        {
            m.Reset();
        }

        loss.Reset();
        return loss;
    }

    internal Dictionary<string, double> CurrentLogs(MeanMetric lossMean)
    {
        var logs = new Dictionary<string, double> { ["loss"] = lossMean.Result() };
        foreach (var m in Metrics)
        {
            logs[m.Name] = m.Result();
        }

        return logs;
    }

    private void RequireCompiled(string what)
    {
        if (Optimizer is null || Loss is null)
        {
            throw new InvalidOperationException($"{Name}: call Compile(optimizer, loss, metrics) before {what}.");
        }
    }
}
