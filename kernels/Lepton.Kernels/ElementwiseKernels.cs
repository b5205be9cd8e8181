// Element-wise float32 kernels: fills, unary functions and derivatives, broadcasting binary functions and
// strided copies (selection is TypedKernels'); grid-stride loops, so any launch shape covers any size.
namespace Lepton.Kernels;

/// <summary>Element-wise ILGPU kernels.</summary>
public static class ElementwiseKernels
{
    /// <summary>y[i] = value for i &lt; n.</summary>
    public static void Fill(ArrayView<float> y, int n, float value)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            y[i] = value;
        }
    }

    /// <summary>y[i] = f(x[i]).</summary>
    public static void Unary<TOp>(ArrayView<float> x, ArrayView<float> y, int n, TOp op)
        where TOp : struct, IScalarUnary
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            y[i] = op.Apply(x[i]);
        }
    }

    /// <summary>dx[i] = dy[i] * f'(x[i], y[i]).</summary>
    public static void UnaryBackward<TOp>(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, TOp op)
        where TOp : struct, IScalarUnary
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            dx[i] = dy[i] * op.Derivative(x[i], y[i]);
        }
    }

    /// <summary>y[i] = f(a[i], b[i]) with a and b read through strides (0 where broadcast); y dense.</summary>
    public static void Binary<TOp>(ArrayView<float> a, Strides6 sa, ArrayView<float> b, Strides6 sb, ArrayView<float> y, Shape6 shape, int n, TOp op)
        where TOp : struct, IScalarBinary
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            y[i] = op.Apply(a[sa.Offset(shape, i)], b[sb.Offset(shape, i)]);
        }
    }

    /// <summary>dst = src element by element, both read and written through strides.</summary>
    public static void Copy(ArrayView<float> src, Strides6 ss, ArrayView<float> dst, Strides6 sd, Shape6 shape, int n)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            dst[sd.Offset(shape, i)] = src[ss.Offset(shape, i)];
        }
    }

    /// <summary>dst[i] = uniform in [low, high) from counter start + i of the seed's stream.</summary>
    public static void RandomUniform(ArrayView<float> dst, int n, ulong seed, ulong start, float low, float high)
    {
        float range = high - low;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            dst[i] = low + (range * CounterRandom.Uniform(seed, start + (ulong)i));
        }
    }

    /// <summary>dst[i] = mean + std * normal, element i taken from the pair of counters start + 2 * (i / 2).</summary>
    public static void RandomNormal(ArrayView<float> dst, int n, ulong seed, ulong start, float mean, float std)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            ulong pair = start + (2 * (ulong)(i / 2));
            dst[i] = mean + (std * CounterRandom.Normal(seed, pair, (i & 1) == 1));
        }
    }
}
