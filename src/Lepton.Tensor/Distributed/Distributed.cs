// The process group of data-parallel training: one process per rank, started by mpirun (or srun), talking through
// MPI. Collectives on tensors run in place on host memory; tensors on other devices are staged through the host.
using System.Diagnostics;
using Lepton.Backends;
using Lepton.Backends.Cpu;

namespace Lepton;

/// <summary>
/// The processes of a data-parallel job and the collectives between them (barrier, broadcast, all-reduce, all-gather).
/// While one is initialized, <see cref="Nn.Model.Fit(Data.DataLoader, int, Data.DataLoader?, IEnumerable{Nn.Callbacks.Callback}?, int, CancellationToken, int)"/>
/// and <c>Evaluate</c> train and evaluate data-parallel over all its ranks.
/// </summary>
/// <example><code>
/// using var dist = Distributed.Initialize();   // under: mpirun -np 4 dotnet MyTraining.dll
/// model.Fit(train, epochs: 10);                 // each rank trains on its shard; gradients are averaged
/// </code></example>
public sealed unsafe class Distributed : IDisposable
{
    private static readonly Lock Gate = new();
    private static Distributed? current;
    private readonly bool finalizeOnDispose;
    private volatile bool disposed;
    private long deadline;
    private string watched = "";
    private Thread? watchdog;

    private Distributed(bool finalizeOnDispose)
    {
        this.finalizeOnDispose = finalizeOnDispose;
        Rank = MpiLibrary.Rank();
        WorldSize = MpiLibrary.Size();
        (LocalRank, LocalSize) = LocalPlacement(Rank, WorldSize);
    }

    /// <summary>The process group this process belongs to, from <see cref="Initialize"/> until it is disposed; null otherwise.</summary>
    public static Distributed? Current => Volatile.Read(ref current);

    /// <summary>This process's rank, 0 to <see cref="WorldSize"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>How many processes the job has.</summary>
    public int WorldSize { get; }

    /// <summary>This process's rank among those on the same machine.</summary>
    public int LocalRank { get; }

    /// <summary>How many of the job's processes run on this machine.</summary>
    public int LocalSize { get; }

    /// <summary>
    /// The device this rank should train on: with CUDA GPUs, one per rank of this machine (GPU LocalRank modulo their
    /// number), so a job runs one process per GPU; otherwise the CPU.
    /// </summary>
    /// <example><code>model.Device = dist.LocalDevice;</code></example>
    public Device LocalDevice => Device.CudaDeviceCount > 0 ? Device.Cuda(LocalRank % Device.CudaDeviceCount) : Device.Cpu;

    /// <summary>Whether this is rank 0, the one that prints progress and writes checkpoints and logs.</summary>
    public bool IsPrimary => Rank == 0;

    /// <summary>
    /// How long a collective may wait for the other ranks before the whole job is ended with an error (default 10
    /// minutes): a rank that hangs never makes the others hang with it. A rank that dies is noticed by the launcher,
    /// which ends the others at once.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Joins the job this process was launched into (a job of one process when not launched by mpirun) and makes it
    /// <see cref="Current"/>. On the CPU, each rank's kernels get an equal share of this machine's cores unless
    /// <c>LEPTON_NUM_THREADS</c> says otherwise.
    /// </summary>
    /// <exception cref="DllNotFoundException">Open MPI is not installed (the message says what to install).</exception>
    /// <exception cref="InvalidOperationException">A process group is already initialized in this process.</exception>
    /// <example><code>using var dist = Distributed.Initialize(); Console.WriteLine($"rank {dist.Rank} of {dist.WorldSize}");</code></example>
    public static Distributed Initialize()
    {
        lock (Gate)
        {
            if (current is not null)
            {
                throw new InvalidOperationException($"Distributed.Initialize: rank {current.Rank} is already initialized; dispose it first.");
            }

            MpiLibrary.Load();
            if (MpiLibrary.IsFinalized())
            {
                throw new InvalidOperationException("Distributed.Initialize: MPI was finalized in this process and cannot start again; initialize once per process.");
            }

            bool started = MpiLibrary.Initialize();
            var group = new Distributed(started);
            if (Environment.GetEnvironmentVariable("LEPTON_NUM_THREADS") is null)
            {
                CpuBackend.Threads = Math.Max(1, Environment.ProcessorCount / group.LocalSize);
            }

            current = group;
            return group;
        }
    }

