// Weight initializers with Keras's names and formulas: fan-in/fan-out from the weight's shape
// (dense [in, out]; conv [out, in/groups, kh, kw]), seeded through a Generator.
namespace Lepton.Nn;

/// <summary>Creates the initial values of a weight.</summary>
public abstract class Initializer
{
    /// <summary>Glorot (Xavier) uniform: U(-l, l), l = sqrt(6 / (fanIn + fanOut)); Keras's default kernel initializer.</summary>
    public static Initializer GlorotUniform(ulong? seed = null) => new Random("glorot_uniform", seed, (fanIn, fanOut) => (true, MathF.Sqrt(6f / (fanIn + fanOut))));

    /// <summary>Glorot normal: N(0, sqrt(2 / (fanIn + fanOut))).</summary>
    public static Initializer GlorotNormal(ulong? seed = null) => new Random("glorot_normal", seed, (fanIn, fanOut) => (false, MathF.Sqrt(2f / (fanIn + fanOut))));

    /// <summary>He normal: N(0, sqrt(2 / fanIn)), for ReLU networks.</summary>
    public static Initializer HeNormal(ulong? seed = null) => new Random("he_normal", seed, (fanIn, _) => (false, MathF.Sqrt(2f / fanIn)));

    /// <summary>He uniform: U(-l, l), l = sqrt(6 / fanIn).</summary>
    public static Initializer HeUniform(ulong? seed = null) => new Random("he_uniform", seed, (fanIn, _) => (true, MathF.Sqrt(6f / fanIn)));

    /// <summary>
    /// A random orthogonal matrix (Keras's default recurrent initializer): the QR factor of a normal matrix, with
    /// orthonormal columns when the weight has more rows than columns, orthonormal rows otherwise.
    /// </summary>
    /// <param name="seed">The seed; the layer's generator when null.</param>
    /// <example><code>var init = Initializer.Orthogonal(seed: 1);</code></example>
    public static Initializer Orthogonal(ulong? seed = null) => new OrthogonalInitializer(seed);

    /// <summary>All zeros (Keras's default bias initializer).</summary>
    public static Initializer Zeros() => new Constant("zeros", 0f);

    /// <summary>All ones.</summary>
    public static Initializer Ones() => new Constant("ones", 1f);

    /// <summary>The Keras name, used in saved configurations.</summary>
    public abstract string Name { get; }

    /// <summary>Looks up an initializer by its Keras name (glorot_uniform, he_normal, zeros, ...).</summary>
    /// <example><code>var init = Initializer.FromName("he_normal");</code></example>
    public static Initializer FromName(string name, ulong? seed = null) => name.ToLowerInvariant() switch
    {
        "glorot_uniform" or "xavier_uniform" => GlorotUniform(seed),
        "glorot_normal" or "xavier_normal" => GlorotNormal(seed),
        "he_normal" => HeNormal(seed),
        "he_uniform" => HeUniform(seed),
        "orthogonal" => Orthogonal(seed),
        "zeros" => Zeros(),
        "ones" => Ones(),
        _ => throw new ArgumentException($"Unknown initializer '{name}'; use glorot_uniform, glorot_normal, he_normal, he_uniform, orthogonal, zeros or ones."),
    };

    /// <summary>Initial values for a weight of <paramref name="shape"/>.</summary>
    public abstract Tensor Create(int[] shape, Device device, Generator fallback);

    /// <summary>(fanIn, fanOut) as Keras computes them.</summary>
    internal static (int FanIn, int FanOut) Fans(int[] shape)
    {
        if (shape.Length < 2)
        {
            int n = shape.Length == 0 ? 1 : shape[0];
            return (n, n);
        }

        if (shape.Length == 2)
        {
            return (shape[0], shape[1]);
        }

        int receptive = 1;
        for (int i = 2; i < shape.Length; i++)
        {
            receptive *= shape[i];
        }

        return (shape[1] * receptive, shape[0] * receptive);
    }

    private sealed class Constant(string name, float value) : Initializer
    {
        public override string Name => name;

        public override Tensor Create(int[] shape, Device device, Generator fallback) => Tensor.Full(shape, value, device: device);
    }

    private sealed class Random(string name, ulong? seed, Func<int, int, (bool Uniform, float Scale)> scale) : Initializer
    {
        private readonly Generator? generator = seed is null ? null : new Generator(seed.Value);

        public override string Name => name;

        public override Tensor Create(int[] shape, Device device, Generator fallback)
        {
            var (fanIn, fanOut) = Fans(shape);
            var (uniform, s) = scale(Math.Max(fanIn, 1), Math.Max(fanOut, 1));
            var g = generator ?? fallback;
            return uniform ? Tensor.Uniform(shape, -s, s, g, device) : Tensor.RandN(shape, g, device, 0f, s);
        }
    }

    private sealed class OrthogonalInitializer(ulong? seed) : Initializer
    {
        private readonly Generator? generator = seed is null ? null : new Generator(seed.Value);

        public override string Name => "orthogonal";

        public override Tensor Create(int[] shape, Device device, Generator fallback)
        {
            int cols = shape.Length == 0 ? 1 : shape[^1];
            int rows = cols == 0 ? 0 : (int)(shape.Aggregate(1L, (a, d) => a * d) / cols);
            int tall = Math.Max(rows, cols), wide = Math.Min(rows, cols);
            using var normal = Tensor.RandN([tall, wide], generator ?? fallback);
            var q = Array.ConvertAll(normal.ToArray(), v => (double)v);

            // Modified Gram-Schmidt on the columns of the tall [tall, wide] matrix (QR with a positive diagonal of R).
            for (int j = 0; j < wide; j++)
            {
                for (int k = 0; k < j; k++)
                {
                    double dot = 0;
                    for (int i = 0; i < tall; i++)
                    {
                        dot += q[(i * wide) + k] * q[(i * wide) + j];
                    }

                    for (int i = 0; i < tall; i++)
                    {
                        q[(i * wide) + j] -= dot * q[(i * wide) + k];
                    }
                }

                double norm = 0;
                for (int i = 0; i < tall; i++)
                {
                    norm += q[(i * wide) + j] * q[(i * wide) + j];
                }

                norm = Math.Sqrt(norm);
                for (int i = 0; i < tall; i++)
                {
                    q[(i * wide) + j] /= norm;
                }
            }

            var values = new float[rows * cols];
            for (int i = 0; i < tall; i++)
            {
                for (int j = 0; j < wide; j++)
                {
                    values[rows >= cols ? (i * cols) + j : (j * cols) + i] = (float)q[(i * wide) + j];
                }
            }

            return Tensor.FromArray(values, shape, device: device);
        }
    }
}
