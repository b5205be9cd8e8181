// FsCheck generators for op tests: shapes with size-1 dims, broadcast-compatible pairs and
// seeds for values. Values come from a seeded Random so that a failing case can be replayed.
using FsCheck;
using FsCheck.Fluent;

namespace Lepton.Tests.Support;

public static class Generators
{
    public static Gen<int[]> Shape(int minRank = 0, int maxRank = 4, int maxDim = 5) =>
        Gen.Choose(minRank, maxRank).SelectMany(rank => Gen.ArrayOf(Gen.Choose(1, maxDim), rank));

    /// <summary>Two shapes that broadcast: the second drops leading dims and/or has some dims set to 1.</summary>
    public static Gen<(int[] A, int[] B)> BroadcastPair(int maxRank = 4) =>
        from a in Shape(0, maxRank)
        from drop in Gen.Choose(0, a.Length)
        from ones in Gen.ArrayOf(Gen.Elements(true, false, false), a.Length)
        from swap in Gen.Elements(true, false)
        let b = Enumerable.Range(drop, a.Length - drop).Select(i => ones[i] ? 1 : a[i]).ToArray()
        select swap ? (b, a) : (a, b);

    /// <summary>Pairs each generated case with a seed for its values.</summary>
    public static Gen<(T Case, int Seed)> Seeded<T>(this Gen<T> gen) =>
        from c in gen
        from seed in Gen.Choose(0, 1 << 30)
        select (c, seed);

    public static Nd Values(int[] shape, int seed, double low = -2, double high = 2)
    {
        var rng = new Random(seed);
        var data = new double[Nd.Count(shape)];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)(low + ((high - low) * rng.NextDouble()));
        }

        return new Nd(data, shape);
    }

    public static Tensor ToTensor(this Nd nd, Device device) =>
        Tensor.FromArray(Array.ConvertAll(nd.Data, v => (float)v), nd.Shape, device: device);

    public static void ForAll<T>(Gen<T> gen, Action<T> body, int maxTest = 30) =>
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithQuietOnSuccess(true), Prop.ForAll(gen.ToArbitrary(), body));
}
