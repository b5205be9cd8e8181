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
    public static GradModeScope NoGrad() => new(enabled: false);

    /// <summary>Turns recording on until the returned handle is disposed.</summary>
    /// <example><code>using (GradMode.EnableGrad()) { ... }</code></example>
    public static GradModeScope EnableGrad() => new(enabled: true);

    /// <summary>Sets this thread's switch and returns its previous value.</summary>
    internal static bool SetDisabled(bool value)
    {
        bool previous = disabled;
        disabled = value;
        return previous;
    }
}
