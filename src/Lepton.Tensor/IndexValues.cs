// Values used as indices or class labels: each must lie in [0, size), or in [-size, size) where negative
// indices count from the end (Gather, IndexSelect). The errors name the op, the position, the value and the
// allowed range, the same on every backend.
using System.Globalization;
using Lepton.Kernels;

namespace Lepton;

/// <summary>Checks of index and label values, and the error a bad one raises (on the host or at a device's read-back).</summary>
internal static class IndexValues
{
    /// <summary>Reads <paramref name="count"/> int32 or int64 values from the start of <paramref name="buffer"/> and checks them
    /// as <see cref="Check(string, ReadOnlySpan{long}, int, bool, bool)"/> does, without allocating once warm.</summary>
    /// <param name="backend">The backend holding the buffer.</param>
    /// <param name="buffer">The values.</param>
    /// <param name="dtype">Int32 or Int64.</param>
    /// <param name="count">How many values.</param>
    /// <param name="op">The op or loss named in the error.</param>
    /// <param name="size">The extent the values index.</param>
    /// <param name="labels">Whether the values are class labels.</param>
    /// <param name="negativeFromEnd">Whether indices in [-size, -1] are allowed.</param>
    public static void Check(Backends.IBackend backend, Backends.DeviceBuffer buffer, DType dtype, int count, string op, int size, bool labels, bool negativeFromEnd)
    {
        int bytes = count * dtype.Size();
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(bytes, 1));
        try
        {
            var span = rented.AsSpan(0, bytes);
            backend.DownloadBytes(buffer, 0, span);
            if (dtype == DType.Int64)
            {
                Check(op, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(span), size, labels, negativeFromEnd);
            }
            else if (!negativeFromEnd)
            {
                Check(op, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(span), size, labels);
            }
            else
            {
                var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(span);
                for (int i = 0; i < values.Length; i++)
                {
                    if (values[i] < -size || values[i] >= size)
                    {
                        throw Error(op, i, values[i], size, labels, negativeFromEnd: true);
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Throws for the first int32 value outside [0, <paramref name="size"/>); no allocation otherwise.</summary>
    /// <param name="op">The op or loss named in the error.</param>
    /// <param name="values">The values in row-major order (positions count in it).</param>
    /// <param name="size">The extent the values index (classes for labels).</param>
    /// <param name="labels">Whether the values are class labels.</param>
    public static void Check(string op, ReadOnlySpan<int> values, int size, bool labels)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if ((uint)values[i] >= (uint)size)
            {
                throw Error(op, i, values[i], size, labels);
            }
        }
    }

    /// <summary>Throws for the first integer value outside [0, <paramref name="size"/>), or outside [-size, size) when
    /// negative indices count from the end.</summary>
    /// <param name="op">The op or loss named in the error.</param>
    /// <param name="values">The values in row-major order (positions count in it).</param>
    /// <param name="size">The extent the values index (classes for labels).</param>
    /// <param name="labels">Whether the values are class labels.</param>
    /// <param name="negativeFromEnd">Whether indices in [-size, -1] are allowed (they count from the end).</param>
    public static void Check(string op, ReadOnlySpan<long> values, int size, bool labels, bool negativeFromEnd = false)
    {
        long low = negativeFromEnd ? -size : 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] < low || values[i] >= size)
            {
                throw Error(op, i, values[i], size, labels, negativeFromEnd: negativeFromEnd);
            }
        }
    }

    /// <summary>
    /// The error for <paramref name="value"/> at <paramref name="position"/>: <see cref="ArgumentException"/> when it is not a
    /// whole number (NaN, infinite, fractional), <see cref="IndexOutOfRangeException"/> when it is outside [0, size).
    /// </summary>
    /// <param name="op">The op or loss named in the error.</param>
    /// <param name="position">The value's row-major position among the indices.</param>
    /// <param name="value">The bad value.</param>
    /// <param name="size">The extent the values index.</param>
    /// <param name="labels">Whether the values are class labels.</param>
    /// <param name="where">Appended to the message (e.g. which device found it), or null.</param>
    /// <param name="negativeFromEnd">Whether indices in [-size, -1] were allowed (the message gives that range).</param>
    public static Exception Error(string op, long position, double value, int size, bool labels, string? where = null, bool negativeFromEnd = false)
    {
        string noun = labels ? "label" : "index";
        string shown = value.ToString(CultureInfo.InvariantCulture);
        string suffix = where is null ? "." : $" ({where}).";
        if (!double.IsFinite(value) || value != Math.Floor(value))
        {
            return new ArgumentException(
                $"{op}: {noun} {shown} at position {position} is not a whole number; {(labels ? "labels" : "indices")} must be integers in [{(negativeFromEnd ? -size : 0)}, {size}){suffix}");
        }

        string extent = labels ? (size > 0 ? $"{size} classes (labels 0 to {size - 1})" : "0 classes")
            : negativeFromEnd ? $"a dimension of size {size} (indices {-size} to {size - 1}, negative ones counting from the end)" : $"a dimension of size {size}";
        return new IndexOutOfRangeException($"{op}: {noun} {shown} at position {position} is out of range for {extent}{suffix}");
    }
}
