// Every IBackend primitive run on a candidate backend (the GPU kernels: ILGPU's CPU accelerator in CI,
// CUDA in the GPU self-check) and on the CPU backend with the same random inputs, compared output by
// output; and a small CNN trained on both devices, compared loss by loss. Shapes are small and
// deliberately not multiples of any tile or group size. Tolerances: element-wise kernels evaluate the
// same scalar formulas as the CPU's SIMD forms, so they agree to a few ulps (1e-5); anything that sums
// (GEMM, convolution, reductions, softmax, batch norm) adds in a different order, so it gets 1e-4. Both
// are relative to the value plus a tenth of the output's largest magnitude, because a sum that cancels
// towards zero keeps only the absolute error of its large terms.
// No test framework here: the xunit suite and the self-check program both run these cases.
using Lepton.Backends;
using Lepton.Backends.Ilgpu;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Support;

/// <summary>A primitive's output differs between the two backends.</summary>
public sealed class ParityException(string message) : Exception(message);

/// <summary>Parity checks of a candidate device against the CPU backend.</summary>
public sealed partial class ParityChecks(Device candidate)
{
    private const float Elementwise = 1e-5f;
    private const float Summed = 1e-4f;

    private static IBackend Cpu => Device.Cpu.Backend;

    private IBackend Gpu => candidate.Backend;

    /// <summary>Every check by name (convolution and pooling once per geometry).</summary>
    public static IEnumerable<(string Name, Action<ParityChecks> Run)> Cases()
    {
        yield return ("fill and strided copy", c => c.FillAndCopyThroughStridedViews());
        yield return ("unary ops and derivatives", c => c.UnaryOpsAndDerivatives());
        yield return ("binary ops with broadcasting, where", c => c.BinaryOpsBroadcastAndWhere());
        yield return ("fused bias and activation", c => c.FusedBiasActivation());
        yield return ("reductions", c => c.ReductionsAlongContiguousAndStridedAxes());
        yield return ("gemm", c => c.GemmTransposesBatchesAndScales());
        yield return ("softmax and cross-entropy", c => c.SoftmaxAndFusedCrossEntropy());
        // n, c, h, w, k, r, s, stride, padding top, bottom, left, right, dilation, groups.
        int[][] convolutions =
        [
            [2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1],
            [3, 4, 9, 8, 6, 3, 2, 2, 1, 1, 1, 1, 1, 2],
            [2, 4, 8, 8, 4, 3, 3, 2, 2, 3, 2, 3, 2, 1],
            [1, 1, 5, 5, 2, 1, 1, 1, 0, 0, 0, 0, 1, 1],
            [2, 3, 6, 7, 4, 3, 2, 1, 2, 0, 0, 3, 1, 1],
            [2, 2, 5, 6, 2, 1, 1, 1, 0, 2, 0, 1, 1, 1],
        ];
        foreach (var v in convolutions)
        {
            yield return ($"conv2d n{v[0]} c{v[1]} {v[2]}x{v[3]} k{v[4]} {v[5]}x{v[6]} stride {v[7]} pad {v[8]},{v[9]},{v[10]},{v[11]} dilation {v[12]} groups {v[13]}",
                c => c.ConvolutionForwardAndBothGradients(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], new Padding2d(v[8], v[9], v[10], v[11]), v[12], v[13]));
        }

        // kernel, stride, padding top, bottom, left, right, dilation, ceil mode.
        int[][] poolings =
        [
            [2, 2, 0, 0, 0, 0, 1, 0], [3, 1, 1, 1, 1, 1, 1, 0], [3, 2, 1, 1, 1, 1, 1, 0], [2, 2, 0, 1, 0, 1, 1, 0],
            [3, 2, 0, 1, 1, 0, 1, 1], [2, 2, 1, 0, 0, 0, 1, 1], [3, 2, 1, 1, 0, 1, 2, 0], [2, 1, 1, 1, 1, 0, 3, 1],
        ];
        foreach (var v in poolings)
        {
            yield return ($"pooling {v[0]}x{v[0]} stride {v[1]} pad {v[2]},{v[3]},{v[4]},{v[5]} dilation {v[6]} ceil {v[7]}",
                c => c.PoolingForwardAndBackward(v[0], v[1], new Padding2d(v[2], v[3], v[4], v[5]), v[6], v[7] != 0));
        }

