// One version of a served model: the model, its batcher, and a count of the requests using it, so a
// retired version finishes its in-flight requests before its worker stops and the model is disposed.
using Lepton.Nn;

namespace Lepton.Serving;

/// <summary>A loaded, warmed model version; requests hold a lease on it while they run.</summary>
internal sealed class ServedVersion
{
    private int leases;
    private int retired;
    private int shutDown;
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServedVersion(string name, long version, Model model, ServingOptions options, ServingMetrics metrics)
    {
        Name = name;
        Version = version;
        Model = model;
        Options = options;
        var inputShape = model.InputShape ?? (model as Sequential)?.DeclaredShape
            ?? throw new ArgumentException($"model '{name}' version {version}: its input shape is unknown; give it an InputLayer or call it once before serving.", nameof(model));

        // Warm-up: one example of zeros builds the model, compiles its kernels and tells the output shape.
        int[] outputShape;
        using (Tensor.NewScope())
        {
            using var zeros = Tensor.Zeros([1, .. inputShape]);
            using var y = model.Predict(zeros, batchSize: 1);
            outputShape = y.Shape[1..];
        }

        Batcher = new DynamicBatcher(name, version, model, inputShape, outputShape, options, metrics);
    }

    public string Name { get; }

    public long Version { get; }

    public Model Model { get; }

    public ServingOptions Options { get; }

    public DynamicBatcher Batcher { get; }

    /// <summary>Completes once the version is retired, its requests answered and its model disposed.</summary>
    public Task Finished => finished.Task;

    /// <summary>True once retired: no new requests; disposed when the last lease ends.</summary>
    public bool IsRetired => Volatile.Read(ref retired) != 0;

    /// <summary>Takes a lease unless the version is retired.</summary>
    public bool TryAcquire()
    {
        Interlocked.Increment(ref leases);
        if (IsRetired)
        {
            Release();
            return false;
        }

        return true;
    }

    /// <summary>Ends a lease; the last one of a retired version shuts it down.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref leases) == 0 && IsRetired)
        {
            ShutDown();
        }
    }

    /// <summary>Stops new leases; shuts down now if none is held, else when the last ends.</summary>
    public void Retire()
    {
        Interlocked.Exchange(ref retired, 1);
        if (Volatile.Read(ref leases) == 0)
        {
            ShutDown();
        }
    }

    /// <summary>Stops the worker of a version that was never published, leaving the caller's model undisposed.</summary>
    public void Abandon() => Batcher.Complete();

    private void ShutDown()
    {
        if (Interlocked.Exchange(ref shutDown, 1) != 0)
        {
            return;
        }

        Batcher.Complete();
        Batcher.Stopped.ContinueWith(
            _ =>
            {
                Model.Dispose();
                finished.TrySetResult();
            },
            TaskScheduler.Default);
    }
}
