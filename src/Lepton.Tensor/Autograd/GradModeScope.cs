// The handle NoGrad and EnableGrad return: a value, so that switching grad mode for a block allocates
// nothing (evaluation, prediction and every backward pass switch it once per batch).
namespace Lepton.Autograd;

/// <summary>Restores the grad mode that was on before <see cref="GradMode.NoGrad"/> or <see cref="GradMode.EnableGrad"/>, when disposed.</summary>
/// <example><code>using (Tensor.NoGrad()) { var prediction = model.Call(x); }</code></example>
public struct GradModeScope : IDisposable
{
    private readonly bool previousDisabled;
    private readonly bool active;
    private bool done;

    internal GradModeScope(bool enabled)
    {
        previousDisabled = GradMode.SetDisabled(!enabled);
        active = true;
    }

    /// <summary>Restores the previous mode (the first time only; a default handle restores nothing).</summary>
    public void Dispose()
    {
        if (active && !done)
        {
            GradMode.SetDisabled(previousDisabled);
            done = true;
        }
    }
}