    /// <summary>Waits until every rank has called it.</summary>
    /// <example><code>dist.Barrier();</code></example>
    public void Barrier() => Blocking("Barrier", static () => MpiLibrary.Barrier());

    /// <summary>Overwrites <paramref name="tensor"/> on every rank with its values on <paramref name="root"/>.</summary>
    /// <param name="tensor">A contiguous tensor of the same shape and type on every rank.</param>
    /// <param name="root">The rank whose values are sent.</param>
    /// <example><code>dist.Broadcast(weights, root: 0);</code></example>
    public void Broadcast(Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckRank(root, nameof(root));
        using var scope = Tensor.NoGrad();
        Run(tensor, "Broadcast", (data, bytes) => Broadcast((byte*)data, bytes, root),
            (device, buffer, offset) => device.Broadcast(this, buffer, offset, tensor.Numel, tensor.DType, root));
    }

    /// <summary>Replaces <paramref name="tensor"/> on every rank with the elementwise sum over all ranks (logical or for bool).</summary>
    /// <param name="tensor">A contiguous tensor of the same shape and type on every rank.</param>
    /// <example><code>dist.AllReduce(gradient); gradient.Mul_(1f / dist.WorldSize);</code></example>
    public void AllReduce(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = Tensor.NoGrad();
        if (tensor.DType.IsHalf() && !OnDevice(tensor))
        {
            // MPI has no 16-bit float sum: the sum runs in float32.
            using var wide = tensor.CastTo(DType.Float32);
            AllReduce(wide);
            tensor.CopyFrom(wide);
            return;
        }

        Run(tensor, "AllReduce", (data, bytes) =>
        {
            var (type, op) = ReduceType(tensor.DType);
            AllReduce((void*)data, (int)(bytes / tensor.DType.Size()), type, op, "AllReduce");
        }, (device, buffer, offset) => device.AllReduce(this, buffer, offset, tensor.Numel, tensor.DType));
    }

    /// <summary>The tensors of all ranks stacked in rank order: shape [WorldSize, ...the tensor's shape].</summary>
    /// <param name="tensor">A tensor of the same shape and type on every rank.</param>
    /// <example><code>var all = dist.AllGather(localCounts); // [worldSize, classes]</code></example>
    public Tensor AllGather(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ThrowIfDisposed();
        using var scope = Tensor.NoGrad();
        using var local = tensor.Contiguous();
        var bytes = new byte[local.Numel * (long)local.DType.Size()];
        local.Backend.DownloadBytes(local.Buffer, local.Offset * (long)local.DType.Size(), bytes);
        var all = AllGather(bytes);
        var result = Tensor.Empty([WorldSize, .. tensor.ShapeRef], tensor.Device, tensor.DType);
        result.Backend.UploadBytes(all, result.Buffer, 0);
        return result;
    }

    /// <summary>Sums host values over all ranks, in place.</summary>
    /// <param name="values">The same number of values on every rank.</param>
    /// <example><code>double[] totals = [loss, count]; dist.AllReduce(totals);</code></example>
    public void AllReduce(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        fixed (double* p = values)
        {
            AllReduce(p, values.Length, MpiLibrary.Double, MpiLibrary.Sum, "AllReduce");
        }
    }

    /// <summary>Ends every process of the job after writing <paramref name="message"/> (with this rank) to standard error.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="exitCode">The job's exit status.</param>
    public void Abort(string message, int exitCode = 1)
    {
        Console.Error.WriteLine($"[rank {Rank}/{WorldSize}] {message}");
        Console.Error.Flush();
        MpiLibrary.Abort(exitCode);
        Environment.Exit(exitCode);
    }

    /// <summary>Leaves the job: MPI is finalized (after a barrier) if <see cref="Initialize"/> started it.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        if (finalizeOnDispose && !MpiLibrary.IsFinalized())
        {
            Barrier();
            MpiLibrary.Shutdown();
        }

