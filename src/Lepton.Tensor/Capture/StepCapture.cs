// Capturing one step: while a capture is open on a thread, the capture's device hands out a
// recording backend and its pool reports to the capture's arena. Ops whose arguments change from
// step to step (random counters, the learning rate, host bookkeeping) record a dynamic call that
// reads them again at every replay. A host read-back of a device value breaks the capture: the step
// still runs eagerly to its end, and the model trains eagerly.
using System.Diagnostics;
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>The capture of one step's backend calls on one device.</summary>
internal sealed class StepCapture : IDisposable
{
    [ThreadStatic]
    private static StepCapture? current;

    private readonly List<CapturedCall> calls = [];
    private readonly CaptureArena arena;
    private int suppressed;
    private bool ended;

    private StepCapture(Device device)
    {
        Device = device;
        Inner = device.RealBackend;
        Recorder = new StepRecorder(Inner, this);
        arena = new CaptureArena(Inner.Pool);
    }

    /// <summary>Whether a step is being captured on this thread.</summary>
    public static bool Active => current is not null;

    /// <summary>Whether backend calls on this thread are being recorded now (outside dynamic sections).</summary>
    public static bool Recording => current is { suppressed: 0, BreakReason: null };

    public Device Device { get; }

    public IBackend Inner { get; }

    public StepRecorder Recorder { get; }

    /// <summary>Why the step cannot be replayed, once something it did showed that.</summary>
    public string? BreakReason { get; private set; }

    /// <summary>Starts recording the calls this thread makes on <paramref name="device"/>.</summary>
    public static StepCapture Begin(Device device)
    {
        if (current is not null)
        {
            throw new InvalidOperationException("A step is already being captured on this thread.");
        }

        var capture = new StepCapture(device);
        current = capture;
        BufferPool.Arena = capture.arena;
        return capture;
    }

    /// <summary>The backend <paramref name="device"/> hands out on this thread: the recorder while its step is captured.</summary>
    internal static IBackend BackendFor(Device device, IBackend backend) =>
        current is { } c && c.suppressed == 0 && ReferenceEquals(c.Device, device) ? c.Recorder : backend;

    /// <summary>
    /// Runs <paramref name="run"/> now on the real backend and, while a step is captured, records it to run again, with
    /// the buffers the record then holds, at every replay: for calls whose arguments are read when they run (a random
    /// counter, the learning rate) and host bookkeeping. Calls made inside <paramref name="run"/> are not recorded.
    /// </summary>
    /// <param name="name">Names the call in diagnostics.</param>
    /// <param name="backend">The backend of the tensors involved (a recorder is unwrapped).</param>
    /// <param name="buffers">The buffers <paramref name="run"/> touches, by slot.</param>
    /// <param name="writes">Bit i set when slot i is written.</param>
    /// <param name="run">The work, from the backend and the buffers it is given.</param>
    public static void Dynamic(string name, IBackend backend, DeviceBuffer?[] buffers, int writes, Action<IBackend, DeviceBuffer?[]> run)
    {
        var real = backend is StepRecorder recorder ? recorder.Inner : backend;
        var c = current;
        if (c is null || c.suppressed > 0 || c.BreakReason is not null || !ReferenceEquals(real, c.Inner))
        {
            run(real, buffers);
            return;
        }

        c.suppressed++;
        try
        {
            run(real, buffers);
        }
        finally
        {
            c.suppressed--;
        }

        c.calls.Add(new CapturedCall(name, CallKind.Dynamic, buffers, writes, run));
    }

    /// <summary>Records <paramref name="run"/> to run at every replay without running it now (the caller does the
    /// present step's work itself, e.g. on tensors a replay no longer has).</summary>
    /// <param name="name">Names the call in diagnostics.</param>
    /// <param name="buffers">The buffers <paramref name="run"/> touches, by slot.</param>
    /// <param name="writes">Bit i set when slot i is written.</param>
    /// <param name="run">The work at replay, from the backend and the buffers the step then holds.</param>
    public static void Record(string name, DeviceBuffer?[] buffers, int writes, Action<IBackend, DeviceBuffer?[]> run)
    {
        if (Recording)
        {
            current!.calls.Add(new CapturedCall(name, CallKind.Dynamic, buffers, writes, run));
        }
    }

    /// <summary>Records host work (no buffers) to repeat at every replay; the caller does it now itself.</summary>
    /// <param name="name">Names the action in diagnostics.</param>
    /// <param name="action">The work.</param>
    public static void RecordHost(string name, Action action)
    {
        if (Recording)
        {
            current!.calls.Add(new CapturedCall(name, CallKind.Dynamic, [], 0, (_, _) => action()));
        }
    }

