// The switches of a model's captured steps and what the last capture made, for benchmarks and tests.
namespace Lepton.Capture;

/// <summary>Which passes run over a model's captured steps.</summary>
/// <example><code>model.Capture.MemoryPlanning = false; // measure the step's memory without planning</code></example>
public sealed class CaptureSettings
{
    /// <summary>Whether backend calls that a backend's <see cref="Backends.IFusedKernels"/> runs as one are fused
    /// (convolution + bias + ReLU + max pooling and its backward). On by default.</summary>
    public bool Fusion { get; set; } = true;

    /// <summary>Whether the step's intermediate buffers whose lifetimes do not overlap share memory. On by default.</summary>
    public bool MemoryPlanning { get; set; } = true;
}

/// <summary>What one captured step holds.</summary>
/// <param name="Calls">Backend calls (and dynamic actions) replayed per step.</param>
/// <param name="FusedGroups">Groups of calls the fusion pass replaced.</param>
/// <param name="IntermediateBytes">Bytes of the step's intermediate buffers before memory planning.</param>
/// <param name="PlannedBytes">Bytes the captured step holds for them after planning.</param>
public readonly record struct CaptureStatistics(int Calls, int FusedGroups, long IntermediateBytes, long PlannedBytes);
