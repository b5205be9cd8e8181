// Our binding of the MPI C API (Open MPI's libmpi.so.40), loaded the first time distributed work is asked for, so a
// process that never trains data-parallel needs no MPI installed. Open MPI's predefined handles (MPI_COMM_WORLD,
// MPI_FLOAT, MPI_SUM, ...) are the addresses of exported globals, found with NativeLibrary.GetExport.
using System.Runtime.InteropServices;

namespace Lepton;

/// <summary>Function pointers and predefined handles of the MPI library; every call checks its return code.</summary>
internal static unsafe class MpiLibrary
{
    /// <summary>The library's soname, and what users install to get it.</summary>
    internal const string LibraryName = "libmpi.so.40";

    /// <summary>The environment variable that names another Open MPI library file (e.g. under /opt).</summary>
    internal const string LibraryVariable = "LEPTON_MPI_LIBRARY";
    internal const string InstallHint = "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) and launch with mpirun";

    private const int ThreadSerialized = 2;
    private const int RtldNow = 2;
    private const int RtldGlobal = 0x100;
    private static readonly Lock Gate = new();
    private static nint library;

    private static delegate* unmanaged<int*, byte***, int, int*, int> initThread;
    private static delegate* unmanaged<int*, int> initialized;
    private static delegate* unmanaged<int*, int> finalized;
    private static delegate* unmanaged<int> finalize;
    private static delegate* unmanaged<nint, int*, int> commRank;
    private static delegate* unmanaged<nint, int*, int> commSize;
    private static delegate* unmanaged<nint, int, int> abort;
    private static delegate* unmanaged<nint, int> barrier;
    private static delegate* unmanaged<void*, int, nint, int, nint, int> bcast;
    private static delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int> iallreduce;
    private static delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce;
    private static delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> allgather;
    private static delegate* unmanaged<nint*, int*, void*, int> test;

    /// <summary>MPI_COMM_WORLD.</summary>
    internal static nint World { get; private set; }

    /// <summary>MPI_SUM and MPI_LOR.</summary>
    internal static nint Sum { get; private set; }

    internal static nint LogicalOr { get; private set; }

    /// <summary>MPI_BYTE, MPI_FLOAT, MPI_DOUBLE, MPI_INT, MPI_INT64_T, MPI_INT8_T, MPI_UINT8_T, MPI_C_BOOL.</summary>
    internal static nint Byte { get; private set; }

    internal static nint Float { get; private set; }

    internal static nint Double { get; private set; }

    internal static nint Int32 { get; private set; }

    internal static nint Int64 { get; private set; }

    internal static nint Int8 { get; private set; }

    internal static nint UInt8 { get; private set; }

    internal static nint Bool { get; private set; }

    /// <summary>MPI_IN_PLACE in Open MPI.</summary>
    internal static void* InPlace => (void*)1;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpen(string file, int mode);

