// Pinned arrays used from a 64-byte boundary. A pinned array's data starts wherever the allocator put
// the object (16 bytes past an 8-byte boundary), so most AVX-512 loads from it would straddle two cache
// lines; allocating one cache line more and starting at the first boundary inside keeps them whole.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Lepton.Backends.Cpu;

/// <summary>Pinned arrays whose usable elements start on a cache-line boundary.</summary>
internal static unsafe class AlignedArrays
{
    /// <summary>The alignment, in bytes: a cache line and one AVX-512 register.</summary>
    public const int Alignment = 64;

    /// <summary>A pinned array with room for <paramref name="length"/> elements from <see cref="Start"/>.</summary>
    public static T[] Allocate<T>(int length)
        where T : unmanaged =>
        GC.AllocateUninitializedArray<T>(length + (Alignment / sizeof(T)), pinned: true);

    /// <summary>The first element of <paramref name="array"/> (allocated by <see cref="Allocate"/>) on a boundary.</summary>
    public static T* Start<T>(T[] array)
        where T : unmanaged
    {
        nint data = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (T*)((data + (Alignment - 1)) & ~(nint)(Alignment - 1));
    }

    /// <summary>The index of <see cref="Start"/> in <paramref name="array"/>.</summary>
    public static int Offset<T>(T[] array)
        where T : unmanaged =>
        (int)(Start(array) - (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)));
}