    /// <summary>Makes the capture on this thread unreplayable (the step itself goes on eagerly).</summary>
    /// <param name="reason">What the step did, for the warning.</param>
    public static void Break(string reason)
    {
        if (current is { suppressed: 0, BreakReason: null } c)
        {
            c.BreakReason = reason;
        }
    }

    internal void Add(CapturedCall call)
    {
        if (suppressed == 0 && BreakReason is null)
        {
            calls.Add(call);
        }
    }

    /// <summary>A device value read on the host outside a dynamic section: the step depends on data a replay would not see.</summary>
    internal void HostRead()
    {
        if (suppressed == 0 && BreakReason is null)
        {
            BreakReason = $"reads a tensor value on the host (Item, ToArray or a read-back){Caller()}";
        }
    }

    /// <summary>" in Type.Method" for the first caller outside this library (else the first outside the tensor core).</summary>
    private static string Caller()
    {
        var library = typeof(Tensor).Assembly;
        string? inside = null;
        foreach (var frame in new StackTrace(2, false).GetFrames())
        {
            if (frame.GetMethod() is not { DeclaringType: { } type } method)
            {
                continue;
            }

            if (type.Assembly != library)
            {
                return $" in {Describe(type)}.{method.Name}";
            }

            if (inside is null && type.Namespace is { } ns && ns.StartsWith("Lepton.Nn", StringComparison.Ordinal))
            {
                inside = $" in {Describe(type)}.{method.Name}";
            }
        }

        return inside ?? string.Empty;
    }

    private static string Describe(Type type) => type.IsNested && type.Name.StartsWith('<') ? type.DeclaringType!.Name : type.Name;

    /// <summary>Stops recording; the captured step, or null (with the reason) when it cannot be replayed.</summary>
    /// <param name="pinned">Buffers the caller reads after each replay (a prediction), kept as they are.</param>
    /// <param name="settings">Which passes to run.</param>
    /// <param name="reason">Why there is no step: a break (train eagerly) or state made during the step (capture again).</param>
    /// <param name="broken">Whether the reason is a break.</param>
    public CapturedStep? End(IReadOnlyList<DeviceBuffer> pinned, CaptureSettings settings, out string? reason, out bool broken)
    {
        Stop();
        var pinnedSet = new HashSet<DeviceBuffer>(pinned, ReferenceEqualityComparer.Instance);
        broken = BreakReason is not null;
        reason = BreakReason ?? (arena.ForeignRent ? "uses memory of a second device" : null);
        if (reason is null)
        {
            var held = new HashSet<DeviceBuffer>(arena.Held, ReferenceEqualityComparer.Instance);
            foreach (var call in calls)
            {
                foreach (var buffer in call.Buffers)
                {
                    if (buffer is not null && !held.Contains(buffer) && arena.RentedDuringCapture.Contains(buffer) && !pinnedSet.Contains(buffer))
                    {
                        reason = $"keeps state first made during the step ({call.Name})";
                        break;
                    }
                }

                if (reason is not null)
                {
                    break;
                }
            }
        }

        if (reason is not null)
        {
            ReleaseHeld();
            return null;
        }

        try
        {
            return new CapturedStep(Device, Inner, calls, arena.Held, arena.RentedDuringCapture, pinnedSet, settings);
        }
        catch
        {
            // The passes failed (out of memory, say): the held buffers go back instead of leaking.
            ReleaseHeld();
            throw;
        }
    }

    private void Stop()
    {
        if (!ended)
        {
            ended = true;
            current = null;
            BufferPool.Arena = null;
        }
    }

    private void ReleaseHeld()
    {
        foreach (var buffer in arena.Held)
        {
            arena.Pool.Return(buffer);
        }

        arena.Held.Clear();
    }

    /// <summary>Ends a capture that did not reach <see cref="End"/> (the step threw): its memory goes back to the pool.</summary>
    public void Dispose()
    {
        if (!ended)
        {
            Stop();
            ReleaseHeld();
        }
    }

    /// <summary>Keeps calls made in its lifetime out of the record (the caller records them as one dynamic call).</summary>
    public readonly struct SuppressScope : IDisposable
    {
        private readonly StepCapture? capture;

        internal SuppressScope(StepCapture? capture)
        {
            this.capture = capture;
            if (capture is not null)
            {
                capture.suppressed++;
            }
        }

        public void Dispose()
        {
            if (capture is not null)
            {
                capture.suppressed--;
            }
        }
    }

    /// <summary>Keeps the calls made until disposed out of the record.</summary>
    public static SuppressScope Suppress() => new(current);
}
