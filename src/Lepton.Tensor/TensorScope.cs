// Deterministic memory: every tensor created while a scope is open belongs to it and is disposed
// with it, unless moved out. Fit wraps each training step in one, so loops never call Dispose.
// A disposed scope hands its emptied list to the next scope opened on the same thread.
namespace Lepton;

/// <summary>Disposes every tensor created while it is the innermost open scope on this thread.</summary>
/// <example><code>
/// using (var scope = Tensor.NewScope())
/// {
///     var loss = model(x).Sum();
///     loss.Backward();
///     result = loss.MoveToOuter();
/// }
/// </code></example>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic]
    private static TensorScope? current;

    /// <summary>Emptied lists of disposed scopes, for the next scopes on this thread.</summary>
    [ThreadStatic]
    private static Stack<List<Tensor>>? spareLists;

    /// <summary>A list longer than this is not kept for reuse once its scope is disposed.</summary>
    private const int MaxSpareCapacity = 1 << 16;

    /// <summary>At most this many spare lists are kept per thread (as deep as scopes usually nest).</summary>
    private const int MaxSpareLists = 16;

    /// <summary>The tracked tensors; null once disposed.</summary>
    private List<Tensor>? tensors;

    internal TensorScope()
    {
        tensors = spareLists is { Count: > 0 } spares ? spares.Pop() : [];
        Parent = current;
        current = this;
    }

    internal static TensorScope? Current => current;

    internal TensorScope? Parent { get; }

    /// <summary>How many tensors this scope will dispose.</summary>
    public int Count => tensors?.Count ?? 0;

    /// <summary>Adds a tensor to dispose with this scope; a disposed scope takes none (the tensor stays undisposed, as
    /// one created outside every scope).</summary>
    internal void Track(Tensor tensor) => tensors?.Add(tensor);

    /// <summary>Disposes the scope's tensors and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (tensors is not { } list)
        {
            return;
        }

        if (current == this)
        {
            // An enclosing scope disposed first (out of order) is skipped: it tracks nothing any more.
            current = Parent;
            while (current is { tensors: null })
            {
                current = current.Parent;
            }
        }

        foreach (var tensor in list)
        {
            if (tensor.Scope == this)
            {
                tensor.Dispose();
            }
        }

        tensors = null;
        list.Clear();
        var spares = spareLists ??= new();
        if (list.Capacity <= MaxSpareCapacity && spares.Count < MaxSpareLists)
        {
            spares.Push(list);
        }
    }
}
