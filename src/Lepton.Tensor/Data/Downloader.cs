// Fetching dataset files into a local cache: try each mirror in turn, verify the bytes against a
// published checksum before anything is written, then move the file into place atomically, so the
// cache never holds a partial or corrupt file.
using System.Security.Cryptography;

namespace Lepton.Data;

/// <summary>Downloads and verifies dataset files.</summary>
public static class Downloader
{
    /// <summary>The cache folder: $LEPTON_CACHE, else ~/.cache/lepton.</summary>
    public static string CacheDirectory =>
        Environment.GetEnvironmentVariable("LEPTON_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "lepton");

    /// <summary>
    /// Downloads <paramref name="fileName"/> from the first mirror that serves it, checks it with
    /// <paramref name="verify"/> (which throws <see cref="InvalidDataException"/> on a mismatch) and saves it as
    /// <paramref name="target"/>. Returns the path.
    /// </summary>
    public static string Fetch(IReadOnlyList<Uri> mirrors, string fileName, string target, Action<byte[], string> verify, HttpClient? client = null, CancellationToken cancellationToken = default)
    {
        var failures = new List<string>();
        using var owned = client is null ? new HttpClient { Timeout = TimeSpan.FromMinutes(10) } : null;
        var http = client ?? owned!;
        foreach (var mirror in mirrors)
        {
            var uri = new Uri(mirror, fileName);
            byte[] bytes;
            try
            {
                bytes = http.GetByteArrayAsync(uri, cancellationToken).GetAwaiter().GetResult();
            }
            catch (HttpRequestException e)
            {
                failures.Add($"{uri}: {e.Message}");
                continue;
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add($"{uri}: timed out ({e.Message})");
                continue;
            }

            verify(bytes, uri.ToString());
            IO.AtomicFile.Write(target, s => s.Write(bytes));
            return target;
        }

        throw new IOException(
            $"Could not download {fileName} from any mirror:\n  {string.Join("\n  ", failures)}\n" +
            "Download it by hand into the folder and pass that folder (or set LEPTON_DATA).");
    }

    /// <summary>Throws unless the SHA-256 of <paramref name="bytes"/> is <paramref name="expectedHex"/>.</summary>
    public static void RequireSha256(byte[] bytes, string expectedHex, string source) =>
        RequireHash(SHA256.HashData(bytes), expectedHex, "SHA-256", source);

    /// <summary>Throws unless the MD5 of <paramref name="bytes"/> is <paramref name="expectedHex"/> (for archives whose publishers give only MD5).</summary>
    public static void RequireMd5(byte[] bytes, string expectedHex, string source) =>
        RequireHash(MD5.HashData(bytes), expectedHex, "MD5", source);

    private static void RequireHash(byte[] hash, string expectedHex, string algorithm, string source)
    {
        string actual = Convert.ToHexStringLower(hash);
        if (!string.Equals(actual, expectedHex, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"'{source}' failed its {algorithm} check (expected {expectedHex}, got {actual}); the download is damaged or the mirror serves another file. Nothing was saved.");
        }
    }
}
