// The GPU backend: every primitive runs as one of our ILGPU kernels (kernels/Lepton.Kernels) on an
// accelerator, CUDA or ILGPU's CPU accelerator. Kernels are compiled on first use, once per accelerator,
// and launched on the accelerator's default stream; only reading values back waits for them.
using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Lepton.Kernels;

namespace Lepton.Backends.Ilgpu;

/// <summary>Runs every primitive as an ILGPU kernel on one accelerator.</summary>
public sealed partial class IlgpuBackend : IBackend, IDisposable
{
    private readonly Accelerator accelerator;
    private readonly ConcurrentDictionary<string, Delegate> kernels = new();
    private readonly ConcurrentDictionary<string, double> compileMilliseconds = new();
    private readonly MemoryBuffer1D<int, Stride1D.Dense> errors;
    private readonly IlgpuBuffer unit;
    private readonly object launchGate = new();

    // Every allocation stays reachable from here until the pool frees it: ILGPU buffers finalize themselves,
    // and a tensor collected without Dispose hands its buffer back to the pool from a finalizer, which must
    // not find the memory already released by the buffer's own finalizer.
    private readonly HashSet<IlgpuBuffer> allocations = [];
    private volatile bool indexKernelsPending;
    private long allocatedBytes;
    private long readBacks;
    private bool disposed;

    internal IlgpuBackend(string name, Accelerator accelerator)
    {
        Name = name;
        this.accelerator = accelerator;
        Pool = new BufferPool(AllocateNew, Free);
        errors = accelerator.Allocate1D<int>(IndexErrors.Length);
        errors.MemSetToZero();
        unit = AllocateNew(8);
        unit.Memory.MemSetToZero();

        int warp = Math.Max(1, accelerator.WarpSize);
        GroupSize = Math.Max(warp, Math.Min(256, accelerator.MaxNumThreadsPerGroup) / warp * warp);
        GemmSide = (int)Math.Sqrt(GroupSize);
        int perMultiprocessor = Math.Max(1, accelerator.MaxNumThreadsPerMultiprocessor / GroupSize);
        MaxGroups = Math.Max(1, accelerator.NumMultiprocessors * perMultiprocessor * (IsCpu ? 1 : 4));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public BufferPool Pool { get; }

    /// <inheritdoc />
    public bool ValidatesIndices => true;

    /// <summary>The accelerator's description (device name, warp size, group size, memory).</summary>
    public string AcceleratorInfo => $"{accelerator.Name} [{accelerator.AcceleratorType}, warp {accelerator.WarpSize}, " +
        $"group {GroupSize} of max {accelerator.MaxNumThreadsPerGroup}, {accelerator.NumMultiprocessors} multiprocessors, " +
        $"{accelerator.MemorySize / (1L << 20)} MiB]";

    /// <summary>The device's FP32 peak in GFLOP/s (CUDA cores x 2 x clock; ILGPU has no tensor-core path); null off CUDA.</summary>
    public double? PeakGflops => accelerator is CudaAccelerator cuda
        ? cuda.NumMultiprocessors * Fp32CoresPerMultiprocessor(cuda.Architecture) * 2.0 * cuda.ClockRate / 1e6
        : null;

    /// <summary>The device's memory bandwidth peak in GB/s (double data rate x bus width); null off CUDA.</summary>
    public double? PeakGBps => accelerator is CudaAccelerator cuda
        ? 2.0 * cuda.MemoryClockRate * 1e3 * (cuda.MemoryBusWidth / 8) / 1e9
        : null;

    /// <summary>How many times values were read back to the host (each read waits for the queued work).</summary>
    public long ReadBacks => Interlocked.Read(ref readBacks);

    /// <summary>Bytes of device memory this backend holds (buffers in use and cached in its pool).</summary>
    public long AllocatedBytes => Interlocked.Read(ref allocatedBytes);

    /// <summary>The most device memory this backend may hold, in bytes; null leaves only the device's own limit.</summary>
    /// <example><code>((IlgpuBackend)Device.Cuda(0).Backend).MemoryLimit = 8L &lt;&lt; 30;</code></example>
    public long? MemoryLimit { get; set; }

    /// <summary>Milliseconds each kernel took to compile on first use, by kernel name.</summary>
    public IReadOnlyDictionary<string, double> CompileMilliseconds => compileMilliseconds;

    /// <summary>Threads per group of every launch.</summary>
    internal int GroupSize { get; }

    /// <summary>Threads along each side of the GEMM kernel's square group.</summary>
    internal int GemmSide { get; }

    /// <summary>The most groups a grid-stride launch uses.</summary>
    internal int MaxGroups { get; }

    internal bool IsCpu => accelerator.AcceleratorType == AcceleratorType.CPU;

    internal Accelerator Accelerator => accelerator;

    /// <inheritdoc />
    public DeviceBuffer Allocate(int length) => Pool.Rent(length);

    /// <inheritdoc />
    public DeviceBuffer AllocateBytes(long bytes) => Pool.RentBytes(bytes);

    /// <summary>Waits for all queued work.</summary>
    public void Synchronize()
    {
        BindToThisThread();
        accelerator.Synchronize();
        ThrowPendingIndexError();
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> src, DeviceBuffer dst, int dstOffset)
    {
        if (src.Length > 0)
        {
            BindToThisThread();
            Gpu(dst).View.SubView(dstOffset, src.Length).CopyFromCPU(src);
        }
    }

    /// <inheritdoc />
    public void Download(DeviceBuffer src, int srcOffset, Span<float> dst)
    {
        Interlocked.Increment(ref readBacks);
        BindToThisThread();
        if (dst.Length > 0)
        {
            Gpu(src).View.SubView(srcOffset, dst.Length).CopyToCPU(dst);
        }

        accelerator.Synchronize();
        ThrowPendingIndexError();
    }

    /// <inheritdoc />
    public void Fill(DeviceBuffer dst, int offset, int length, float value)
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel("Fill", static a => a.LoadStreamKernel<ArrayView<float>, int, float>(ElementwiseKernels.Fill));
        k(Elements(length), Gpu(dst).View.SubView(offset, length), length, value);
    }

