// Our binding of NCCL (libnccl.so.2): all-reduce and broadcast on CUDA device memory, queued on a CUDA stream.
// One communicator per process group and GPU, its unique id made by rank 0 and broadcast over MPI. Loaded on first
// use; without NCCL, collectives on CUDA tensors are staged through host memory.
using System.Runtime.InteropServices;

namespace Lepton.Backends.Ilgpu;

/// <summary>NCCL's entry points and the communicator of the current process group.</summary>
internal static unsafe class NcclLibrary
{
    private const string LibraryName = "libnccl.so.2";
    private const int UniqueIdBytes = 128;
    private static readonly Lock Gate = new();
    private static readonly Dictionary<(Distributed Group, nint Context), nint> Communicators = [];
    private static int loaded; // 0 not tried, 1 loaded, -1 missing

    private static delegate* unmanaged<UniqueId*, int> getUniqueId;
    private static delegate* unmanaged<nint*, int, UniqueId, int, int> commInitRank;
    private static delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> allReduce;
    private static delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int> broadcast;
    private static delegate* unmanaged<int> groupStart;
    private static delegate* unmanaged<int> groupEnd;
    private static delegate* unmanaged<int, byte*> errorString;

    /// <summary>Whether libnccl.so.2 could be loaded (tried once).</summary>
    public static bool TryLoad()
    {
        lock (Gate)
        {
            if (loaded == 0)
            {
                loaded = NativeLibrary.TryLoad(LibraryName, out nint handle) && Resolve(handle) ? 1 : -1;
            }

            return loaded == 1;
        }
    }

    /// <summary>The communicator of <paramref name="group"/> on the CUDA context <paramref name="context"/>, created on first use
    /// (a collective call: every rank reaches it at the same point).</summary>
    public static nint Communicator(Distributed group, nint context)
    {
        lock (Gate)
        {
            if (Communicators.TryGetValue((group, context), out nint existing))
            {
                return existing;
            }

            UniqueId id;
            if (group.IsPrimary)
            {
                Check(getUniqueId(&id), "ncclGetUniqueId");
            }

            group.Broadcast((byte*)&id, UniqueIdBytes, 0);
            nint comm;
            Check(commInitRank(&comm, group.WorldSize, id, group.Rank), "ncclCommInitRank");
            Communicators[(group, context)] = comm;
            return comm;
        }
    }

    public static void AllReduce(nint data, long count, DType type, nint comm, nint stream) =>
        Check(allReduce((void*)data, (void*)data, (nuint)count, DataType(type), 0 /* ncclSum */, comm, stream), "ncclAllReduce");

    public static void Broadcast(nint data, long count, DType type, int root, nint comm, nint stream) =>
        Check(broadcast((void*)data, (void*)data, (nuint)count, DataType(type), root, comm, stream), "ncclBroadcast");

    public static void GroupStart() => Check(groupStart(), "ncclGroupStart");

    public static void GroupEnd() => Check(groupEnd(), "ncclGroupEnd");

    /// <summary>NCCL's ncclDataType_t for an element type.</summary>
    private static int DataType(DType type) => type switch
    {
        DType.Int8 => 0,
        DType.UInt8 or DType.Bool => 1,
        DType.Int32 => 2,
        DType.Int64 => 4,
        DType.Float16 => 6,
        DType.Float32 => 7,
        DType.Float64 => 8,
        DType.BFloat16 => 9,
        _ => throw new ArgumentException($"NCCL: no collective for {type.Name()} tensors."),
    };

    private static bool Resolve(nint handle)
    {
        nint Export(string name) => NativeLibrary.TryGetExport(handle, name, out nint address) ? address : 0;
        nint[] entries =
        [
            Export("ncclGetUniqueId"), Export("ncclCommInitRank"), Export("ncclAllReduce"), Export("ncclBroadcast"),
            Export("ncclGroupStart"), Export("ncclGroupEnd"), Export("ncclGetErrorString"),
        ];
        if (entries.Any(e => e == 0))
        {
            return false;
        }

        getUniqueId = (delegate* unmanaged<UniqueId*, int>)entries[0];
        commInitRank = (delegate* unmanaged<nint*, int, UniqueId, int, int>)entries[1];
        allReduce = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)entries[2];
        broadcast = (delegate* unmanaged<void*, void*, nuint, int, int, nint, nint, int>)entries[3];
        groupStart = (delegate* unmanaged<int>)entries[4];
        groupEnd = (delegate* unmanaged<int>)entries[5];
        errorString = (delegate* unmanaged<int, byte*>)entries[6];
        return true;
    }

    private static void Check(int result, string call)
    {
        if (result != 0)
        {
            string why = Marshal.PtrToStringUTF8((nint)errorString(result)) ?? "unknown error";
            throw new InvalidOperationException($"Distributed (NCCL): {call} failed with {result}: {why}.");
        }
    }

    /// <summary>ncclUniqueId: 128 opaque bytes, passed by value.</summary>
    [StructLayout(LayoutKind.Sequential, Size = UniqueIdBytes)]
    private struct UniqueId
    {
        private byte first;
    }
}
