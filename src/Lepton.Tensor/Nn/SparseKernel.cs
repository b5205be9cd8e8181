// Sparse inference: a CSR copy of a highly sparse Dense or 1x1 Conv2D kernel that inference multiplies with on the
// CPU instead of the dense GEMM, above the sparsity where that measured faster (the table in MinSparsity).
using Lepton.Autograd;
using Lepton.Backends;
using Lepton.Backends.Cpu;
using Lepton.Capture;

namespace Lepton.Nn;

/// <summary>
/// The compressed-sparse-rows copy of one kernel, refreshed when its weight is written (<see cref="Weight.Version"/>).
/// Rows are output units (a Dense kernel [inputs, units] is read transposed), columns inputs.
/// </summary>
internal sealed unsafe class SparseKernel
{
    private readonly Weight weight;
    private readonly bool transposed;
    private readonly Lock gate = new();
    private SparseRows? rows;
    private long version = -1;
    private DeviceBuffer? source;
    private long countedVersion = -1;
    private DeviceBuffer? counted;
    private double sparsity;

    private SparseKernel(Weight weight, bool transposed)
    {
        this.weight = weight;
        this.transposed = transposed;
    }

    /// <summary>
    /// For benchmarks and tests: true always takes the sparse path where it can, false never, null (the default) as <see cref="MinSparsity"/> says.
    /// </summary>
    internal static bool? Forced { get; set; }

    /// <summary>
    /// The least fraction of zeros at which the sparse product beats the dense GEMM, measured on the CPU backend
    /// (BENCHMARKS.md, "Sparse inference"; <c>--sparse-crossover</c>). A 1x1 convolution multiplies each image's
    /// [channels, pixels] in place; a Dense layer first transposes its batch, which only wide layers repay.
    /// </summary>
    /// <param name="transposed">True for a Dense kernel, false for a 1x1 convolution's.</param>
    /// <param name="inputs">Input features or channels.</param>
    /// <param name="outputs">Units or filters.</param>
    /// <param name="columns">A Dense layer's batch rows; a convolution's pixels per image.</param>
    internal static double MinSparsity(bool transposed, int inputs, int outputs, int columns) => (transposed, columns, (long)inputs * outputs, outputs) switch
    {
        (false, _, _, _) => 0.6,                   // 1x1 convolution: wins from 50% at 16x16 and 8x8 pixels
        (true, 1, >= 500_000, _) => 0.85,          // Dense, batch 1, large kernel (5408x128, 1024x1024): the GEMV streams memory
        (true, 1, _, _) => 0.95,                   // Dense, batch 1, small kernel (576x64, 512x512): the GEMV runs from cache
        (true, _, _, >= 512) => 0.7,               // Dense, batch > 1, wide layer: the input transpose is repaid
        (true, _, _, >= 128) => 0.8,
        _ => double.PositiveInfinity,              // Dense, batch > 1, narrow layer (576x64): the dense GEMM wins up to 95%
    };

    /// <summary>
    /// The sparse copy of <paramref name="weight"/> when inference on <paramref name="input"/> should use it: the CPU
    /// backend, float32, no gradient wanted, and at least <see cref="MinSparsity"/> zeros; otherwise null.
    /// </summary>
    /// <param name="weight">A Dense kernel [inputs, units] (<paramref name="transposed"/>) or a 1x1 convolution's [filters, channels, 1, 1].</param>
    /// <param name="transposed">Whether the weight's rows are inputs (Dense) rather than outputs.</param>
    /// <param name="input">The layer's input.</param>
    /// <param name="columns">The width of the dense operand of the product.</param>
    internal static SparseKernel? ForInference(Weight weight, bool transposed, Tensor input, int columns)
    {
        if (Forced == false || input.DType != DType.Float32 || weight.Value.DType != DType.Float32 || weight.Value.Device.RealBackend is not CpuBackend ||
            (GradMode.IsEnabled && (input.RequiresGrad || weight.Value.RequiresGrad)))
        {
            return null;
        }

        var kernel = weight.Sparse ??= new SparseKernel(weight, transposed);
        if (kernel.transposed != transposed)
        {
            return null;
        }

        // The zeros are counted once per write of the weight; the CSR copy is made only where it will be used.
        var buffer = weight.Value.DenseData().Buffer;
        int outputs = transposed ? weight.Shape[1] : weight.Shape[0];
        if (Forced != true && kernel.Sparsity(buffer) < MinSparsity(transposed, weight.Value.Numel / Math.Max(outputs, 1), outputs, columns))
        {
            return null;
        }

        kernel.Refresh(buffer);
        return kernel;
    }

