// A device names where a tensor's memory lives and which backend runs its kernels.
// Nothing above IBackend asks which backend it is; ops only call tensor.Device.Backend.
using Lepton.Backends;
using Lepton.Backends.Cpu;
using Lepton.Backends.Ilgpu;

namespace Lepton;

/// <summary>Where a tensor lives and which <see cref="IBackend"/> runs its operations.</summary>
public sealed class Device
{
    /// <summary>The environment variable that picks <see cref="Default"/>: cpu, cuda, cuda:N or ilgpu-cpu.</summary>
    public const string EnvironmentVariable = "LEPTON_DEVICE";

    private static readonly Lazy<Device> CpuDevice = new(() => new Device("cpu", new CpuBackend()));
    private static readonly Lazy<Device> IlgpuCpuDevice = new(() => new Device("ilgpu-cpu", IlgpuDevices.CreateCpu("ilgpu-cpu")));
    private static readonly Lazy<Device> DefaultDevice = new(ChooseDefault);
    private static readonly Dictionary<int, Device> CudaDevices = [];

    /// <summary>Creates a device over a backend (used by backends that are not built in).</summary>
    /// <example><code>var dev = new Device("mine", new MyBackend());</code></example>
    public Device(string name, IBackend backend)
    {
        Name = name;
        RealBackend = backend;
    }

    /// <summary>The SIMD, multithreaded CPU backend.</summary>
    /// <example><code>var x = Tensor.Zeros([2, 3], device: Device.Cpu);</code></example>
    public static Device Cpu => CpuDevice.Value;

    /// <summary>The GPU kernels run by ILGPU's CPU accelerator: slow, for checking the GPU code path without a GPU.</summary>
    /// <example><code>var x = Tensor.Ones([4], device: Device.IlgpuCpu);</code></example>
    public static Device IlgpuCpu => IlgpuCpuDevice.Value;

    /// <summary>
    /// The device new tensors go to when none is named: <c>LEPTON_DEVICE</c> when set, else the first CUDA GPU
    /// when one is present, else <see cref="Cpu"/>.
    /// </summary>
    /// <example><code>Console.WriteLine(Device.Default); // cuda:0 on a GPU machine, cpu elsewhere</code></example>
    public static Device Default => DefaultDevice.Value;

    /// <summary>Number of CUDA GPUs ILGPU can use on this machine (0 without a GPU or driver).</summary>
    /// <example><code>if (Device.CudaDeviceCount > 0) { var gpu = Device.Cuda(0); }</code></example>
    public static int CudaDeviceCount => IlgpuDevices.CudaCount;

    /// <summary>The device's name, e.g. <c>cpu</c>.</summary>
    public string Name { get; }

    /// <summary>The kernels that run on this device (while a model's step is being captured on this thread, a backend
    /// that also records each call).</summary>
    public IBackend Backend => Capture.StepCapture.BackendFor(this, RealBackend);

    /// <summary>The device's backend itself, never a recorder.</summary>
    internal IBackend RealBackend { get; }

    /// <summary>CUDA GPU number <paramref name="ordinal"/>, created on first use and shared afterwards.</summary>
    /// <exception cref="InvalidOperationException">No such GPU (the message says how many there are).</exception>
    /// <example><code>var x = Tensor.RandN([1024, 1024], device: Device.Cuda(0));</code></example>
    public static Device Cuda(int ordinal = 0)
    {
        lock (CudaDevices)
        {
            if (!CudaDevices.TryGetValue(ordinal, out var device))
            {
                string name = $"cuda:{ordinal}";
                device = new Device(name, IlgpuDevices.CreateCuda(name, ordinal));
                CudaDevices[ordinal] = device;
            }

            return device;
        }
    }

    /// <summary>The device a name such as <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c> or <c>ilgpu-cpu</c> stands for.</summary>
    /// <example><code>var d = Device.Parse("cuda:0");</code></example>
    public static Device Parse(string name)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "cpu")
        {
            return Cpu;
        }

        if (n is "ilgpu-cpu" or "ilgpu")
        {
            return IlgpuCpu;
        }

        if (n == "cuda" || n == "gpu")
        {
            return Cuda(0);
        }

        if (n.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(n[5..], out int ordinal) && ordinal >= 0)
        {
            return Cuda(ordinal);
        }

        throw new ArgumentException($"Unknown device '{name}': expected cpu, cuda, cuda:N or ilgpu-cpu.", nameof(name));
    }

    /// <summary>Waits until every kernel queued on this device has finished (a no-op on the CPU).</summary>
    /// <example><code>Device.Default.Synchronize();</code></example>
    public void Synchronize()
    {
        if (Backend is IlgpuBackend ilgpu)
        {
            ilgpu.Synchronize();
        }
    }

    /// <summary>
    /// Gives the memory this device holds for reuse back to the system, like PyTorch's <c>torch.cuda.empty_cache()</c>:
    /// buffers of tensors nobody references any more are collected, the pool's cached buffers are freed, and the
    /// garbage collector decommits what it no longer needs. Live tensors are untouched. Later allocations are slower
    /// until the pool has warmed up again, so call it between phases of work, not inside a training loop.
    /// </summary>
    /// <example><code>model.Fit(x, y, epochs: 5); Device.Cpu.EmptyCache();</code></example>
    public void EmptyCache()
    {
        Backend.Pool.ReclaimUnreachable();
        Backend.Pool.Trim();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The default device for a value of <c>LEPTON_DEVICE</c> (null or blank: CUDA when present, else the CPU).</summary>
    internal static Device Choose(string? requested)
    {
        if (!string.IsNullOrWhiteSpace(requested))
        {
            try
            {
                return Parse(requested);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException($"{EnvironmentVariable}={requested}: {e.Message}", e);
            }
        }

        return CudaDeviceCount > 0 ? Cuda(0) : Cpu;
    }

    private static Device ChooseDefault() => Choose(Environment.GetEnvironmentVariable(EnvironmentVariable));
}
