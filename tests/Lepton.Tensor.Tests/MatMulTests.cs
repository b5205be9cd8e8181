// Matrix products: 1-D promotion, batching with broadcast, transposed views passed without copies,
// gradients, every GEMM micro-kernel this CPU supports, and mismatched shapes.
using FsCheck.Fluent;
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class MatMulTests : BackendTests
{
    [Fact]
    public void BatchedBroadcastMatMulMatchesReference()
    {
        var gen =
            from m in Gen.Choose(1, 9)
            from k in Gen.Choose(1, 9)
            from n in Gen.Choose(1, 9)
            from batch in Generators.BroadcastPair(2)
            select (m, k, n, batch);
        Generators.ForAll(gen.Seeded(), c =>
        {
            var (m, k, n, batch) = c.Case;
            var a = Generators.Values([.. batch.A, m, k], c.Seed);
            var b = Generators.Values([.. batch.B, k, n], c.Seed + 1);
            Check.Close(Reference(a, b), T(a).MatMul(T(b)), 1e-5, 1e-5, "matmul");
        });
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void TransposedViewsGiveTheSameProduct(bool transA, bool transB)
    {
        var a = Generators.Values([37, 29], 1);
        var b = Generators.Values([29, 41], 2);
        var ta = transA ? T(a.Permute([1, 0])).T : T(a);
        var tb = transB ? T(b.Permute([1, 0])).T : T(b);
        Assert.Equal(!transA, ta.IsContiguous);
        Check.Close(Reference(a, b), ta.MatMul(tb), 1e-4, 1e-5, $"transA={transA} transB={transB}");
    }

    [Theory]
    [InlineData(7, 300, 9)]
    [InlineData(32, 676, 9)]
    [InlineData(5, 129, 3)]
    [InlineData(9, 1000, 100)]
    public void SmallProductsOverALongInnerDimension(int m, int k, int n)
    {
        // A transposed right operand with a small result (a convolution's filter gradient) takes the
        // dot-product path on the CPU; odd sizes hit its row and column tails.
        var a = Generators.Values([m, k], m);
        var b = Generators.Values([n, k], n);
        Check.Close(Reference(a, b.Permute([1, 0])), T(a).MatMul(T(b).T), 1e-4 * Math.Sqrt(k), 1e-5, $"{m}x{k}x{n}");
    }

    [Fact]
    public void OneDimensionalOperandsArePromotedAndSqueezed()
    {
        var v = Generators.Values([4], 1);
        var m = Generators.Values([4, 3], 2);
        var vm = T(v).MatMul(T(m));
        Assert.Equal(new[] { 3 }, vm.Shape);
        Check.Close(Reference(v.Reshape([1, 4]), m).Reshape([3]), vm, 1e-5, 1e-5);
        var dot = T(v).MatMul(T(v));
        Assert.Equal(Array.Empty<int>(), dot.Shape);
        Assert.Equal(v.Data.Sum(e => e * e), dot.Item(), 4);
        var mv = T(m.Permute([1, 0])).MatMul(T(v));
        Assert.Equal(new[] { 3 }, mv.Shape);
    }

    [Fact]
    public void GradientsMatchFiniteDifferencesIncludingBroadcastBatch()
    {
        var a = Generators.Values([2, 3, 4], 3);
        var b = Generators.Values([4, 5], 4);
        GradCheck.Run(Device, [a, b], t => t[0].MatMul(t[1]), r => Reference(r[0], r[1]));
        var w = Generators.Values([5, 4], 5);
        GradCheck.Run(Device, [a, w], t => t[0].MatMul(t[1].T), r => Reference(r[0], r[1].Permute([1, 0])));
    }

    [Fact]
    public void MatrixGradientsMatchFiniteDifferencesForEveryLayout()
    {
        // Two matrices take their own path: transposes become GEMM flags, and broadcast rows or columns (stride 0),
        // which GEMM cannot read in place, are copied first.
        var a = Generators.Values([4, 5], 6);
        var b = Generators.Values([5, 3], 7);
        GradCheck.Run(Device, [a, b], t => t[0].MatMul(t[1]), r => Reference(r[0], r[1]));
        var at = Generators.Values([5, 4], 8);
        var bt = Generators.Values([3, 5], 9);
        GradCheck.Run(Device, [at, bt], t => t[0].T.MatMul(t[1].T), r => Reference(r[0].Permute([1, 0]), r[1].Permute([1, 0])));
        var row = Generators.Values([1, 5], 10);
        var column = Generators.Values([5, 1], 11);
        GradCheck.Run(
            Device, [row, column], t => t[0].Expand(4, 5).MatMul(t[1].Expand(5, 3)),
            r => Reference(Nd.Zip(r[0], Nd.From(new float[20], [4, 5]), (x, _) => x), Nd.Zip(r[1], Nd.From(new float[15], [5, 3]), (x, _) => x)));
    }

    [Fact]
    public void MismatchedInnerDimensionsNameBothShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, 3], device: Device).MatMul(Tensor.Zeros([4, 5], device: Device)));
        Assert.Contains("MatMul", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 5]", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros([2, 2, 3], device: Device).MatMul(Tensor.Zeros([3, 3, 2], device: Device)));
        Assert.Throws<ArgumentException>(() => Tensor.Scalar(1f, Device).MatMul(Tensor.Zeros([1], device: Device)));
    }

    [Fact]
    public void EmptyDimensionsGiveZeros()
    {
        var y = Tensor.Zeros([3, 0], device: Device).MatMul(Tensor.Zeros([0, 2], device: Device));
        Assert.Equal(new float[6], y.ToArray());
    }

    internal static Nd Reference(Nd a, Nd b)
    {
        int m = a.Shape[^2], k = a.Shape[^1], n = b.Shape[^1];
        var batch = Nd.BroadcastShape(a.Shape[..^2], b.Shape[..^2]);
        int[] shape = [.. batch, m, n];
        var data = new double[Nd.Count(shape)];
        for (int f = 0; f < data.Length; f++)
        {
            var idx = Nd.Unflat(shape, f);
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                int[] ia = [.. idx[..^2], idx[^2], p];
                int[] ib = [.. idx[..^2], p, idx[^1]];
                s += a.At(ia) * b.At(ib);
            }

            data[f] = s;
        }

        return new Nd(data, shape);
    }
}