    /// <inheritdoc />
    public void Copy(in StridedView src, in StridedView dst)
    {
        var layout = Layouts.Coalesce(src.Shape, src.Strides, dst.Strides);
        int n = layout.InnerCount();
        if (n == 0 || Shapes.Numel(src.Shape) == 0)
        {
            return;
        }

        var k = Kernel("Copy", static a => a.LoadStreamKernel<ArrayView<float>, Strides6, ArrayView<float>, Strides6, Shape6, int>(ElementwiseKernels.Copy));
        var s = Gpu(src.Buffer).View;
        var d = Gpu(dst.Buffer).View;
        int so = src.Offset, dOffset = dst.Offset;
        var shape = layout.InnerShape();
        var ss = layout.InnerStrides(0);
        var ds = layout.InnerStrides(1);
        var config = Elements(n);
        layout.ForEachOuter(o => k(config, s.SubView(so + o[0]), ss, d.SubView(dOffset + o[1]), ds, shape, n));
    }

    /// <inheritdoc />
    public void Unary<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, int length) where TOp : struct, IUnaryOp
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel(Names<TOp>.Unary, static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, TOp>(ElementwiseKernels.Unary));
        k(Elements(length), Gpu(x).View, Gpu(y).View, length, op);
    }

    /// <inheritdoc />
    public void UnaryBackward<TOp>(TOp op, DeviceBuffer x, DeviceBuffer y, DeviceBuffer dy, DeviceBuffer dx, int length)
        where TOp : struct, IUnaryOp
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel(Names<TOp>.UnaryBackward, static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, TOp>(ElementwiseKernels.UnaryBackward));
        k(Elements(length), Gpu(x).View, Gpu(y).View, Gpu(dy).View, Gpu(dx).View, length, op);
    }

    /// <inheritdoc />
    public void BiasActivation<TOp>(TOp op, DeviceBuffer x, DeviceBuffer? bias, int outer, int channels, int inner, DeviceBuffer y)
        where TOp : struct, IUnaryOp
    {
        long total = (long)outer * channels * inner;
        if (total == 0)
        {
            return;
        }

        var k = Kernel(Names<TOp>.BiasActivation, static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, long, int, TOp>(BiasKernels.Forward));
        k(Elements(total), Gpu(x).View, Optional(bias), Gpu(y).View, channels, inner, total, bias is null ? 0 : 1, op);
    }

    /// <inheritdoc />
    public void BiasActivationBackward<TOp>(
        TOp op, DeviceBuffer x, DeviceBuffer? bias, DeviceBuffer y, DeviceBuffer dy, int outer, int channels, int inner, DeviceBuffer dx, DeviceBuffer? dbias)
        where TOp : struct, IUnaryOp
    {
        long total = (long)outer * channels * inner;
        if (total == 0)
        {
            if (dbias is not null)
            {
                Fill(dbias, 0, channels, 0f);
            }

            return;
        }

        var k = Kernel(Names<TOp>.BiasActivationBackward, static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, long, int, TOp>(BiasKernels.Backward));
        k(Elements(total), Gpu(x).View, Optional(bias), Gpu(y).View, Gpu(dy).View, Gpu(dx).View, channels, inner, total, bias is null ? 0 : 1, op);
        if (dbias is not null)
        {
            var sum = Kernel("ChannelSum", static a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(BiasKernels.ChannelSum));
            sum(Rows(channels), Gpu(dx).View, Gpu(dbias).View, outer, channels, inner);
        }
    }

    /// <inheritdoc />
    public void Binary<TOp>(TOp op, in StridedView a, in StridedView b, DeviceBuffer y, int[] shape) where TOp : struct, IBinaryOp
    {
        var layout = Layouts.Coalesce(shape, a.Strides, b.Strides, Shapes.ContiguousStrides(shape));
        int n = layout.InnerCount();
        if (n == 0 || Shapes.Numel(shape) == 0)
        {
            return;
        }

        var k = Kernel(Names<TOp>.Binary, static a => a.LoadStreamKernel<ArrayView<float>, Strides6, ArrayView<float>, Strides6, ArrayView<float>, Shape6, int, TOp>(ElementwiseKernels.Binary));
        var av = Gpu(a.Buffer).View;
        var bv = Gpu(b.Buffer).View;
        var yv = Gpu(y).View;
        int ao = a.Offset, bo = b.Offset;
        var s6 = layout.InnerShape();
        var sa = layout.InnerStrides(0);
        var sb = layout.InnerStrides(1);
        var config = Elements(n);
        layout.ForEachOuter(o => k(config, av.SubView(ao + o[0]), sa, bv.SubView(bo + o[1]), sb, yv.SubView(o[2]), s6, n, op));
    }

    /// <inheritdoc />
    public void RandomUniform(DeviceBuffer dst, int length, ulong seed, ulong start, float low, float high)
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel("RandomUniform", static a => a.LoadStreamKernel<ArrayView<float>, int, ulong, ulong, float, float>(ElementwiseKernels.RandomUniform));
        k(Elements(length), Gpu(dst).View, length, seed, start, low, high);
    }

    /// <inheritdoc />
    public void RandomNormal(DeviceBuffer dst, int length, ulong seed, ulong start, float mean, float std)
    {
        if (length == 0)
        {
            return;
        }

        var k = Kernel("RandomNormal", static a => a.LoadStreamKernel<ArrayView<float>, int, ulong, ulong, float, float>(ElementwiseKernels.RandomNormal));
        k(Elements(length), Gpu(dst).View, length, seed, start, mean, std);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        accelerator.Synchronize();
        Pool.Trim();
        unit.Memory.Dispose();
        errors.Dispose();
        accelerator.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {AcceleratorInfo}";

    /// <summary>FP32 lanes per multiprocessor by compute capability (NVIDIA's published figures).</summary>
    private static int Fp32CoresPerMultiprocessor(CudaArchitecture architecture) => architecture.Major switch
    {
        >= 9 => 128,
        8 => architecture.Minor == 0 ? 64 : 128,
        7 => 64,
        6 => architecture.Minor == 0 ? 64 : 128,
        5 => 128,
        _ => 192,
    };

    internal static IlgpuBuffer Gpu(DeviceBuffer buffer) =>
        buffer as IlgpuBuffer ?? throw new ArgumentException($"The ILGPU backend was given a buffer of another device ({buffer.GetType().Name}).");

    /// <summary>An optional buffer's view, or a one-element stand-in the kernel is told not to read.</summary>
    private ArrayView<float> Optional(DeviceBuffer? buffer) => buffer is null ? unit.View : Gpu(buffer).View;

    /// <summary>A grid-stride launch over n independent elements.</summary>
    internal KernelConfig Elements(long n) =>
        new((int)Math.Clamp((n + GroupSize - 1) / GroupSize, 1, MaxGroups), GroupSize);

    /// <summary>A launch with one group per row (grid-stride over rows) and two floats of shared memory per warp.</summary>
    internal KernelConfig Rows(int rows) =>
        new(Math.Clamp(rows, 1, MaxGroups), GroupSize, SharedMemoryConfig.RequestDynamic<float>(2 * Math.Max(1, GroupSize / accelerator.WarpSize)));

    private void Free(DeviceBuffer buffer)
    {
        var gpu = Gpu(buffer);
        BindToThisThread();
        lock (allocations)
        {
            allocations.Remove(gpu);
        }

        Interlocked.Add(ref allocatedBytes, -DeviceBuffer.Rounded(gpu.ByteLength));

        gpu.Memory.Dispose();
    }

    private IlgpuBuffer AllocateNew(long byteLength)
    {
        var buffer = AllocateOrReport(byteLength);
        Interlocked.Add(ref allocatedBytes, DeviceBuffer.Rounded(byteLength));
        lock (allocations)
        {
            allocations.Add(buffer);
        }

        return buffer;
    }

    private IlgpuBuffer AllocateOrReport(long byteLength)
    {
        long bytes = DeviceBuffer.Rounded(byteLength);
        BindToThisThread();
        if (MemoryLimit is long limit && AllocatedBytes + bytes > limit)
        {
            FreeUnused();
            if (AllocatedBytes + bytes > limit)
            {
                throw OutOfMemory(bytes, null);
            }
        }

        try
        {
            return new IlgpuBuffer(accelerator.Allocate1D<long>(bytes / sizeof(long)), byteLength);
        }
        catch (Exception first) when (first is not ArgumentException)
        {
            // Give unreachable tensors' and cached buffers back to the device and try once more before reporting.
            FreeUnused();
            try
            {
                return new IlgpuBuffer(accelerator.Allocate1D<long>(bytes / sizeof(long)), byteLength);
            }
            catch (Exception e) when (e is not ArgumentException)
            {
                throw OutOfMemory(bytes, e);
            }
        }
    }

    /// <summary>Collects tensors nobody references (their buffers return to the pool), then frees the pool's cache.</summary>
    private void FreeUnused()
    {
        Pool.ReclaimUnreachable();
        Pool.Trim();
    }

    private OutOfMemoryException OutOfMemory(long bytes, Exception? inner)
    {
        const double MiB = 1 << 20;
        string free = accelerator is CudaAccelerator cuda ? $"{cuda.GetFreeMemory() / MiB:F1} MiB free of " : string.Empty;
        string limit = MemoryLimit is long l ? $", limit {l / MiB:F1} MiB" : string.Empty;
        return new OutOfMemoryException(
            $"{Name} ({accelerator.Name}): could not allocate {bytes / MiB:F1} MiB ({bytes} bytes); {free}{accelerator.MemorySize / MiB:F0} MiB device memory{limit}, " +
            $"{AllocatedBytes / MiB:F1} MiB allocated by this library of which {Pool.LiveBytes / MiB:F1} MiB is held by live tensors. " +
            "Dispose tensors you no longer need or use a smaller batch.", inner);
    }

    private void ThrowPendingIndexError()
    {
        if (!indexKernelsPending)
        {
            return;
        }

        indexKernelsPending = false;
        Span<int> e = stackalloc int[IndexErrors.Length];
        errors.View.AsContiguous().CopyToCPU(e);
        if (e[0] == 0)
        {
            return;
        }

        errors.MemSetToZero();
        accelerator.Synchronize();
        string op = e[1] switch
        {
            IndexErrors.Gather => "Gather",
            IndexErrors.ScatterAdd => "GatherBackward",
            IndexErrors.IndexSelect => "IndexSelect",
            IndexErrors.IndexAdd => "IndexSelectBackward",
            _ => "CrossEntropy",
        };
        throw IndexValues.Error(op, e[4], e[2], e[3], labels: false, $"found on {Name} when its queued work was read back", negativeFromEnd: e[5] != 0);
    }

    private ArrayView<int> ErrorView()
    {
        indexKernelsPending = true;
        return errors.View.AsContiguous();
    }

}