        yield return ("gather, scatter-add, index-select, index-add", c => c.GatherScatterAndIndexSelect());
        yield return ("batch norm", c => c.BatchNormStatisticsForwardAndBackward());
        yield return ("optimizer updates", c => c.OptimizerUpdates());
        yield return ("recurrent cells", c => c.RecurrentCells());
        yield return ("random streams", c => c.RandomStreamsAreTheSameOnEveryBackend());
        yield return ("cnn loss curve", c => c.CnnLossCurve());
    }

    /// <summary>8x8 images with one bright bar: vertical (class 0) or horizontal (class 1), plus noise.</summary>
    public static (float[] Images, int[] Labels) Bars(int count, int seed)
    {
        var rng = new Random(seed);
        var images = new float[count * 64];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % 2;
            int at = rng.Next(1, 7);
            for (int p = 0; p < 64; p++)
            {
                int r = p / 8, c = p % 8;
                bool on = labels[i] == 0 ? c == at : r == at;
                images[(i * 64) + p] = (on ? 1f : 0f) + (float)((rng.NextDouble() - 0.5) * 0.2);
            }
        }

        return (images, labels);
    }

    /// <summary>
    /// Conv, batch norm, pooling, dropout (counter-based, so the same mask on both), dense, Adam and the fused
    /// cross-entropy: every kernel a training step uses. The per-batch losses must agree to 1e-3 relative: only
    /// summation order differs, and 24 Adam steps do not amplify it beyond that.
    /// </summary>
    public void CnnLossCurve()
    {
        var (images, labels) = Bars(48, seed: 21);
        using var x = Tensor.FromArray(images, [48, 1, 8, 8]);
        using var y = Tensor.FromArray(labels, [48]);
        double[] Train(Device device)
        {
            using var model = new Sequential(
            [
                new InputLayer([1, 8, 8]),
                new Conv2D(6, 3, padding: "same", seed: 1),
                new BatchNormalization(),
                new ReLU(),
                new MaxPooling2D(2),
                new Flatten(),
                new Dropout(0.25f, seed: 2),
                new Dense(2, seed: 3),
            ]) { Device = device, Output = TextWriter.Null };
            model.Compile(new Adam(0.01f), "sparse_categorical_crossentropy", "accuracy");
            var losses = new List<double>();
            for (int step = 0; step < 24; step++)
            {
                int start = step % 3 * 16;
                using var scope = Tensor.NewScope();
                losses.Add(model.TrainOnBatch(x[start..(start + 16)], y[start..(start + 16)])["loss"]);
            }

            return [.. losses];
        }

        var expected = Train(Device.Cpu);
        var actual = Train(candidate);
        if (!(expected[^1] < expected[0] * 0.5))
        {
            throw new ParityException($"cnn loss curve: the CPU loss fell only from {expected[0]} to {expected[^1]}");
        }

        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-3 * Math.Max(1, Math.Abs(expected[i]))))
            {
                throw new ParityException($"cnn loss curve: step {i} loss {actual[i]} on {candidate}, {expected[i]} on the CPU");
            }
        }
    }

    public void FillAndCopyThroughStridedViews()
    {
        var rng = new Random(1);
        for (int trial = 0; trial < 4; trial++)
        {
            int n = rng.Next(1, 200), offset = rng.Next(0, 5);
            Parity([Values(rng, n + offset)], [n + offset], (b, i, o) =>
            {
                b.Copy(StridedView.Dense(i[0], [n + offset]), StridedView.Dense(o[0], [n + offset]));
                b.Fill(o[0], offset, n, 2.5f);
            }, 0, "fill");

            // A transposed source: [a, b, c] read with strides of its [c, b, a] storage.
            int[] shape = [rng.Next(1, 6), rng.Next(1, 6), rng.Next(1, 6)];
            int count = shape[0] * shape[1] * shape[2];
            Parity([Values(rng, count + 3)], [count], (b, i, o) =>
                b.Copy(new StridedView(i[0], 3, shape, [1, shape[0], shape[0] * shape[1]]), StridedView.Dense(o[0], shape)), 0, "transposed copy");
        }

        // Eight dimensions that no merging can reduce to six: the kernel layout splits the outer ones.
        int[] deep = [2, 3, 2, 3, 2, 3, 2, 3];
        int[] dense = Shapes.ContiguousStrides(deep);
        int[] reversed = [.. Enumerable.Range(0, 8).Select(d => Shapes.ContiguousStrides([.. deep.Reverse()])[7 - d])];
        int total = deep.Aggregate(1, (a, d) => a * d);
        Parity([Values(new Random(2), total)], [total], (b, i, o) =>
            b.Copy(new StridedView(i[0], 0, deep, reversed), new StridedView(o[0], 0, deep, dense)), 0, "rank-8 copy");
    }

    public void UnaryOpsAndDerivatives()
    {
        CheckUnary(new ReluOp(), signed: true);
        CheckUnary(new LeakyReluOp(0.1f), signed: true);
        CheckUnary(new SigmoidOp(), signed: true);
        CheckUnary(new TanhOp(), signed: true);
        CheckUnary(new GeluOp(), signed: true);
        CheckUnary(new SoftplusOp(), signed: true);
        CheckUnary(new ExpOp(), signed: true);
        CheckUnary(new AbsOp(), signed: true);
        CheckUnary(new NegOp(), signed: true);
        CheckUnary(new ClampOp(-0.5f, 0.25f), signed: true);
        CheckUnary(new PowScalarOp(3f), signed: true);
        CheckUnary(new LogOp(), signed: false);
        CheckUnary(new SqrtOp(), signed: false);
        CheckUnary(new PowScalarOp(0.5f), signed: false);
    }

    public void BinaryOpsBroadcastAndWhere()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 3; trial++)
        {
            int[] shape = [rng.Next(1, 5), rng.Next(1, 7), rng.Next(1, 9)];
            int count = shape[0] * shape[1] * shape[2];

            // a is [d0, 1, d2] and b is [d1, 1]: both broadcast to the full shape with stride 0.
            int aCount = shape[0] * shape[2], bCount = shape[1];
            StridedView A(DeviceBuffer buffer) => new(buffer, 0, shape, [shape[2], 0, 1]);
            StridedView B(DeviceBuffer buffer) => new(buffer, 0, shape, [0, 1, 0]);
            float[] positive = [.. Values(rng, aCount).Select(v => MathF.Abs(v) + 0.1f)];
            float[] a = Values(rng, aCount), b = Values(rng, bCount);
            void Binary<TOp>(TOp op, float[] left) where TOp : struct, IBinaryOp =>
                Parity([left, b], [count], (k, i, o) => k.Binary(op, A(i[0]), B(i[1]), o[0], shape), Elementwise, typeof(TOp).Name);
            Binary(new AddOp(), a);
            Binary(new SubOp(), a);
            Binary(new MulOp(), a);
            Binary(new DivOp(), a);
            Binary(new MaximumOp(), a);
            Binary(new MinimumOp(), a);
            Binary(new PowOp(), positive);
            Binary(new CompareOp(Comparison.Greater), a);
            Binary(new CompareOp(Comparison.LessOrEqual), a);

            float[] condition = [.. Values(rng, count).Select(v => v > 0 ? 1f : 0f)];
            Parity([condition, a, b], [count], (k, i, o) => k.Where(StridedView.Dense(i[0], shape), A(i[1]), B(i[2]), o[0], shape), 0, "where");
        }
    }

    public void FusedBiasActivation()
    {
        var rng = new Random(11);
        foreach (int inner in new[] { 1, 13 })
        {
            int outer = rng.Next(1, 9), channels = rng.Next(1, 40), count = outer * channels * inner;
            float[] x = [.. Values(rng, count).Select(v => v * 3f)], bias = Values(rng, channels), dy = Values(rng, count);
            float[] y = Run(Cpu, [x, bias], [new float[count]], (b, i, o) => b.BiasActivation(new GeluOp(), i[0], i[1], outer, channels, inner, o[0]))[0];
            Parity([x, bias], [count], (b, i, o) => b.BiasActivation(new GeluOp(), i[0], i[1], outer, channels, inner, o[0]), Elementwise, "bias gelu");
            Parity([x], [count], (b, i, o) => b.BiasActivation(new ReluOp(), i[0], null, outer, channels, inner, o[0]), Elementwise, "relu without bias");
            Parity([x, bias, y, dy], [count, channels], (b, i, o) => b.BiasActivationBackward(
                new GeluOp(), i[0], i[1], i[2], i[3], outer, channels, inner, o[0], o[1]), Summed, "bias gelu backward");
        }
    }

    public void ReductionsAlongContiguousAndStridedAxes()
    {
        var rng = new Random(4);
        foreach (var kind in new[] { ReduceKind.Sum, ReduceKind.Max, ReduceKind.Min })
        {
            foreach (int inner in new[] { 1, 3 })
            {
                int outer = rng.Next(1, 6), axis = rng.Next(1, 100);
                float[] x = [.. Enumerable.Range(0, outer * axis * inner).Select(_ => (float)rng.Next(-4, 5))];
                Parity([x], [outer * inner], (b, i, o) => b.Reduce(kind, i[0], outer, axis, inner, o[0]), Summed, $"{kind} inner {inner}");
            }
        }

        // Float32 arg-extremes run through the typed primitive into int64 (two floats' worth, compared bit for bit).
        // Small integers make ties and a few NaNs compete, so both sides must agree on which index wins.
        foreach (var kind in new[] { ReduceKind.ArgMax, ReduceKind.ArgMin })
        {
            foreach (bool last in new[] { false, true })
            {
                foreach (int inner in new[] { 1, 3 })
                {
                    int outer = rng.Next(1, 6), axis = rng.Next(1, 100);
                    float[] x = [.. Enumerable.Range(0, outer * axis * inner).Select(_ => rng.Next(40) == 0 ? float.NaN : rng.Next(-4, 5))];
                    Parity([x], [2 * outer * inner], (b, i, o) => b.TypedReduce(kind, DType.Float32, i[0], outer, axis, inner, o[0], last), 0,
                        $"{kind} last={last} inner {inner}");
                }
            }
        }
    }

    public void GemmTransposesBatchesAndScales()
    {
        var rng = new Random(5);
        foreach (bool transA in new[] { false, true })
        {
            foreach (bool transB in new[] { false, true })
            {
                int m = rng.Next(1, 40), n = rng.Next(1, 40), k = rng.Next(1, 40), batch = 2;
                int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 1;
                long strideA = (long)lda * (transA ? k : m), strideB = (long)ldb * (transB ? n : k), strideC = (long)ldc * m;
                var inputs = new[] { Values(rng, (int)(strideA * batch)), Values(rng, (int)(strideB * batch)) };
                float[] c = Values(rng, (int)(strideC * batch));
                Parity(inputs, c, (b, i, o) => b.Gemm(new GemmArgs(
                    transA, transB, m, n, k, 0.75f, i[0], 0, lda, strideA, i[1], 0, ldb, strideB, 0.5f, o[0], 0, ldc, strideC, batch)), Summed, $"gemm {transA} {transB}");
            }
        }

        // An empty inner dimension leaves beta * C.
        Parity([[1f], [1f]], [1f, 2f, 3f, 4f], (b, i, o) => b.Gemm(new GemmArgs(
            false, false, 2, 2, 0, 1f, i[0], 0, 1, 0, i[1], 0, 2, 0, 3f, o[0], 0, 2, 0)), 0, "gemm k=0");
    }

    public void SoftmaxAndFusedCrossEntropy()
    {
        var rng = new Random(6);
        foreach (int cols in new[] { 1, 7, 70 })
        {
            int rows = rng.Next(1, 9);
            float[] x = [.. Values(rng, rows * cols).Select(v => v * 10f)];
            float[] dy = Values(rng, rows * cols);
            foreach (bool log in new[] { false, true })
            {
                Parity([x], [rows * cols], (b, i, o) => b.Softmax(i[0], o[0], rows, cols, log), Summed, $"softmax log={log}");
                float[] y = Run(Cpu, [x], [new float[rows * cols]], (b, i, o) => b.Softmax(i[0], o[0], rows, cols, log))[0];
                Parity([y, dy], [rows * cols], (b, i, o) => b.SoftmaxBackward(i[0], i[1], o[0], rows, cols, log), Summed, $"softmax backward log={log}");
            }

            float[] labels = IntBits([.. Enumerable.Range(0, rows).Select(_ => rng.Next(cols))]);
            float[] dloss = Values(rng, rows);
            foreach (float smoothing in new[] { 0f, 0.1f })
            {
                Parity([x, labels], [rows, rows * cols], (b, i, o) => b.SoftmaxCrossEntropy(i[0], i[1], rows, cols, smoothing, o[0], o[1]), Summed, "cross-entropy");
                float[] p = Run(Cpu, [x, labels], [new float[rows], new float[rows * cols]], (b, i, o) => b.SoftmaxCrossEntropy(i[0], i[1], rows, cols, smoothing, o[0], o[1]))[1];
                Parity([p, labels, dloss], [rows * cols], (b, i, o) => b.SoftmaxCrossEntropyBackward(i[0], i[1], i[2], rows, cols, smoothing, o[0]), Elementwise, "cross-entropy backward");
            }
        }
    }

    public void ConvolutionForwardAndBothGradients(int n, int c, int h, int w, int k, int r, int s, int stride, Padding2d pad, int dilation, int groups)
    {
        var g = new Conv2dGeometry(n, c, h, w, k, r, s, stride, stride, pad.Top, pad.Bottom, pad.Left, pad.Right, dilation, dilation, groups);
        var rng = new Random((n * 31) + k);
        int xs = n * c * h * w, ws = k * (c / groups) * r * s, ys = n * k * g.P * g.Q;
        float[] x = Values(rng, xs), wt = Values(rng, ws), dy = Values(rng, ys);
        Parity([dy, wt], [xs], (b, i, o) => b.Conv2dBackwardData(g, i[0], i[1], o[0]), Summed, "conv backward data");

        // Forward and filter gradient under each of the GPU backend's algorithms.
        var ilgpu = Gpu as IlgpuBackend;
        var original = ilgpu?.Convolution;
        try
        {
            foreach (var algorithm in ilgpu is null ? [default] : Enum.GetValues<ConvolutionAlgorithm>())
            {
                if (ilgpu is not null)
                {
                    ilgpu.Convolution = algorithm;
                }

                Parity([x, wt], [ys], (b, i, o) => b.Conv2dForward(g, i[0], i[1], o[0]), Summed, $"conv forward ({algorithm})");
                Parity([x, dy], [ws], (b, i, o) => b.Conv2dBackwardFilter(g, i[0], i[1], o[0]), Summed, $"conv backward filter ({algorithm})");
            }
        }
        finally
        {
            if (ilgpu is not null)
            {
                ilgpu.Convolution = original!.Value;
            }
        }
    }

    public void PoolingForwardAndBackward(int kernel, int stride, Padding2d pad, int dilation, bool ceilMode)
    {
        var g = new Pool2dGeometry(2, 3, 7, 6, kernel, kernel, stride, stride, pad.Top, pad.Bottom, pad.Left, pad.Right, dilation, dilation, ceilMode);
        var rng = new Random(kernel * 10 + stride);
        int xs = g.N * g.C * g.H * g.W, ys = g.N * g.C * g.P * g.Q;
        float[] x = [.. Enumerable.Range(0, xs).Select(_ => (float)rng.Next(-3, 4))], dy = Values(rng, ys);
        Parity([x], [ys, ys], (b, i, o) => b.MaxPool2dForward(g, i[0], o[0], o[1]), 0, "max pool");
        float[] indices = Run(Cpu, [x], [new float[ys], new float[ys]], (b, i, o) => b.MaxPool2dForward(g, i[0], o[0], o[1]))[1];
        Parity([dy, indices], [xs], (b, i, o) => b.MaxPool2dBackward(g, i[0], i[1], o[0]), Summed, "max pool backward");
        foreach (bool includePad in dilation == 1 ? new[] { false, true } : [])
        {
            Parity([x], [ys], (b, i, o) => b.AvgPool2dForward(g, includePad, i[0], o[0]), Summed, "avg pool");
            Parity([dy], [xs], (b, i, o) => b.AvgPool2dBackward(g, includePad, i[0], o[0]), Summed, "avg pool backward");
        }
    }

    public void GatherScatterAndIndexSelect()
    {
        var rng = new Random(8);
        int outer = 3, axis = 5, inner = 4, picks = 6;
        float[] src = Values(rng, outer * axis * inner);
        int[] indexValues = [.. Enumerable.Range(0, outer * picks * inner).Select(_ => rng.Next(axis))];
        float[] index = IntBits(indexValues);
        float[] picked = Values(rng, outer * picks * inner);
        float[] rows = IntBits([4, 0, 4, 2, 1, 4]);

        // Negative indices count from the end where allowed: the same picks written as index - axis in places.
        float[] fromEnd = IntBits([.. indexValues.Select((k, i) => i % 3 == 0 ? k - axis : k)]);
        float[] rowsFromEnd = IntBits([-1, 0, 4, -3, 1, -1]);
        foreach (bool negative in new[] { false, true })
        {
            float[] ix = negative ? fromEnd : index, rx = negative ? rowsFromEnd : rows;
            Parity([src, ix], [outer * picks * inner], (b, i, o) => b.Gather(i[0], outer, axis, inner, i[1], picks, o[0], negative), 0, $"gather (negative {negative})");
            Parity([picked, ix], Values(rng, outer * axis * inner), (b, i, o) => b.ScatterAdd(i[0], outer, axis, inner, i[1], picks, o[0], negative), Summed, $"scatter-add (negative {negative})");
            Parity([src, rx], [outer * rows.Length * inner], (b, i, o) => b.IndexSelect(i[0], outer, axis, inner, i[1], rows.Length, o[0], negative), 0, $"index-select (negative {negative})");
            Parity([Values(rng, outer * rows.Length * inner), rx], Values(rng, outer * axis * inner), (b, i, o) => b.IndexAdd(i[0], outer, axis, inner, i[1], rows.Length, o[0], negative), Summed, $"index-add (negative {negative})");
        }

        // The same picks either way.
        float[] plain = Run(Cpu, [src, index], [new float[outer * picks * inner]], (b, i, o) => b.Gather(i[0], outer, axis, inner, i[1], picks, o[0], false))[0];
        float[] wrapped = Run(Gpu, [src, fromEnd], [new float[outer * picks * inner]], (b, i, o) => b.Gather(i[0], outer, axis, inner, i[1], picks, o[0], true))[0];
        if (!plain.SequenceEqual(wrapped))
        {
            throw new InvalidOperationException("gather: negative indices did not pick the same elements as their positive equivalents.");
        }
    }

    public void BatchNormStatisticsForwardAndBackward()
    {
        var rng = new Random(9);
        int n = 3, channels = 4, inner = 10, count = n * channels * inner;
        float[] x = [.. Values(rng, count).Select(v => (v * 3f) + 1f)], dy = Values(rng, count);
        float[] gamma = Values(rng, channels), beta = Values(rng, channels);
        Parity([x], [channels, channels], (b, i, o) => b.BatchNormStatistics(i[0], n, channels, inner, o[0], o[1]), Summed, "batch-norm statistics");
        var stats = Run(Cpu, [x], [new float[channels], new float[channels]], (b, i, o) => b.BatchNormStatistics(i[0], n, channels, inner, o[0], o[1]));
        Parity([x, stats[0], stats[1], gamma, beta], [count], (b, i, o) => b.BatchNormForward(i[0], n, channels, inner, i[1], i[2], 1e-3f, i[3], i[4], o[0]), Summed, "batch-norm forward");
        Parity([x, stats[0], stats[1]], [count], (b, i, o) => b.BatchNormForward(i[0], n, channels, inner, i[1], i[2], 1e-3f, null, null, o[0]), Summed, "batch-norm forward without affine");
        foreach (bool batchStatistics in new[] { true, false })
        {
            Parity([x, dy, stats[0], stats[1], gamma], [count, channels, channels], (b, i, o) => b.BatchNormBackward(
                i[0], i[1], n, channels, inner, i[2], i[3], 1e-3f, i[4], batchStatistics, o[0], o[1], o[2]), Summed, $"batch-norm backward {batchStatistics}");
        }

        Parity([x, dy, stats[0], stats[1]], [count], (b, i, o) => b.BatchNormBackward(
            i[0], i[1], n, channels, inner, i[2], i[3], 1e-3f, null, true, o[0], null, null), Summed, "batch-norm backward without affine");
    }

    public void OptimizerUpdates()
    {
        var rng = new Random(10);
        int n = 37;
        OptimizerUpdate[] updates =
        [
            new(OptimizerRule.Sgd, 0.1f, WeightDecay: 0.01f),
            new(OptimizerRule.Sgd, 0.1f, Momentum: 0.9f, Nesterov: true),
            new(OptimizerRule.Adam, 0.01f, Step: 3, GradientScale: 0.5f),
            new(OptimizerRule.Adam, 0.01f, WeightDecay: 0.1f, DecoupledWeightDecay: true, Step: 7),
            new(OptimizerRule.RmsProp, 0.01f, Beta2: 0.9f),
            new(OptimizerRule.RmsProp, 0.01f, Momentum: 0.5f, Beta2: 0.9f),
        ];
        foreach (var u in updates)
        {
            bool first = u.Rule != OptimizerRule.RmsProp || u.Momentum != 0, plain = u is { Rule: OptimizerRule.Sgd, Momentum: 0 };
            float[] grad = Values(rng, n);
            float[][] outputs = [Values(rng, n), Values(rng, n), [.. Values(rng, n).Select(MathF.Abs)]];
            Parity([grad], outputs, (b, i, o) => b.OptimizerStep(u, o[0], i[0], first && !plain ? o[1] : null, u.Rule == OptimizerRule.Sgd ? null : o[2], n), Elementwise, u.ToString());
        }

        // A gradient scale computed on the device (norm clipping) multiplies the gradient too.
        float[][] state = [Values(rng, n), Values(rng, n), [.. Values(rng, n).Select(MathF.Abs)]];
        Parity([Values(rng, n), [0.25f]], state, (b, i, o) => b.OptimizerStep(updates[2], o[0], i[0], o[1], o[2], n, i[1]), Elementwise, "adam with a device-side gradient scale");
    }

    public void RandomStreamsAreTheSameOnEveryBackend()
    {
        Parity([], [101], (b, i, o) => b.RandomUniform(o[0], 101, 42, 1000, -2f, 3f), Elementwise, "uniform");
        Parity([], [101], (b, i, o) => b.RandomNormal(o[0], 101, 42, 1000, 1f, 2f), Elementwise, "normal");
    }

    private void CheckUnary<TOp>(TOp op, bool signed) where TOp : struct, IUnaryOp
    {
        var rng = new Random(typeof(TOp).Name.Length);
        int n = rng.Next(1, 300);
        float[] x = [.. Values(rng, n).Select(v => signed ? v * 3f : MathF.Abs(v * 3f) + 0.05f)], dy = Values(rng, n);
        Parity([x], [n], (b, i, o) => b.Unary(op, i[0], o[0], n), Elementwise, typeof(TOp).Name);
        float[] y = Run(Cpu, [x], [new float[n]], (b, i, o) => b.Unary(op, i[0], o[0], n))[0];
        Parity([x, y, dy], [n], (b, i, o) => b.UnaryBackward(op, i[0], i[1], i[2], o[0], n), Elementwise, typeof(TOp).Name + " backward");
    }

    private static float[] Values(Random rng, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2) - 1))];

    /// <summary>Runs on both backends; outputs start as NaN (so a kernel that skips an element is caught).</summary>
    private void Parity(float[][] inputs, int[] outputLengths, Action<IBackend, DeviceBuffer[], DeviceBuffer[]> run, float tolerance, string what) =>
        Parity(inputs, [.. outputLengths.Select(n => Enumerable.Repeat(float.NaN, n).ToArray())], run, tolerance, what);

    /// <summary>Runs on both backends with outputs starting from the given values (for accumulating primitives).</summary>
    private void Parity(float[][] inputs, float[] output, Action<IBackend, DeviceBuffer[], DeviceBuffer[]> run, float tolerance, string what) =>
        Parity(inputs, [output], run, tolerance, what);

    private void Parity(float[][] inputs, float[][] outputs, Action<IBackend, DeviceBuffer[], DeviceBuffer[]> run, float tolerance, string what)
    {
        var expected = Run(Cpu, inputs, outputs, run);
        var actual = Run(Gpu, inputs, outputs, run);
        for (int k = 0; k < expected.Length; k++)
        {
            float scale = 1f + expected[k].Select(MathF.Abs).Where(float.IsFinite).DefaultIfEmpty(0f).Max();
            for (int i = 0; i < expected[k].Length; i++)
            {
                float e = expected[k][i], a = actual[k][i];
                bool same = (float.IsNaN(e) && float.IsNaN(a)) || e == a || MathF.Abs(e - a) <= tolerance * (MathF.Abs(e) + (0.1f * scale));
                if (!same)
                {
                    throw new ParityException($"{what}: output {k}[{i}] is {a} on {candidate}, {e} on the CPU (of {expected[k].Length}).");
                }
            }
        }
    }

    private static float[][] Run(IBackend backend, float[][] inputs, float[][] outputs, Action<IBackend, DeviceBuffer[], DeviceBuffer[]> run)
    {
        var ins = inputs.Select(v => Upload(backend, v)).ToArray();
        var outs = outputs.Select(v => Upload(backend, v)).ToArray();
        try
        {
            run(backend, ins, outs);
            return [.. outs.Select((b, k) =>
            {
                var values = new float[outputs[k].Length];
                backend.Download(b, 0, values);
                return values;
            })];
        }
        finally
        {
            foreach (var b in ins.Concat(outs))
            {
                backend.Pool.Return(b);
            }
        }
    }

    /// <summary>Int32 index or label values carried in a float array bit for bit (the primitives read index buffers as int32).</summary>
    private static float[] IntBits(int[] values) => Array.ConvertAll(values, BitConverter.Int32BitsToSingle);

    private static DeviceBuffer Upload(IBackend backend, float[] values)
    {
        var buffer = backend.Allocate(values.Length);
        backend.Upload(values, buffer, 0);
        return buffer;
    }
}
