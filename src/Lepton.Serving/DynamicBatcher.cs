// Collects concurrent requests for one model version into batches and runs each batch through one
// Predict on a dedicated worker thread; every caller gets its own rows back. The queue is bounded.
using System.Diagnostics;
using Lepton.Nn;

namespace Lepton.Serving;

/// <summary>A bounded queue of requests and the single worker that batches them through <see cref="Model.Predict"/>.</summary>
internal sealed class DynamicBatcher
{
    private readonly object gate = new();
    private readonly LinkedList<PendingRequest> queue = new();
    private readonly Model model;
    private readonly string modelName;
    private readonly ServingOptions options;
    private readonly ServingMetrics metrics;
    private readonly string version;
    private readonly Thread worker;
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool completed;
    private int arriving;

    public DynamicBatcher(string modelName, long version, Model model, int[] inputShape, int[] outputShape, ServingOptions options, ServingMetrics metrics)
    {
        this.modelName = modelName;
        this.version = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        this.model = model;
        this.options = options;
        this.metrics = metrics;
        InputShape = inputShape;
        OutputShape = outputShape;
        InputSize = Size(inputShape);
        OutputSize = Size(outputShape);
        worker = new Thread(Work) { IsBackground = true, Name = $"lepton-serving {modelName} v{version}" };
        worker.Start();
    }

    /// <summary>The shape of one input example.</summary>
    public int[] InputShape { get; }

    /// <summary>The shape of one output example.</summary>
    public int[] OutputShape { get; }

    /// <summary>Elements in one input example.</summary>
    public int InputSize { get; }

    /// <summary>Elements in one output example.</summary>
    public int OutputSize { get; }

    /// <summary>Requests waiting now.</summary>
    public int QueueDepth
    {
        get
        {
            lock (gate)
            {
                return queue.Count;
            }
        }
    }

    /// <summary>Completes once the worker has answered every request it took and stopped.</summary>
    public Task Stopped => stopped.Task;

    /// <summary>Announces a request being received; it ends with <see cref="PredictAsync"/> or <see cref="Withdraw"/>.</summary>
    public void Announce() => Interlocked.Increment(ref arriving);

    /// <summary>Ends an announcement without queueing (bad input, empty batch).</summary>
    public void Withdraw()
    {
        lock (gate)
        {
            arriving--;
            Monitor.Pulse(gate);
        }
    }

    /// <summary>Queues <paramref name="rows"/> examples and returns their outputs once their batch has run.</summary>
    /// <exception cref="ServingException">503 when the queue is full or the version is shutting down.</exception>
    public async Task<float[]> PredictAsync(float[] input, int rows, CancellationToken cancellationToken)
    {
        var request = new PendingRequest(input, rows);
        lock (gate)
        {
            arriving--;
            if (completed)
            {
                throw new ServingException(503, $"model '{modelName}' version {version} is shutting down; retry.");
            }

            if (queue.Count >= options.QueueCapacity)
            {
                throw new ServingException(503, $"model '{modelName}': the queue is full ({options.QueueCapacity} requests waiting); retry later.");
            }

            request.Node = queue.AddLast(request);
            metrics.QueueDepth.WithLabels(modelName, version).Set(queue.Count);
            Monitor.Pulse(gate);
        }

        // A caller that goes away leaves the queue at once, freeing its slot; one already taken into a batch is
        // dropped from it when the batch has not started yet.
        using var registration = cancellationToken.Register(() => Cancel(request, cancellationToken));
        return await request.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Stops taking requests; the worker answers those already queued, then stops.</summary>
    public void Complete()
    {
        lock (gate)
        {
            completed = true;
            Monitor.PulseAll(gate);
        }
    }

    private void Cancel(PendingRequest request, CancellationToken token)
    {
        lock (gate)
        {
            if (request.Node is not null)
            {
                queue.Remove(request.Node);
                request.Node = null;
                metrics.QueueDepth.WithLabels(modelName, version).Set(queue.Count);
            }
        }

        request.Completion.TrySetCanceled(token);
    }

    private void Work()
    {
        var batch = new List<PendingRequest>();
        while (TakeBatch(batch))
        {
            Run(batch);
            batch.Clear();
        }

        stopped.TrySetResult();
    }

    /// <summary>
    /// Waits for a first request, then takes more until the batch is full or the wait is over (with an adaptive wait,
    /// also when no other request is on its way).
    /// </summary>
    private bool TakeBatch(List<PendingRequest> batch)
    {
        lock (gate)
        {
            while (queue.Count == 0)
            {
                if (completed)
                {
                    return false;
                }

                Monitor.Wait(gate);
            }

            int rows = Take(batch);
            long deadline = Stopwatch.GetTimestamp() + (long)(options.MaxWait.TotalSeconds * Stopwatch.Frequency);
            while (rows < options.MaxBatchSize)
            {
                if (queue.Count == 0)
                {
                    long remaining = deadline - Stopwatch.GetTimestamp();
                    if (completed || remaining <= 0 || (options.AdaptiveWait && Volatile.Read(ref arriving) <= 0))
                    {
                        break;
                    }

                    Monitor.Wait(gate, TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency));
                    continue;
                }

                if (rows + queue.First!.Value.Rows > options.MaxBatchSize)
                {
                    break;
                }

                rows += Take(batch);
            }

            metrics.QueueDepth.WithLabels(modelName, version).Set(queue.Count);
            return true;
        }
    }

    private int Take(List<PendingRequest> batch)
    {
        var request = queue.First!.Value;
        queue.RemoveFirst();
        request.Node = null;
        batch.Add(request);
        return request.Rows;
    }

    /// <summary>Runs the batch's live requests through one Predict and hands each its rows.</summary>
    private void Run(List<PendingRequest> batch)
    {
        // Requests whose callers left while the batch formed are dropped before it starts.
        batch.RemoveAll(r => r.Completion.Task.IsCompleted);
        int rows = 0;
        foreach (var request in batch)
        {
            rows += request.Rows;
        }

        if (rows == 0)
        {
            return;
        }

        try
        {
            var input = new float[(long)rows * InputSize];
            int offset = 0;
            foreach (var request in batch)
            {
                request.Input.CopyTo(input, offset);
                offset += request.Input.Length;
            }

            long start = Stopwatch.GetTimestamp();
            float[] output;
            using (Tensor.NewScope())
            {
                using var x = Tensor.FromArray(input, [rows, .. InputShape]);
                using var y = model.Predict(x, batchSize: rows);
                output = y.ToArray();
            }

            metrics.PredictLatency.WithLabels(modelName, version).Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
            metrics.BatchSize.WithLabels(modelName, version).Observe(rows);
            offset = 0;
            foreach (var request in batch)
            {
                int length = request.Rows * OutputSize;
                request.Completion.TrySetResult(output.AsSpan(offset, length).ToArray());
                offset += length;
            }
        }
        catch (Exception e)
        {
            var error = new InvalidOperationException($"model '{modelName}' version {version}: Predict failed on a batch of {rows}: {e.Message}", e);
            foreach (var request in batch)
            {
                request.Completion.TrySetException(error);
            }
        }
    }

    private static int Size(int[] shape)
    {
        long size = 1;
        foreach (int d in shape)
        {
            size *= d;
        }

        return checked((int)size);
    }
}
