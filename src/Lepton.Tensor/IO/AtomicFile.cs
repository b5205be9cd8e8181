// Writing files so that a failure never destroys the previous version: write a temporary file in
// the same folder, flush it to disk, then rename it over the target. Temporaries left by crashed saves are removed.
namespace Lepton.IO;

/// <summary>Crash-safe file replacement.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes through <paramref name="write"/> into a temporary file, then renames it over <paramref name="path"/>.
    /// Temporary files of earlier saves to the same path that a crash left behind are deleted first; one that another
    /// save is still writing (it holds the file open exclusively) is left alone.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the new contents to the stream it is given.</param>
    /// <example><code>AtomicFile.Write("model.lepton", stream => zip.CopyTo(stream));</code></example>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        RemoveStaleTemporaries(directory, Path.GetFileName(full));
        string temp = Path.Combine(directory, TemporaryPrefix(Path.GetFileName(full)) + $"{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes text atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="text">The file's new contents, written as UTF-8.</param>
    /// <example><code>AtomicFile.WriteAllText("history.csv", csv);</code></example>
    public static void WriteAllText(string path, string text) =>
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(text);
        });

    private static string TemporaryPrefix(string fileName) => $".{fileName}.";

    /// <summary>Deletes temporaries of <paramref name="fileName"/> that no process holds open (their save crashed).</summary>
    private static void RemoveStaleTemporaries(string directory, string fileName)
    {
        string prefix = TemporaryPrefix(fileName);
        foreach (string candidate in Directory.EnumerateFiles(directory, prefix + "*.tmp"))
        {
            string guid = Path.GetFileName(candidate)[prefix.Length..^".tmp".Length];
            if (guid.Length != 32 || !Guid.TryParseExact(guid, "N", out _))
            {
                continue;
            }

            try
            {
                // A save in progress holds its temporary with FileShare.None, so opening it here fails.
                using var probe = new FileStream(candidate, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                File.Delete(candidate);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
