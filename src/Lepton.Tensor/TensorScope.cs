// Deterministic memory: every tensor created while a scope is open belongs to it and is disposed
// with it, unless moved out. Fit wraps each training step in one, so loops never call Dispose.
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

    private readonly List<Tensor> tensors = [];
    private bool disposed;

    internal TensorScope()
    {
        Parent = current;
        current = this;
    }

    internal static TensorScope? Current => current;

    internal TensorScope? Parent { get; }

    /// <summary>How many tensors this scope will dispose.</summary>
    public int Count => tensors.Count;

    internal void Track(Tensor tensor) => tensors.Add(tensor);

    /// <summary>Disposes the scope's tensors and makes the enclosing scope current again.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        if (current == this)
        {
            current = Parent;
        }

        foreach (var tensor in tensors)
        {
            if (tensor.Scope == this)
            {
                tensor.Dispose();
            }
        }

        tensors.Clear();
    }
}
