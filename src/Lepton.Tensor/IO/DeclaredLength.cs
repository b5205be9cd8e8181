// Reading a stream whose length a header declares (a zip entry, a gzip IDX file): the buffer grows only
// as data arrives and never past the declared size, so a decompression bomb stops where its header says.
namespace Lepton.IO;

/// <summary>Reads exactly the number of bytes a header declares, and proves the stream holds no more.</summary>
internal static class DeclaredLength
{
    private const int FirstChunk = 1 << 16;

    /// <summary>
    /// Reads <paramref name="declared"/> bytes from <paramref name="stream"/>; throws <see cref="InvalidDataException"/>
    /// naming <paramref name="what"/> when the stream ends sooner or holds more.
    /// </summary>
    /// <param name="stream">The (decompressing) stream.</param>
    /// <param name="declared">The length the header declares.</param>
    /// <param name="what">Names the data in errors, e.g. <c>IDX file 'x.gz'</c>.</param>
    public static byte[] Read(Stream stream, long declared, string what)
    {
        if (declared < 0 || declared > Array.MaxLength)
        {
            throw new InvalidDataException($"{what} declares {declared} bytes, more than one array can hold ({Array.MaxLength}); it is corrupt.");
        }

        // Grow as the data arrives: a header cannot make us allocate more than the stream really yields (times two).
        var buffer = new byte[Math.Min(declared, FirstChunk)];
        long filled = 0;
        while (filled < declared)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(declared, (long)buffer.Length * 2));
            }

            int n = stream.Read(buffer, (int)filled, buffer.Length - (int)filled);
            if (n == 0)
            {
                throw new InvalidDataException($"{what} holds {filled} bytes but its header declares {declared}; it is truncated.");
            }

            filled += n;
        }

        if (stream.ReadByte() != -1)
        {
            throw new InvalidDataException($"{what} holds more than the {declared} bytes its header declares; it is corrupt.");
        }

        return buffer;
    }
}