public sealed class MatMulTestsCpu : MatMulTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class MatMulTestsIlgpuCpu : MatMulTests
{
    protected override Device Device => Device.IlgpuCpu;
}

/// <summary>Every GEMM micro-kernel this machine can run, at sizes that hit edge tiles, K blocking and threading.</summary>
[Collection("CpuIsa")]
public sealed class CpuGemmKernelTests
{
    public static TheoryData<CpuIsa> Isas()
    {
        var data = new TheoryData<CpuIsa>();
        foreach (var isa in Enum.GetValues<CpuIsa>())
        {
            if (isa <= CpuGemm.DetectedIsa)
            {
                data.Add(isa);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void EveryKernelMatchesReference(CpuIsa isa) => WithIsa(isa, () =>
    {
        foreach (var (m, k, n) in new[] { (1, 1, 1), (1, 300, 70), (3, 37, 1100), (13, 7, 33), (12, 300, 32), (150, 260, 70), (64, 520, 129) })
        {
            var a = Generators.Values([m, k], m + k);
            var b = Generators.Values([k, n], n);
            var c = Floats(a).MatMul(Floats(b));
            Check.Close(MatMulTests.Reference(a, b), c, 1e-4 * Math.Sqrt(k), 1e-5, $"{isa} {m}x{k}x{n}");
        }
    });

    /// <summary>Runs body with GEMMs started on this thread using <paramref name="isa"/>, then restores the previous choice.</summary>
    internal static void WithIsa(CpuIsa isa, Action body)
    {
        var previous = CpuGemm.Isa;
        try
        {
            CpuGemm.Isa = isa;
            body();
        }
        finally
        {
            CpuGemm.Isa = previous;
        }
    }

    private static Tensor Floats(Nd x) => Tensor.FromArray(Array.ConvertAll(x.Data, v => (float)v), x.Shape);

    [Theory]
    [MemberData(nameof(Isas))]
    public unsafe void EveryLayoutAlphaAndBetaMatchReference(CpuIsa isa) => WithIsa(isa, () =>
    {
        // Both operands in both layouts, with full and edge tiles, two K blocks (K = 400) and one deeper than the usual
        // block (K = 300, whose 44-row remainder joins the first block). beta = 0 must never
        // read C (it starts as NaN here); beta = 1 adds to what C holds; alpha scales the product. A last
        // row panel of 4 (M = 40) or 8 rows (M = 20) runs AVX-512's 4-row kernel; edge tiles 6 and 26
        // columns wide (N = 70, 90) go through the scratch tile in vector steps and single columns. On two or more
        // threads, K = 2000 and 1100 split K between threads (partial products summed after), and 24 x 64 x 600 splits
        // columns.
        var rng = new Random(5);
        foreach (var (m, k, n) in new[] { (40, 400, 70), (30, 300, 90), (20, 400, 64), (5408 / 16, 64, 128), (13, 7, 33), (64, 2000, 96), (30, 1100, 100), (24, 64, 600) })
        {
            foreach (bool transA in new[] { false, true })
            {
                foreach (bool transB in new[] { false, true })
                {
                    foreach (float beta in new[] { 0f, 1f })
                    {
                        float[] a = RandomFloats(rng, m * k), b = RandomFloats(rng, k * n), c0 = RandomFloats(rng, m * n);
                        float[] c = beta == 0 ? Enumerable.Repeat(float.NaN, m * n).ToArray() : (float[])c0.Clone();
                        fixed (float* ap = a, bp = b, cp = c)
                        {
                            CpuGemm.Run(transA, transB, m, n, k, 0.5f, ap, transA ? m : k, bp, transB ? k : n, beta, cp, n, parallel: true);
                        }

                        for (int i = 0; i < m; i++)
                        {
                            for (int j = 0; j < n; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < k; p++)
                                {
                                    sum += (double)a[transA ? (p * m) + i : (i * k) + p] * b[transB ? (j * k) + p : (p * n) + j];
                                }

                                double expected = (0.5 * sum) + (beta * c0[(i * n) + j]);
                                Assert.True(
                                    Math.Abs(c[(i * n) + j] - expected) <= 1e-4 * Math.Sqrt(k) * (1 + Math.Abs(expected)),
                                    $"{isa} {m}x{k}x{n} transA={transA} transB={transB} beta={beta} at ({i}, {j}): {c[(i * n) + j]} vs {expected}");
                            }
                        }
                    }
                }
            }
        }
    });

    [Theory]
    [MemberData(nameof(Isas))]
    public unsafe void APackedOnceGivesTheBitsOfPackingItPerProduct(CpuIsa isa) => WithIsa(isa, () =>
    {
        // A convolution's weights are packed once and used by one product per chunk of images: both layouts of A,
        // partial row panels (M = 40, 30), one to three K blocks, several B against one packing, accumulating into C.
        var rng = new Random(7);
        foreach (var (m, k, n) in new[] { (40, 400, 70), (30, 600, 33), (64, 300, 129) })
        {
            foreach (bool transA in new[] { false, true })
            {
                float[] a = RandomFloats(rng, m * k);
                float[] packed = new float[CpuGemm.WholeASize(m, k)];
                fixed (float* ap = a, pp = packed)
                {
                    CpuGemm.PackWholeA(transA, m, k, 0.5f, ap, transA ? m : k, pp);
                    for (int product = 0; product < 2; product++)
                    {
                        float[] b = RandomFloats(rng, k * n), c0 = RandomFloats(rng, m * n);
                        float[] expected = (float[])c0.Clone(), actual = (float[])c0.Clone();
                        fixed (float* bp = b, ep = expected, cp = actual)
                        {
                            CpuGemm.Run(transA, false, m, n, k, 0.5f, ap, transA ? m : k, bp, n, 1f, ep, n, parallel: true);
                            CpuGemm.Run(transA, false, m, n, k, 0.5f, ap, transA ? m : k, bp, n, 1f, cp, n, parallel: true, packedA: pp);
                        }

                        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{isa} {m}x{k}x{n} transA={transA} product {product}");
                    }
                }
            }
        }
    });

    private static float[] RandomFloats(Random rng, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();

    [Theory]
    [MemberData(nameof(Isas))]
    public void FewRowsWithZeroFactorsMatchReference(CpuIsa isa) => WithIsa(isa, () =>
    {
        // Up to four rows of A (batch-1 inference) take the row-times-matrix path: 203 columns hit its
        // 128-, 64- and 8-wide blocks and the scalar tail; half of A's factors are zero (a ReLU output),
        // which that path skips; a transposed A reads its factors with a stride.
        foreach (int m in new[] { 1, 2, 4 })
        {
            foreach (bool transA in new[] { false, true })
            {
                var a = Generators.Values([m, 300], m).Map(v => Math.Max(v, 0));
                var b = Generators.Values([300, 203], 7);
                var ta = transA ? Floats(a.Permute([1, 0])).T : Floats(a);
                Check.Close(MatMulTests.Reference(a, b), ta.MatMul(Floats(b)), 1e-4 * Math.Sqrt(300), 1e-5, $"{isa} m={m} transA={transA}");
            }
        }
    });

    [Theory]
    [MemberData(nameof(Isas))]
    public void FewRowsOverALargeMatrixGiveTheSameBitsOnEveryCall(CpuIsa isa) => WithIsa(isa, () =>
    {
        // A B of over 2^18 live elements runs in blocks of rows whose order alternates between calls on the
        // same matrix (a partial sum per block, added in block order): every call must match the reference
        // and the first call bit for bit. 5,000 rows (A's factors below -0.4 zeroed) by 406 columns, 203 per
        // thread on two: the 128-, 64- and 8-wide column blocks, the scalar tail, a last, partial block of
        // rows.
        foreach (int m in new[] { 1, 3 })
        {
            var a = Generators.Values([m, 5000], m).Map(v => v < -0.4 ? 0 : v);
            RepeatedProductsMatchReference(a, Generators.Values([5000, 406], 11), $"{isa} m={m}");
        }
    });

    /// <summary>a times b, three times: each product must match the float64 reference and the first one's bits.</summary>
    internal static void RepeatedProductsMatchReference(Nd a, Nd b, string what)
    {
        var expected = MatMulTests.Reference(a, b);
        var (ta, tb) = (Floats(a), Floats(b));
        float[]? first = null;
        for (int call = 0; call < 3; call++)
        {
            var c = ta.MatMul(tb);
            Check.Close(expected, c, 1e-4 * Math.Sqrt(a.Shape[1]), 1e-5, $"{what} call {call}");
            first ??= c.ToArray();
            Assert.Equal(first, c.ToArray());
        }
    }
}

/// <summary>Products whose work is split by rows across threads: few-row products over a B of 1 MB or more (one range of
/// B's rows per thread) and packed products of at most one row block per thread (one range of row panels per thread).</summary>
[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class GemmThreadTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public unsafe void RowPanelsSplitAcrossThreadsMatchReferenceAndOneThread(int threads)
    {
        // 169 x 64 x 288 with both operands transposed (a batch-1 convolution's transposed product), 128^3, 150 rows
        // over two K blocks accumulating into C, and 52 rows (five panels, the last partial): every split must give
        // one thread's bits.
        var rng = new Random(5);
        foreach (var (m, n, k, transA, transB) in new[] { (169, 64, 288, true, true), (128, 128, 128, false, false), (150, 40, 600, false, true), (52, 96, 300, true, false) })
        {
            float[] a = Enumerable.Range(0, m * k).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
            float[] b = Enumerable.Range(0, k * n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
            float[] c0 = Enumerable.Range(0, m * n).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray();
            float[] one = (float[])c0.Clone(), split = (float[])c0.Clone();
            fixed (float* ap = a, bp = b, op = one, sp = split)
            {
                int lda = transA ? m : k, ldb = transB ? k : n;
                CpuGemm.Run(transA, transB, m, n, k, 0.5f, ap, lda, bp, ldb, 1f, op, n, parallel: false);
                float* pa = ap, pb = bp, pc = sp;
                ConvolutionThreadTests.WithThreads(threads, () => CpuGemm.Run(transA, transB, m, n, k, 0.5f, pa, lda, pb, ldb, 1f, pc, n, parallel: true));
            }

            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double expected = c0[(i * n) + j];
                    for (int p = 0; p < k; p++)
                    {
                        expected += 0.5 * a[transA ? (p * m) + i : (i * k) + p] * b[transB ? (j * k) + p : (p * n) + j];
                    }

                    Assert.True(Math.Abs(expected - split[(i * n) + j]) <= 1e-4 * Math.Sqrt(k), $"{threads} threads {m}x{n}x{k} [{i}, {j}]: {split[(i * n) + j]} vs {expected}");
                }
            }

            Assert.True(one.AsSpan().SequenceEqual(split), $"{threads} threads {m}x{n}x{k}: not one thread's bits");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FewRowsOverALargeMatrixMatchReferenceOnEveryThreadCount(int threads)
    {
        // 5,000 rows of B (A's factors below -0.4 zeroed), in two or three ranges of blocks of 128 live rows;
        // 406 columns hit the 128-, 64- and 8-wide strips and the scalar tail, 131 a 3-wide last group; two
        // rows of A run one after the other. Three calls alternate each range's block order and must give
        // the first call's bits.
        ConvolutionThreadTests.WithThreads(threads, () =>
        {
            foreach (var isa in Enum.GetValues<CpuIsa>().Where(isa => isa <= CpuGemm.DetectedIsa))
            {
                CpuGemmKernelTests.WithIsa(isa, () =>
                {
                    foreach (var (m, n) in new[] { (1, 406), (2, 131) })
                    {
                        var a = Generators.Values([m, 5000], m + n).Map(v => v < -0.4 ? 0 : v);
                        CpuGemmKernelTests.RepeatedProductsMatchReference(a, Generators.Values([5000, n], n), $"{threads} threads {isa} {m}x5000x{n}");
                    }
                });
            }
        });
    }
}
