// What rebuilding a saved architecture may allocate: weights no larger in total than the weight file
// holds, and example shapes of bounded size, so a damaged config.json cannot exhaust memory.
namespace Lepton.Nn;

/// <summary>
/// Limits in force on this thread while <see cref="Model.Load"/> rebuilds an architecture (none otherwise): the
/// layers may create at most as many weight elements as the saved weights hold, and the per-example shapes run
/// through the layers to infer output shapes may hold at most <see cref="MaxExampleElements"/> elements.
/// </summary>
internal sealed class LoadLimits : IDisposable
{
    /// <summary>The most elements one example may have while a loaded architecture's shapes are inferred (1 GiB of float32).</summary>
    public const long MaxExampleElements = 1L << 28;

    [ThreadStatic]
    private static LoadLimits? current;

    private readonly LoadLimits? previous;
    private long weightElementsLeft;

    private LoadLimits(long weightElements)
    {
        weightElementsLeft = weightElements;
        previous = current;
        current = this;
    }

    /// <summary>Starts limiting this thread's layer building until the returned value is disposed.</summary>
    /// <param name="weightElements">The number of weight elements the saved model holds.</param>
    public static LoadLimits Begin(long weightElements) => new(weightElements);

    /// <summary>Accounts for a weight a layer is about to create; throws when the saved weights cannot fill it.</summary>
    /// <param name="name">The weight's name.</param>
    /// <param name="shape">The weight's shape.</param>
    public static void ChargeWeight(string name, int[] shape)
    {
        if (current is not { } limits)
        {
            return;
        }

        long elements = Elements(shape, $"weight '{name}'");
        if (elements > limits.weightElementsLeft)
        {
            throw new InvalidDataException(
                $"The saved configuration makes weight '{name}' of shape {Shapes.Format(shape)}, larger than the saved weights can fill; the configuration does not match the weights.");
        }

        limits.weightElementsLeft -= elements;
    }

    /// <summary>Checks a per-example shape a layer is about to run while a loaded architecture is being built.</summary>
    /// <param name="layer">The layer's name.</param>
    /// <param name="shape">The per-example shape.</param>
    public static void CheckExample(string layer, int[] shape)
    {
        if (current is null)
        {
            return;
        }

        if (Elements(shape, $"the input of layer '{layer}'") > MaxExampleElements)
        {
            throw new InvalidDataException(
                $"The saved configuration gives layer '{layer}' examples of shape {Shapes.Format(shape)}, more than {MaxExampleElements} elements; it is damaged.");
        }
    }

    /// <summary>Ends the limits (restoring any outer ones).</summary>
    public void Dispose() => current = previous;

    private static long Elements(int[] shape, string what)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new InvalidDataException($"The saved configuration gives {what} a negative size: {Shapes.Format(shape)}.");
            }

            n = Math.Min(n * d, 1L << 32); // saturates; both limits are far below
        }

        return n;
    }
}
