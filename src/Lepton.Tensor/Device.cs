// A device names where a tensor's memory lives and which backend runs its kernels.
// Nothing above IBackend asks which backend it is; ops only call tensor.Device.Backend.
using Lepton.Backends;
using Lepton.Backends.Cpu;

namespace Lepton;

/// <summary>Where a tensor lives and which <see cref="IBackend"/> runs its operations.</summary>
public sealed class Device
{
    private static readonly Lazy<Device> CpuDevice = new(() => new Device("cpu", new CpuBackend()));

    /// <summary>Creates a device over a backend (used by backends that are not built in).</summary>
    /// <example><code>var dev = new Device("mine", new MyBackend());</code></example>
    public Device(string name, IBackend backend)
    {
        Name = name;
        Backend = backend;
    }

    /// <summary>The SIMD, multithreaded CPU backend.</summary>
    /// <example><code>var x = Tensor.Zeros([2, 3], device: Device.Cpu);</code></example>
    public static Device Cpu => CpuDevice.Value;

    /// <summary>The device new tensors go to when none is named.</summary>
    /// <example><code>Console.WriteLine(Device.Default); // cpu</code></example>
    public static Device Default => Cpu;

    /// <summary>The device's name, e.g. <c>cpu</c>.</summary>
    public string Name { get; }

    /// <summary>The kernels that run on this device.</summary>
    public IBackend Backend { get; }

    /// <inheritdoc />
    public override string ToString() => Name;
}
