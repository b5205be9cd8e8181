// One backend call of a captured step: the buffers it touches (in a slot array that the passes may
// rewrite) and a delegate that repeats the call on those buffers. The kinds the fusion pass looks
// for keep their geometry; every other call is opaque to the passes except for its buffers.
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>What a captured call is, where a pass needs to know.</summary>
internal enum CallKind
{
    /// <summary>Any call the passes do not rewrite.</summary>
    Other,

    /// <summary>Fused convolution + bias + ReLU forward; buffers x, w, bias, y; args the convolution geometry.</summary>
    Conv2dBiasRelu,

    /// <summary>Max pooling forward; buffers x, y, indices; args the pooling geometry.</summary>
    MaxPool2dForward,

    /// <summary>Max pooling backward; buffers dy, indices, dx; args the pooling geometry.</summary>
    MaxPool2dBackward,

    /// <summary>ReLU's bias + activation backward; buffers x, bias, y, dy, dx, dbias; args (outer, channels, inner).</summary>
    ReluBiasBackward,

    /// <summary>Convolution input gradient; buffers dy, w, dx; args the convolution geometry.</summary>
    Conv2dBackwardData,

    /// <summary>Convolution filter gradient; buffers x, dy, dw; args the convolution geometry.</summary>
    Conv2dBackwardFilter,

    /// <summary>A host action or a call whose arguments are read at replay (learning rate, random counters).</summary>
    Dynamic,
}

/// <summary>A recorded call: <see cref="Run"/> repeats it on <see cref="Buffers"/>.</summary>
internal sealed class CapturedCall
{
    public CapturedCall(string name, CallKind kind, DeviceBuffer?[] buffers, int writes, Action<IBackend, DeviceBuffer?[]> run, object? args = null)
    {
        Name = name;
        Kind = kind;
        Buffers = buffers;
        Writes = writes;
        Run = run;
        Args = args;
    }

    /// <summary>The backend method (or the dynamic action's name), for diagnostics.</summary>
    public string Name { get; }

    public CallKind Kind { get; }

    /// <summary>The buffers the call reads or writes, by slot; passes replace entries to move the call to other memory.</summary>
    public DeviceBuffer?[] Buffers { get; }

    /// <summary>Bit i set when slot i is written.</summary>
    public int Writes { get; }

    /// <summary>Repeats the call on the given backend and buffers.</summary>
    public Action<IBackend, DeviceBuffer?[]> Run { get; }

    /// <summary>The geometry of the kinds a pass rewrites.</summary>
    public object? Args { get; }

    public bool WritesSlot(int slot) => (Writes & (1 << slot)) != 0;

    /// <summary>Whether the call touches <paramref name="buffer"/>.</summary>
    public bool Touches(DeviceBuffer buffer) => Array.IndexOf(Buffers, buffer) >= 0;
}
