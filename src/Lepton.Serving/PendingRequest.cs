// One request's rows waiting in a model version's queue, and the completion its caller awaits.
// The queue node lets a cancelled request leave the queue in O(1) and free its slot.
namespace Lepton.Serving;

/// <summary>A caller's examples waiting to be batched; completed with that caller's output rows.</summary>
internal sealed class PendingRequest(float[] input, int rows)
{
    /// <summary>The examples, row-major, <see cref="Rows"/> times the example size.</summary>
    public float[] Input { get; } = input;

    /// <summary>How many examples the request holds.</summary>
    public int Rows { get; } = rows;

    /// <summary>Completed with the output rows, an error, or cancellation.</summary>
    public TaskCompletionSource<float[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The request's place in the queue while it waits; null once taken or removed.</summary>
    public LinkedListNode<PendingRequest>? Node { get; set; }
}
