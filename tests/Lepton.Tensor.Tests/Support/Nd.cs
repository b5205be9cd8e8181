// A naive float64 n-d array: the reference every op is checked against. Written for clarity, not
// speed: every function loops over logical indices exactly as the math reads.
namespace Lepton.Tests.Support;

public sealed class Nd
{
    public Nd(double[] data, int[] shape)
    {
        Data = data;
        Shape = shape;
        if (data.Length != Count(shape))
        {
            throw new ArgumentException("Nd: data does not fill the shape.");
        }
    }

    public double[] Data { get; }

    public int[] Shape { get; }

    public int Rank => Shape.Length;

    public int Length => Data.Length;

    public double this[params int[] index] => Data[Flat(Shape, index)];

    public static Nd From(Tensor t) => new(Array.ConvertAll(t.ToArray(), v => (double)v), t.Shape);

    public static Nd From(float[] values, int[] shape) => new(Array.ConvertAll(values, v => (double)v), shape);

    public static int Count(int[] shape)
    {
        int n = 1;
        foreach (int d in shape)
        {
            n *= d;
        }

        return n;
    }

    public static int Flat(int[] shape, int[] index)
    {
        int f = 0;
        for (int d = 0; d < shape.Length; d++)
        {
            f = (f * shape[d]) + index[d];
        }

        return f;
    }

    public static int[] Unflat(int[] shape, int flat)
    {
        var index = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }

        return index;
    }

    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            r[i] = Math.Max(da, db);
        }

        return r;
    }

    /// <summary>The element of this array that broadcasts to <paramref name="index"/> of a larger shape.</summary>
    public double At(int[] index)
    {
        int lead = index.Length - Rank;
        int f = 0;
        for (int d = 0; d < Rank; d++)
        {
            int i = Shape[d] == 1 ? 0 : index[d + lead];
            f = (f * Shape[d]) + i;
        }

        return Data[f];
    }

    public Nd Map(Func<double, double> f) => new(Array.ConvertAll(Data, x => f(x)), Shape);

    public static Nd Zip(Nd a, Nd b, Func<double, double, double> f)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var data = new double[Count(shape)];
        for (int i = 0; i < data.Length; i++)
        {
            var idx = Unflat(shape, i);
            data[i] = f(a.At(idx), b.At(idx));
        }

        return new Nd(data, shape);
    }

    public static Nd Zip3(Nd c, Nd a, Nd b, Func<double, double, double, double> f)
    {
        var shape = BroadcastShape(BroadcastShape(c.Shape, a.Shape), b.Shape);
        var data = new double[Count(shape)];
        for (int i = 0; i < data.Length; i++)
        {
            var idx = Unflat(shape, i);
            data[i] = f(c.At(idx), a.At(idx), b.At(idx));
        }

        return new Nd(data, shape);
    }

    /// <summary>Folds the listed axes with f starting from seed; the result keeps them as size 1 when keepDim.</summary>
    public Nd Reduce(int[] axes, bool keepDim, Func<IReadOnlyList<double>, double> f)
    {
        var keepShape = (int[])Shape.Clone();
        foreach (int a in axes)
        {
            keepShape[a] = 1;
        }

        var groups = new List<double>[Count(keepShape)];
        for (int i = 0; i < groups.Length; i++)
        {
            groups[i] = [];
        }

        for (int i = 0; i < Length; i++)
        {
            var idx = Unflat(Shape, i);
            foreach (int a in axes)
            {
                idx[a] = 0;
            }

            groups[Flat(keepShape, idx)].Add(Data[i]);
        }

        var data = Array.ConvertAll(groups, g => f(g));
        if (keepDim)
        {
            return new Nd(data, keepShape);
        }

        var outShape = new List<int>();
        for (int d = 0; d < Rank; d++)
        {
            if (Array.IndexOf(axes, d) < 0)
            {
                outShape.Add(Shape[d]);
            }
        }

        return new Nd(data, [.. outShape]);
    }

    public Nd Permute(int[] order)
    {
        var shape = Array.ConvertAll(order, o => Shape[o]);
        var data = new double[Length];
        for (int i = 0; i < Length; i++)
        {
            var idx = Unflat(shape, i);
            var src = new int[Rank];
            for (int d = 0; d < Rank; d++)
            {
                src[order[d]] = idx[d];
            }

            data[i] = Data[Flat(Shape, src)];
        }

        return new Nd(data, shape);
    }

    public Nd Reshape(int[] shape) => new(Data, shape);
}