        lock (Gate)
        {
            disposed = true;
            if (ReferenceEquals(current, this))
            {
                current = null;
            }
        }
    }

    /// <summary>The sum of <paramref name="x"/> over all ranks as a new tensor, recorded for autograd (the gradient of each
    /// rank's input is the sum of the ranks' output gradients): synchronized batch statistics are built from it.</summary>
    internal Tensor SumOverRanks(Tensor x)
    {
        var result = x.CopyDense();
        AllReduce(result);
        return Tensor.Record(result, "AllReduceBackward", [x], g => [SumOverRanks(g)]);
    }

    /// <summary>Every rank's bytes, concatenated in rank order (each rank gives the same number).</summary>
    internal byte[] AllGather(byte[] local)
    {
        var all = new byte[local.Length * (long)WorldSize];
        fixed (byte* send = local)
        fixed (byte* receive = all)
        {
            var (sent, received) = ((nint)send, (nint)receive);
            Blocking("AllGather", () => MpiLibrary.Allgather((void*)sent, local.Length, MpiLibrary.Byte, (void*)received));
        }

        return all;
    }

    /// <summary>Sends <paramref name="bytes"/> bytes at <paramref name="data"/> from <paramref name="root"/> to every rank.</summary>
    internal void Broadcast(byte* data, long bytes, int root)
    {
        for (long done = 0; done < bytes; done += int.MaxValue)
        {
            var (start, count) = ((nint)(data + done), (int)Math.Min(int.MaxValue, bytes - done));
            Blocking("Broadcast", () => MpiLibrary.Bcast((void*)start, count, MpiLibrary.Byte, root));
        }
    }

    /// <summary>Starts an in-place sum of <paramref name="count"/> float32 values; finish it with <see cref="Wait"/>.</summary>
    internal nint StartAllReduce(float* data, int count)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            return MpiLibrary.Iallreduce(data, count, MpiLibrary.Float, MpiLibrary.Sum);
        }
    }

    /// <summary>Whether the request has completed (it then becomes 0); moves MPI's progress along either way.</summary>
    internal bool Poll(ref nint request)
    {
        if (request == 0)
        {
            return true;
        }

        lock (Gate)
        {
            return MpiLibrary.Test(ref request);
        }
    }

    /// <summary>Waits for a request under the watchdog (see <see cref="Blocking"/>).</summary>
    internal void Wait(ref nint request, string what)
    {
        using var watch = Watch(what);
        var clock = Stopwatch.StartNew();
        for (int spins = 0; !Poll(ref request); spins++)
        {
            // MPI moves a nonblocking collective along only inside calls such as MPI_Test, so the wait keeps polling;
            // only a wait of over a second (a slow or stuck rank) sleeps between polls.
            if (spins < 64)
            {
                Thread.SpinWait(8);
            }
            else if (clock.ElapsedMilliseconds < 1000)
            {
                // A short sleep, not a spin: a spinning rank slows the rank it waits for when they share a core's
                // execution units (virtual CPUs are often hyperthreads of one core).
                _ = MicroSleep(20);
            }
            else
            {
                Thread.Sleep(1);
            }
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "usleep")]
    private static extern int MicroSleep(uint microseconds);

    private void AllReduce(void* data, int count, nint type, nint op, string what)
    {
        nint start = (nint)data;
        Blocking(what, () => MpiLibrary.Allreduce((void*)start, count, type, op));
    }

    /// <summary>
    /// Runs a blocking collective under the watchdog: if it has not returned within <see cref="Timeout"/> (a rank is
    /// stuck), the watchdog writes an error naming this rank and the call and exits the process, and the launcher then
    /// ends the others.
    /// </summary>
    private void Blocking(string what, Action call)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            using var watch = Watch(what);
            call();
        }
    }

    /// <summary>Puts the watchdog on <paramref name="what"/> until the returned scope is disposed.</summary>
    private WatchScope Watch(string what)
    {
        lock (Gate)
        {
            watched = what;
            Volatile.Write(ref deadline, Stopwatch.GetTimestamp() + (long)(Timeout.TotalSeconds * Stopwatch.Frequency));
            watchdog ??= StartWatchdog();
            return new WatchScope(this);
        }
    }

    private Thread StartWatchdog()
    {
        var thread = new Thread(() =>
        {
            while (!disposed)
            {
                Thread.Sleep(200);
                long due = Volatile.Read(ref deadline);
                if (due != 0 && Stopwatch.GetTimestamp() > due)
                {
                    Console.Error.WriteLine($"[rank {Rank}/{WorldSize}] Distributed.{watched}: the other ranks did not answer within {Timeout.TotalSeconds:0} s (Distributed.Timeout); a rank is stuck or has failed. Ending the job.");
                    Console.Error.Flush();
                    Environment.Exit(1);
                }
            }
        })
        {
            IsBackground = true,
            Name = "Lepton MPI watchdog",
        };
        thread.Start();
        return thread;
    }

    /// <summary>Takes the watchdog off the call when disposed.</summary>
    private readonly struct WatchScope(Distributed group) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref group.deadline, 0);
    }

    /// <summary>Whether the tensor's collectives run on its device (NCCL), not through host memory.</summary>
    private bool OnDevice(Tensor tensor) => tensor.Device.RealBackend is IDeviceCollectives device && device.Available(this);

    /// <summary>Runs a collective on the tensor: on its device where the backend can (<paramref name="onDevice"/>), else on
    /// its bytes in host memory (<paramref name="collective"/>).</summary>
    private void Run(Tensor tensor, string what, Action<nint, long> collective, Action<IDeviceCollectives, DeviceBuffer, long> onDevice)
    {
        ThrowIfDisposed();
        if (!tensor.IsContiguous)
        {
            throw new ArgumentException($"Distributed.{what}: the tensor (shape [{string.Join(", ", tensor.ShapeRef)}]) must be contiguous; call Contiguous() first.", nameof(tensor));
        }

        if (!OnDevice(tensor))
        {
            OnHost(tensor, what, collective);
            return;
        }

        long offset = tensor.Offset * (long)tensor.DType.Size();
        Capture.StepCapture.Dynamic(what, tensor.Backend, [tensor.Buffer], 1, (backend, buffers) =>
            onDevice((IDeviceCollectives)backend, buffers[0]!, offset));
    }

    /// <summary>Runs <paramref name="collective"/> on the tensor's bytes in host memory: in place on the CPU, staged through a
    /// host copy elsewhere (and copied back).</summary>
    private void OnHost(Tensor tensor, string what, Action<nint, long> collective)
    {
        long size = tensor.DType.Size(), bytes = tensor.Numel * size, offset = tensor.Offset * size;
        Capture.StepCapture.Dynamic(what, tensor.Backend, [tensor.Buffer], 1, (backend, buffers) =>
        {
            if (buffers[0] is CpuBuffer cpu)
            {
                collective((nint)(cpu.Base + offset), bytes);
                return;
            }

            var staging = new byte[bytes];
            backend.DownloadBytes(buffers[0]!, offset, staging);
            fixed (byte* host = staging)
            {
                collective((nint)host, bytes);
            }

            backend.UploadBytes(staging, buffers[0]!, offset);
        });
    }

    private static (nint Type, nint Op) ReduceType(DType dtype) => dtype switch
    {
        DType.Float32 => (MpiLibrary.Float, MpiLibrary.Sum),
        DType.Float64 => (MpiLibrary.Double, MpiLibrary.Sum),
        DType.Int32 => (MpiLibrary.Int32, MpiLibrary.Sum),
        DType.Int64 => (MpiLibrary.Int64, MpiLibrary.Sum),
        DType.Int8 => (MpiLibrary.Int8, MpiLibrary.Sum),
        DType.UInt8 => (MpiLibrary.UInt8, MpiLibrary.Sum),
        DType.Bool => (MpiLibrary.Bool, MpiLibrary.LogicalOr),
        _ => throw new ArgumentException($"Distributed.AllReduce: no sum for {dtype.Name()} tensors."),
    };

    /// <summary>This rank's place among the ranks on its machine, from the launcher's environment (Open MPI, then Slurm).</summary>
    private static (int Rank, int Size) LocalPlacement(int rank, int size)
    {
        static int? Read(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), out int v) ? v : null;
        return (Read("OMPI_COMM_WORLD_LOCAL_RANK") ?? Read("SLURM_LOCALID") ?? rank,
                Read("OMPI_COMM_WORLD_LOCAL_SIZE") ?? Read("SLURM_NTASKS_PER_NODE") ?? size);
    }

    private void CheckRank(int rank, string argument)
    {
        if (rank < 0 || rank >= WorldSize)
        {
            throw new ArgumentOutOfRangeException(argument, rank, $"Distributed: rank {rank} is outside 0..{WorldSize - 1}.");
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);
}
