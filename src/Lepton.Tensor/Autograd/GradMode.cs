// Whether operations record the graph. NoGrad turns recording off for a using-block, as
// torch.no_grad does; it nests and restores the previous state.
namespace Lepton.Autograd;

/// <summary>Thread-local switch for graph recording.</summary>
public static class GradMode
{
    [ThreadStatic]
    private static bool disabled;

    /// <summary>True when ops record a backward graph on this thread.</summary>
    public static bool IsEnabled => !disabled;

    /// <summary>Turns recording off until the returned handle is disposed.</summary>
    /// <example><code>using (GradMode.NoGrad()) { var y = model(x); }</code></example>
    public static IDisposable NoGrad() => new Restore(enabled: false);

    /// <summary>Turns recording on until the returned handle is disposed.</summary>
    /// <example><code>using (GradMode.EnableGrad()) { ... }</code></example>
    public static IDisposable EnableGrad() => new Restore(enabled: true);

    private sealed class Restore : IDisposable
    {
        private readonly bool previousDisabled;
        private bool done;

        public Restore(bool enabled)
        {
            previousDisabled = disabled;
            disabled = !enabled;
        }

        public void Dispose()
        {
            if (!done)
            {
                disabled = previousDisabled;
                done = true;
            }
        }
    }
}