    /// <summary>y [count, rows, p] = this [rows, columns] times each x [columns, p] of x [count, columns, p] (a 1x1 convolution).</summary>
    /// <param name="x">The dense operand, [count, columns, p].</param>
    internal Tensor Multiply(Tensor x)
    {
        int count = x.ShapeRef[0], p = x.ShapeRef[2];
        return Run(x, [count, rows!.Rows, p], (sparse, xs, ys) => sparse.Multiply(xs, ys, count, p));
    }

    /// <summary>y [batch, rows] = x [batch, columns] times this transposed (a Dense layer).</summary>
    /// <param name="x">The inputs, [batch, columns].</param>
    internal Tensor MultiplyTransposed(Tensor x)
    {
        int batch = x.ShapeRef[0];
        return Run(x, [batch, rows!.Rows], (sparse, xs, ys) => sparse.MultiplyTransposed(xs, ys, batch));
    }

    private delegate void ProductBody(SparseRows sparse, float* x, float* y);

    private Tensor Run(Tensor x, int[] shape, ProductBody product)
    {
        var dense = x.DenseData();
        var y = Tensor.Empty(shape, x.Device);
        var kernel = weight.Value.DenseData();

        // Recorded as a dynamic call: a replay refreshes the copy when training has written the weight since.
        StepCapture.Dynamic("SparseMatMul", x.Backend, [dense.Buffer, kernel.Buffer, y.Buffer], 0b100, (_, s) =>
            product(Refresh(s[1]!), ((CpuBuffer)s[0]!).Pointer, ((CpuBuffer)s[2]!).Pointer));
        return y;
    }

    /// <summary>The fraction of zeros in <paramref name="buffer"/> (the weight's values), counted again after each write.</summary>
    private double Sparsity(DeviceBuffer buffer)
    {
        lock (gate)
        {
            if (countedVersion != weight.Version || !ReferenceEquals(buffer, counted))
            {
                var values = ((CpuBuffer)buffer).Span[..weight.Value.Numel];
                long zeros = 0;
                foreach (float v in values)
                {
                    zeros += v == 0 ? 1 : 0;
                }

                sparsity = values.Length == 0 ? 0 : (double)zeros / values.Length;
                (countedVersion, counted) = (weight.Version, buffer);
            }

            return sparsity;
        }
    }

    /// <summary>The CSR copy of the values in <paramref name="buffer"/>, rebuilt when the weight was written since.</summary>
    private SparseRows Refresh(DeviceBuffer buffer)
    {
        lock (gate)
        {
            return RefreshLocked(buffer);
        }
    }

    private SparseRows RefreshLocked(DeviceBuffer buffer)
    {
        if (rows is null || version != weight.Version || !ReferenceEquals(buffer, source))
        {
            var shape = weight.Shape;
            int outputs = transposed ? shape[1] : shape[0];
            int inputs = transposed ? shape[0] : Shapes.Numel(shape) / shape[0];
            rows = SparseRows.FromDense(((CpuBuffer)buffer).Pointer, outputs, inputs, transposed);
            (version, source) = (weight.Version, buffer);
        }

        return rows;
    }
}