    /// <summary>Loads the library and resolves every entry point (once); an error says what to install.</summary>
    internal static void Load()
    {
        lock (Gate)
        {
            if (library != 0)
            {
                return;
            }

            // Open MPI's components are plugins that look for libmpi's symbols globally, so it is opened RTLD_GLOBAL first.
            string name = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } chosen ? chosen : LibraryName;
            nint handle = OperatingSystem.IsLinux() ? DlOpen(name, RtldNow | RtldGlobal) : 0;
            if (handle == 0 && !NativeLibrary.TryLoad(name, out handle))
            {
                throw new DllNotFoundException($"Distributed: the MPI library ({name}) was not found; {InstallHint}, or name the library file in {LibraryVariable}.");
            }

            initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export(handle, "MPI_Init_thread");
            initialized = (delegate* unmanaged<int*, int>)Export(handle, "MPI_Initialized");
            finalized = (delegate* unmanaged<int*, int>)Export(handle, "MPI_Finalized");
            finalize = (delegate* unmanaged<int>)Export(handle, "MPI_Finalize");
            commRank = (delegate* unmanaged<nint, int*, int>)Export(handle, "MPI_Comm_rank");
            commSize = (delegate* unmanaged<nint, int*, int>)Export(handle, "MPI_Comm_size");
            abort = (delegate* unmanaged<nint, int, int>)Export(handle, "MPI_Abort");
            barrier = (delegate* unmanaged<nint, int>)Export(handle, "MPI_Barrier");
            bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export(handle, "MPI_Bcast");
            iallreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, nint*, int>)Export(handle, "MPI_Iallreduce");
            allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export(handle, "MPI_Allreduce");
            allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export(handle, "MPI_Allgather");
            test = (delegate* unmanaged<nint*, int*, void*, int>)Export(handle, "MPI_Test");
            World = Export(handle, "ompi_mpi_comm_world");
            Sum = Export(handle, "ompi_mpi_op_sum");
            LogicalOr = Export(handle, "ompi_mpi_op_lor");
            Byte = Export(handle, "ompi_mpi_byte");
            Float = Export(handle, "ompi_mpi_float");
            Double = Export(handle, "ompi_mpi_double");
            Int32 = Export(handle, "ompi_mpi_int");
            Int64 = Export(handle, "ompi_mpi_int64_t");
            Int8 = Export(handle, "ompi_mpi_int8_t");
            UInt8 = Export(handle, "ompi_mpi_uint8_t");
            Bool = Export(handle, "ompi_mpi_c_bool");
            library = handle;
        }
    }

    private static nint Export(nint handle, string name) =>
        NativeLibrary.TryGetExport(handle, name, out nint address)
            ? address
            : throw new EntryPointNotFoundException($"Distributed: {LibraryName} has no '{name}'; Open MPI 4 or later is needed ({InstallHint}).");

    /// <summary>MPI_Init_thread with calls serialized by the caller; false when MPI was already initialized.</summary>
    internal static bool Initialize()
    {
        int flag;
        Check(initialized(&flag), "MPI_Initialized");
        if (flag != 0)
        {
            return false;
        }

        int provided;
        Check(initThread(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
        if (provided < ThreadSerialized)
        {
            throw new InvalidOperationException($"Distributed: the MPI library gives thread level {provided}; calls from more than one thread (level {ThreadSerialized}) are needed.");
        }

        return true;
    }

    internal static bool IsFinalized()
    {
        int flag;
        Check(finalized(&flag), "MPI_Finalized");
        return flag != 0;
    }

    internal static void Shutdown() => Check(finalize(), "MPI_Finalize");

    internal static int Rank()
    {
        int rank;
        Check(commRank(World, &rank), "MPI_Comm_rank");
        return rank;
    }

    internal static int Size()
    {
        int size;
        Check(commSize(World, &size), "MPI_Comm_size");
        return size;
    }

    /// <summary>Ends every process of the job with <paramref name="code"/> (the launcher kills the others).</summary>
    internal static void Abort(int code) => abort(World, code);

    internal static void Barrier() => Check(barrier(World), "MPI_Barrier");

    internal static void Bcast(void* buffer, int count, nint type, int root) => Check(bcast(buffer, count, type, root, World), "MPI_Bcast");

    internal static nint Iallreduce(void* buffer, int count, nint type, nint op)
    {
        nint request;
        Check(iallreduce(InPlace, buffer, count, type, op, World, &request), "MPI_Iallreduce");
        return request;
    }

    internal static void Allreduce(void* buffer, int count, nint type, nint op) =>
        Check(allreduce(InPlace, buffer, count, type, op, World), "MPI_Allreduce");

    internal static void Allgather(void* send, int count, nint type, void* receive) =>
        Check(allgather(send, count, type, receive, count, type, World), "MPI_Allgather");

    /// <summary>MPI_Test: true when the request completed (the request is then freed and set to null).</summary>
    internal static bool Test(ref nint request)
    {
        int flag;
        fixed (nint* r = &request)
        {
            Check(test(r, &flag, null), "MPI_Test");
        }

        return flag != 0;
    }

    private static void Check(int code, string call)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"Distributed: {call} failed with MPI error code {code}.");
        }
    }
}
