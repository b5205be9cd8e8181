// Converted copies an op makes of its inputs (a cast to the promoted type), disposed when the op is done.
namespace Lepton;

/// <summary>Holds the temporary conversions of one op call and disposes them together.</summary>
internal sealed class Temporaries : IDisposable
{
    private List<Tensor>? made;

    /// <summary><paramref name="tensor"/> itself when it already has <paramref name="dtype"/>, else a converted copy
    /// that this object disposes.</summary>
    public Tensor As(Tensor tensor, DType dtype)
    {
        if (tensor.DType == dtype)
        {
            return tensor;
        }

        var converted = tensor.CastTo(dtype);
        (made ??= new List<Tensor>(2)).Add(converted);
        return converted;
    }

    public void Dispose()
    {
        if (made is null)
        {
            return;
        }

        foreach (var t in made)
        {
            t.Dispose();
        }

        made.Clear();
    }
}
