// Reductions, GEMM, softmax, convolution, pooling, indexing, batch norm and optimizer updates on an
// ILGPU accelerator. Convolution is im2col + the tiled GEMM over chunks of images, so its workspace
// stays bounded whatever the batch size.
using ILGPU;
using ILGPU.Runtime;
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

/// <summary>How the ILGPU backend turns a convolution into GEMM.</summary>
public enum ConvolutionAlgorithm
{
    /// <summary>Lay chunks of images out as a column matrix in a workspace, then run the tiled GEMM.</summary>
    Im2Col,

    /// <summary>Run the tiled GEMM with the column matrix read from the image on the fly: no workspace, one launch per group.</summary>
    ImplicitGemm,
}

public sealed partial class IlgpuBackend
{
    /// <summary>How convolutions run their forward and filter-gradient passes (the data gradient always uses col2im).</summary>
    public ConvolutionAlgorithm Convolution { get; set; } = ConvolutionAlgorithm.Im2Col;

    /// <summary>The most floats a convolution's column workspace takes (the chunk of images shrinks to fit).</summary>
    private long ColumnBudget => IsCpu ? 1L << 20 : 1L << 26;

    /// <inheritdoc />
    public void Reduce(ReduceKind kind, DeviceBuffer x, int outer, int axis, int inner, DeviceBuffer y)
    {
        if (kind is not (ReduceKind.Sum or ReduceKind.Max or ReduceKind.Min))
        {
            throw new ArgumentException($"Reduce: {kind} is not a float32 reduction; it takes Sum, Max or Min (arg-extremes go through TypedReduce).", nameof(kind));
        }

        if ((long)outer * inner == 0)
        {
            return;
        }

        if (inner == 1)
        {
            var rows = Kernel("ReduceRows", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(ReduceKernels.Rows));
            rows(Rows(outer), Gpu(x).View, Gpu(y).View, outer, axis, (int)kind);
            return;
        }

        var columns = Kernel("ReduceColumns", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int, int>(ReduceKernels.Columns));
        columns(Elements((long)outer * inner), Gpu(x).View, Gpu(y).View, outer, axis, inner, (int)kind);
    }

    /// <inheritdoc />
    public void Gemm(in GemmArgs args)
    {
        if (args.M == 0 || args.N == 0 || args.Batch == 0)
        {
            return;
        }

        if (args.K == 0)
        {
            // An empty sum: C = beta * C.
            var zero = new GemmArgs(false, true, args.M, args.N, 1, 0f, unit, 0, 0, 0, unit, 0, 0, 0, args.Beta, args.C, args.OffsetC, args.Ldc, args.BatchStrideC, args.Batch);
            GemmLaunch(zero, unit, unit);
            return;
        }

        GemmLaunch(args, Gpu(args.A), Gpu(args.B));
    }

