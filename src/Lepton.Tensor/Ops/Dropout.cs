// Inverted dropout: in training, zero each element with probability p and scale the rest by
// 1/(1-p); the mask comes from a seeded, counter-based generator. Identity when not training.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>Randomly zeroes elements with probability <paramref name="p"/> while training.</summary>
    /// <example><code>var h = x.Dropout(0.5f, training: true, generator: new Generator(0));</code></example>
    public Tensor Dropout(float p, bool training, Generator? generator = null)
    {
        if (DType.IsHalf())
        {
            return Narrowed(Widened.Dropout(p, training, generator), DType);
        }

        CheckFloat("Dropout");
        if (p < 0f || p > 1f || float.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1].");
        }

        if (!training || p == 0f)
        {
            return Record(ViewAs(shape, strides, Offset), "DropoutBackward", [this], g => [g]);
        }

        if (p == 1f)
        {
            return this * 0f;
        }

        Tensor mask;
        using (NoGrad())
        {
            using var uniform = Uniform("Dropout", Shape, 0f, 1f, generator, Device, batchShard: true);
            using var keep = uniform >= p;
            mask = keep * (1f / (1f - p));
        }

        return this * mask;
    }
}