    /// <inheritdoc />
    public void Softmax(DeviceBuffer x, DeviceBuffer y, int rows, int cols, bool log)
    {
        if (rows == 0 || cols == 0)
        {
            return;
        }

        var k = Kernel("Softmax", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.Forward));
        k(Rows(rows), Gpu(x).View, Gpu(y).View, rows, cols, log ? 1 : 0);
    }

    /// <inheritdoc />
    public void SoftmaxBackward(DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int rows, int cols, bool log)
    {
        if (rows == 0 || cols == 0)
        {
            return;
        }

        var k = Kernel("SoftmaxBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.Backward));
        k(Rows(rows), Gpu(y).View, Gpu(dy).View, Gpu(dx).View, rows, cols, log ? 1 : 0);
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropy(DeviceBuffer logits, DeviceBuffer labels, int rows, int cols, float smoothing, DeviceBuffer loss, DeviceBuffer probabilities)
    {
        if (rows == 0)
        {
            return;
        }

        var k = Kernel("SoftmaxCrossEntropy", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, float, ArrayView<int>>(SoftmaxKernels.CrossEntropy));
        k(Rows(rows), Gpu(logits).View, Gpu(labels).ViewAs<int>(), Gpu(loss).View, Gpu(probabilities).View, rows, cols, smoothing, ErrorView());
    }

    /// <inheritdoc />
    public void SoftmaxCrossEntropyBackward(DeviceBuffer probabilities, DeviceBuffer labels, DeviceBuffer dloss, int rows, int cols, float smoothing, DeviceBuffer dlogits)
    {
        if (rows == 0)
        {
            return;
        }

        var k = Kernel("SoftmaxCrossEntropyBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, float>(SoftmaxKernels.CrossEntropyBackward));
        k(Elements((long)rows * cols), Gpu(probabilities).View, Gpu(labels).ViewAs<int>(), Gpu(dloss).View, Gpu(dlogits).View, rows, cols, smoothing);
    }

    /// <inheritdoc />
    public void Conv2dForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y)
    {
        if (Convolution == ConvolutionAlgorithm.ImplicitGemm)
        {
            ImplicitConvForward(g, x, w, y);
            return;
        }

        var geo = g;
        int pq = g.P * g.Q, cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        ForEachImageChunk(g, x, (col, n0, images) =>
        {
            for (int group = 0; group < geo.Groups; group++)
            {
                // y[n, group's filters] = W_g [Kg, CgRS] x col_g[:, image n] [CgRS, PQ], batched over the chunk's images.
                GemmLaunch(
                    new GemmArgs(
                        false, false, kg, pq, cgrs, 1f,
                        w, group * kg * cgrs, cgrs, 0,
                        col, group * cgrs * images * pq, images * pq, pq,
                        0f, y, ((n0 * geo.K) + (group * kg)) * pq, pq, (long)geo.K * pq, images),
                    Gpu(w), Gpu(col));
            }
        });
    }

    /// <inheritdoc />
    public void Conv2dBackwardData(in Conv2dGeometry g, DeviceBuffer dy, DeviceBuffer w, DeviceBuffer dx)
    {
        var geo = g;
        var shape = Shape(g);
        int pq = g.P * g.Q, cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        var col2im = Kernel("Col2Im", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ConvShape, int, int>(Conv2dKernels.Col2Im));
        ForEachImageChunk(g, null, (col, n0, images) =>
        {
            for (int group = 0; group < geo.Groups; group++)
            {
                // dcol_g[:, image n] = W_g^T [CgRS, Kg] x dy[n, group's filters] [Kg, PQ].
                GemmLaunch(
                    new GemmArgs(
                        true, false, cgrs, pq, kg, 1f,
                        w, group * kg * cgrs, cgrs, 0,
                        dy, ((n0 * geo.K) + (group * kg)) * pq, pq, (long)geo.K * pq,
                        0f, col, group * cgrs * images * pq, images * pq, pq, images),
                    Gpu(w), Gpu(dy));
            }

            col2im(Elements((long)images * geo.C * geo.H * geo.W), Gpu(col).View, Gpu(dx).View, shape, n0, images);
        });
    }

    /// <inheritdoc />
    public void Conv2dBackwardFilter(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw)
    {
        if (Convolution == ConvolutionAlgorithm.ImplicitGemm)
        {
            ImplicitConvBackwardFilter(g, x, dy, dw);
            return;
        }

        var geo = g;
        int pq = g.P * g.Q, cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        ForEachImageChunk(g, x, (col, n0, images) =>
        {
            // dy of the chunk as [K, images * PQ], so each group's filter gradient is one GEMM over all its columns.
            var dyT = Allocate(geo.K * images * pq);
            try
            {
                Copy(
                    new StridedView(dy, n0 * geo.K * pq, [geo.K, images, pq], [pq, geo.K * pq, 1]),
                    StridedView.Dense(dyT, [geo.K, images, pq]));
                for (int group = 0; group < geo.Groups; group++)
                {
                    // dW_g [Kg, CgRS] (+)= dyT_g [Kg, images*PQ] x col_g^T [images*PQ, CgRS].
                    GemmLaunch(
                        new GemmArgs(
                            false, true, kg, cgrs, images * pq, 1f,
                            dyT, group * kg * images * pq, images * pq, 0,
                            col, group * cgrs * images * pq, images * pq, 0,
                            n0 == 0 ? 0f : 1f, dw, group * kg * cgrs, cgrs, 0),
                        Gpu(dyT), Gpu(col));
                }
            }
            finally
            {
                Pool.Return(dyT);
            }
        });
    }

    /// <inheritdoc />
    public void MaxPool2dForward(in Pool2dGeometry g, DeviceBuffer x, DeviceBuffer y, DeviceBuffer indices)
    {
        var k = Kernel("MaxPoolForward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolShape>(PoolKernels.MaxForward));
        k(Elements((long)g.N * g.C * g.P * g.Q), Gpu(x).View, Gpu(y).View, Gpu(indices).ViewAs<int>(), Shape(g));
    }

    /// <inheritdoc />
    public void MaxPool2dBackward(in Pool2dGeometry g, DeviceBuffer dy, DeviceBuffer indices, DeviceBuffer dx)
    {
        var k = Kernel("MaxPoolBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolShape>(PoolKernels.MaxBackward));
        k(Elements((long)g.N * g.C * g.H * g.W), Gpu(dy).View, Gpu(indices).ViewAs<int>(), Gpu(dx).View, Shape(g));
    }

    /// <inheritdoc />
    public void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer x, DeviceBuffer y)
    {
        var k = Kernel("AvgPoolForward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, PoolShape, int>(PoolKernels.AvgForward));
        k(Elements((long)g.N * g.C * g.P * g.Q), Gpu(x).View, Gpu(y).View, Shape(g), countIncludePad ? 1 : 0);
    }

    /// <inheritdoc />
    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, DeviceBuffer dy, DeviceBuffer dx)
    {
        var k = Kernel("AvgPoolBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, PoolShape, int>(PoolKernels.AvgBackward));
        k(Elements((long)g.N * g.C * g.H * g.W), Gpu(dy).View, Gpu(dx).View, Shape(g), countIncludePad ? 1 : 0);
    }

    /// <inheritdoc />
    public void Gather(DeviceBuffer src, int outer, int srcAxis, int inner, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd) =>
        Take(src, srcAxis, index, perElement: true, dst, outer, indexAxis, inner, IndexErrors.Gather, negativeFromEnd);

    /// <inheritdoc />
    public void ScatterAdd(DeviceBuffer src, int outer, int dstAxis, int inner, DeviceBuffer index, int indexAxis, DeviceBuffer dst, bool negativeFromEnd) =>
        PutAdd(src, index, perElement: true, dst, dstAxis, outer, indexAxis, inner, IndexErrors.ScatterAdd, negativeFromEnd);

    /// <inheritdoc />
    public void IndexSelect(DeviceBuffer src, int outer, int srcAxis, int inner, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd) =>
        Take(src, srcAxis, index, perElement: false, dst, outer, count, inner, IndexErrors.IndexSelect, negativeFromEnd);

    /// <inheritdoc />
    public void IndexAdd(DeviceBuffer src, int outer, int dstAxis, int inner, DeviceBuffer index, int count, DeviceBuffer dst, bool negativeFromEnd) =>
        PutAdd(src, index, perElement: false, dst, dstAxis, outer, count, inner, IndexErrors.IndexAdd, negativeFromEnd);

    /// <inheritdoc />
    public void BatchNormStatistics(DeviceBuffer x, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance)
    {
        var k = Kernel("BatchNormStatistics", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(BatchNormKernels.Statistics));
        k(Rows(channels), Gpu(x).View, Gpu(mean).View, Gpu(variance).View, n, channels, inner);
    }

    /// <inheritdoc />
    public void BatchNormForward(DeviceBuffer x, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance, float eps, DeviceBuffer? gamma, DeviceBuffer? beta, DeviceBuffer y)
    {
        var k = Kernel("BatchNormForward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int, int>(BatchNormKernels.Forward));
        k(Elements((long)n * channels * inner), Gpu(x).View, Gpu(mean).View, Gpu(variance).View, Optional(gamma), Optional(beta), Gpu(y).View,
            n, channels, inner, eps, gamma is null ? 0 : 1, beta is null ? 0 : 1);
    }

    /// <inheritdoc />
    public void BatchNormBackward(
        DeviceBuffer x, DeviceBuffer dy, int n, int channels, int inner, DeviceBuffer mean, DeviceBuffer variance, float eps,
        DeviceBuffer? gamma, bool batchStatistics, DeviceBuffer dx, DeviceBuffer? dgamma, DeviceBuffer? dbeta)
    {
        int flags = (gamma is null ? 0 : 1) | (batchStatistics ? 2 : 0) | (dgamma is null ? 0 : 4) | (dbeta is null ? 0 : 8);
        var k = Kernel("BatchNormBackward", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, int>(BatchNormKernels.Backward));
        k(Rows(channels), Gpu(x).View, Gpu(dy).View, Gpu(mean).View, Gpu(variance).View, Optional(gamma), Gpu(dx).View, Optional(dgamma), Optional(dbeta),
            n, channels, inner, eps, flags);
    }

    /// <inheritdoc />
    public void OptimizerStep(in OptimizerUpdate update, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? state1, DeviceBuffer? state2, int length, DeviceBuffer? gradientScale = null)
    {
        if (length == 0)
        {
            return;
        }

        var step = new OptimizerStep
        {
            Rule = (int)update.Rule,
            Nesterov = update.Nesterov ? 1 : 0,
            Decoupled = update.DecoupledWeightDecay ? 1 : 0,
            HasState1 = state1 is null ? 0 : 1,
            HasState2 = state2 is null ? 0 : 1,
            HasScale = gradientScale is null ? 0 : 1,
            LearningRate = update.LearningRate,
            Momentum = update.Momentum,
            WeightDecay = update.WeightDecay,
            Beta1 = update.Beta1,
            Beta2 = update.Beta2,
            Epsilon = update.Epsilon,
            GradientScale = update.GradientScale,
            BiasCorrection1 = 1f - MathF.Pow(update.Beta1, update.Step),
            BiasCorrection2 = 1f - MathF.Pow(update.Beta2, update.Step),
        };
        var k = Kernel("OptimizerStep", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, OptimizerStep>(OptimizerKernels.Update));
        k(Elements(length), Gpu(param).View, Gpu(grad).View, Optional(state1), Optional(state2), Optional(gradientScale), length, step);
    }

    private void Take(DeviceBuffer src, int srcAxis, DeviceBuffer index, bool perElement, DeviceBuffer dst, int outer, int picks, int inner, int op, bool fromEnd)
    {
        var k = Kernel("Take", static a => a.LoadStreamKernel<ArrayView<float>, int, ArrayView<int>, int, ArrayView<float>, int, int, int, int, int, ArrayView<int>>(IndexKernels.Take));
        k(Elements((long)outer * picks * inner), Gpu(src).View, srcAxis, Gpu(index).ViewAs<int>(), perElement ? 1 : 0, Gpu(dst).View, outer, picks, inner, op, fromEnd ? 1 : 0, ErrorView());
    }

    private void PutAdd(DeviceBuffer src, DeviceBuffer index, bool perElement, DeviceBuffer dst, int dstAxis, int outer, int picks, int inner, int op, bool fromEnd)
    {
        var k = Kernel("PutAdd", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, int, int, int, int, int, ArrayView<int>>(IndexKernels.PutAdd));
        k(Elements((long)outer * picks * inner), Gpu(src).View, Gpu(index).ViewAs<int>(), perElement ? 1 : 0, Gpu(dst).View, dstAxis, outer, picks, inner, op, fromEnd ? 1 : 0, ErrorView());
    }

    private static ConvShape Shape(in Conv2dGeometry g) => new()
    {
        C = g.C, H = g.H, W = g.W, R = g.R, S = g.S, P = g.P, Q = g.Q,
        StrideH = g.StrideH, StrideW = g.StrideW, PadH = g.PadTop, PadW = g.PadLeft, DilationH = g.DilationH, DilationW = g.DilationW,
    };

    private static PoolShape Shape(in Pool2dGeometry g) => new()
    {
        Planes = g.N * g.C, H = g.H, W = g.W, P = g.P, Q = g.Q, KernelH = g.KernelH, KernelW = g.KernelW,
        StrideH = g.StrideH, StrideW = g.StrideW, PadTop = g.PadTop, PadBottom = g.PadBottom, PadLeft = g.PadLeft, PadRight = g.PadRight,
        DilationH = g.DilationH, DilationW = g.DilationW,
    };

    /// <summary>Runs <paramref name="body"/> over chunks of images with a column workspace [C*R*S, images*P*Q],
    /// filled by im2col from <paramref name="x"/> when given.</summary>
    private void ForEachImageChunk(in Conv2dGeometry g, DeviceBuffer? x, Action<DeviceBuffer, int, int> body)
    {
        if (g.N == 0 || g.P * g.Q == 0)
        {
            return;
        }

        long perImage = (long)g.C * g.R * g.S * g.P * g.Q;
        int chunk = (int)Math.Clamp(ColumnBudget / Math.Max(perImage, 1), 1, g.N);
        var shape = Shape(g);
        var im2col = Kernel("Im2Col", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ConvShape, int, int>(Conv2dKernels.Im2Col));
        var col = Allocate((int)(perImage * chunk));
        try
        {
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int images = Math.Min(chunk, g.N - n0);
                if (x is not null)
                {
                    im2col(Elements(perImage * images), Gpu(x).View, Gpu(col).View, shape, n0, images);
                }

                body(col, n0, images);
            }
        }
        finally
        {
            Pool.Return(col);
        }
    }

    private void GemmLaunch(in GemmArgs args, IlgpuBuffer a, IlgpuBuffer b)
    {
        var shape = new GemmShape
        {
            M = args.M, N = args.N, K = args.K, Ldc = args.Ldc,
            TransA = args.TransA ? 1 : 0, TransB = args.TransB ? 1 : 0, Batch = args.Batch,
            OffsetA = args.OffsetA, OffsetB = args.OffsetB, OffsetC = args.OffsetC,
            StrideA = args.BatchStrideA, StrideB = args.BatchStrideB, StrideC = args.BatchStrideC,
            Alpha = args.Alpha, Beta = args.Beta,
        };
        var opA = new DenseOperand { Ld = args.Lda, Trans = shape.TransA };
        var opB = new DenseOperand { Ld = args.Ldb, Trans = shape.TransB };
        var k = Kernel("Gemm", static acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int, DenseOperand, DenseOperand>(GemmKernels.Tiled));
        k(GemmConfig(shape), a.View, b.View, Gpu(args.C).View, shape, GemmSide, opA, opB);
    }

    /// <summary>One group per output tile (grid-stride over tiles on the CPU accelerator).</summary>
    private KernelConfig GemmConfig(in GemmShape shape)
    {
        int tile = GemmKernels.Block * GemmSide;
        long tiles = (long)shape.Batch * ((shape.M + tile - 1) / tile) * ((shape.N + tile - 1) / tile);
        int groups = (int)Math.Clamp(tiles, 1, IsCpu ? MaxGroups : int.MaxValue / 2);
        return new KernelConfig(groups, GemmSide * GemmSide, SharedMemoryConfig.RequestDynamic<float>(GemmKernels.SharedFloats(GemmSide)));
    }

    /// <summary>Convolution forward as one implicit GEMM per group: the column matrix is read from x on the fly.</summary>
    private void ImplicitConvForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer y)
    {
        int pq = g.P * g.Q, cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        var k = Kernel("GemmImplicitConv", static acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int, DenseOperand, ImplicitColumns>(GemmKernels.Tiled));
        for (int group = 0; group < g.Groups; group++)
        {
            // y[n, group's filters] [Kg, PQ] = W_g [Kg, CgRS] x columns(x[n]) [CgRS, PQ], batched over images.
            var shape = new GemmShape
            {
                M = kg, N = pq, K = cgrs, Ldc = pq, Batch = g.N,
                OffsetA = (long)group * kg * cgrs, OffsetC = (long)group * kg * pq,
                StrideB = (long)g.C * g.H * g.W, StrideC = (long)g.K * pq, Alpha = 1f,
            };
            var columns = new ImplicitColumns { Shape = Shape(g), ChannelOffset = group * g.CPerGroup };
            k(GemmConfig(shape), Gpu(w).View, Gpu(x).View, Gpu(y).View, shape, GemmSide, new DenseOperand { Ld = cgrs }, columns);
        }
    }

    /// <summary>Filter gradient as one implicit GEMM per group over every image's output positions.</summary>
    private void ImplicitConvBackwardFilter(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer dy, DeviceBuffer dw)
    {
        int pq = g.P * g.Q, cgrs = g.CPerGroup * g.R * g.S, kg = g.KPerGroup;
        var k = Kernel("GemmImplicitFilter", static acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape, int, GradientColumns, ImplicitColumns>(GemmKernels.Tiled));
        for (int group = 0; group < g.Groups; group++)
        {
            // dW_g [Kg, CgRS] = dy_g [Kg, N*PQ] x columns(x)^T [N*PQ, CgRS].
            var shape = new GemmShape
            {
                M = kg, N = cgrs, K = g.N * pq, Ldc = cgrs, Batch = 1, TransB = 1,
                OffsetC = (long)group * kg * cgrs, Alpha = 1f,
            };
            var gradient = new GradientColumns { K = g.K, Positions = pq, FilterOffset = group * kg };
            var columns = new ImplicitColumns { Shape = Shape(g), ChannelOffset = group * g.CPerGroup, Transposed = 1 };
            k(GemmConfig(shape), Gpu(dy).View, Gpu(x).View, Gpu(dw).View, shape, GemmSide, gradient, columns);
        }
    }
}
