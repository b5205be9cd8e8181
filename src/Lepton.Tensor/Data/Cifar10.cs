// CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes, from the official
// binary batches (data_batch_1..5.bin, test_batch.bin; each record is a label byte then 3072
// pixel bytes, red, green then blue planes). Images are kept as bytes and become float32
// [N, 3, 32, 32] in [0, 1] when used.
namespace Lepton.Data;

/// <summary>CIFAR-10 loaded into tensors.</summary>
/// <example><code>var cifar = Cifar10.Load("~/.cache/lepton/cifar-10-batches-bin");</code></example>
public sealed class Cifar10 : ImageClassificationData
{
    /// <summary>The class names, in label order.</summary>
    public static readonly string[] ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Per-channel mean of the training images (for normalization).</summary>
    public static readonly float[] Mean = [0.4914f, 0.4822f, 0.4465f];

    /// <summary>Per-channel standard deviation of the training images.</summary>
    public static readonly float[] Std = [0.2470f, 0.2435f, 0.2616f];

    /// <summary>The official archive of the binary version.</summary>
    public static readonly Uri[] Mirrors = [new("https://www.cs.toronto.edu/~kriz/")];

    /// <summary>The archive's name on the mirrors.</summary>
    public const string ArchiveName = "cifar-10-binary.tar.gz";

    /// <summary>MD5 of the archive as published by its authors (they publish no SHA-256).</summary>
    internal const string ArchiveMd5 = "c32a1d4ab5d03f1284b67883e8d87530";

    private const int RecordSize = 1 + (3 * 32 * 32);

    private Cifar10(byte[] trainImages, int[] trainLabels, byte[] testImages, int[] testLabels, string directory, Device? device)
        : base(trainImages, [trainLabels.Length, 3, 32, 32], trainLabels, testImages, [testLabels.Length, 3, 32, 32], testLabels, directory, device)
    {
    }

    /// <summary>Loads the six binary batches from <paramref name="directory"/> or the first folder <see cref="FindDirectory"/> finds.
    /// The pixels stay in memory as bytes until a batch or <see cref="ImageClassificationData.TrainImages"/> needs them as float32.</summary>
    /// <example><code>var cifar = Cifar10.Load();</code></example>
    public static Cifar10 Load(string? directory = null, Device? device = null)
    {
        directory ??= FindDirectory() ?? Download(Downloader.CacheDirectory);
        var (trainX, trainY) = ReadBatches(directory, [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")]);
        var (testX, testY) = ReadBatches(directory, ["test_batch.bin"]);
        return new Cifar10(trainX, trainY, testX, testY, directory, device);
    }

    /// <summary>
    /// Downloads the official binary archive into <paramref name="parent"/>, checks its published MD5 and
    /// extracts cifar-10-batches-bin/ there; returns that folder.
    /// </summary>
    /// <example><code>var folder = Cifar10.Download("/data");</code></example>
    public static string Download(string parent, IReadOnlyList<Uri>? mirrors = null, HttpClient? client = null)
    {
        string archive = Path.Combine(parent, ArchiveName);
        if (!File.Exists(archive))
        {
            try
            {
                Downloader.Fetch(mirrors ?? Mirrors, ArchiveName, archive, (bytes, source) => Downloader.RequireMd5(bytes, ArchiveMd5, source), client);
            }
            catch (IOException e)
            {
                throw new IOException(
                    $"{e.Message}\nWithout network access, convert the image copy instead: python3 shared/datasets/cifar10/to-binary.py {Path.Combine(parent, "cifar-10-batches-bin")}", e);
            }
        }

        using (var file = File.OpenRead(archive))
        using (var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress))
        {
            System.Formats.Tar.TarFile.ExtractToDirectory(gzip, parent, overwriteFiles: true);
        }

        return Path.Combine(parent, "cifar-10-batches-bin");
    }

    /// <summary>
    /// The first folder holding the batches among $LEPTON_DATA/cifar-10-batches-bin, $LEPTON_DATA and
    /// the download cache's cifar-10-batches-bin.
    /// </summary>
    public static string? FindDirectory()
    {
        var candidates = new List<string>();
        string? env = Environment.GetEnvironmentVariable("LEPTON_DATA");
        if (!string.IsNullOrEmpty(env))
        {
            candidates.Add(Path.Combine(env, "cifar-10-batches-bin"));
            candidates.Add(env);
        }

        candidates.Add(Path.Combine(Downloader.CacheDirectory, "cifar-10-batches-bin"));
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "data_batch_1.bin")) && File.Exists(Path.Combine(c, "test_batch.bin")));
    }

    /// <summary>
    /// Reads records from binary batch files into pixel bytes and labels. Each file's size is checked before
    /// anything is read, the output is allocated once from those sizes, and files are read in chunks.
    /// </summary>
    internal static (byte[] Pixels, int[] Labels) ReadBatches(string directory, string[] files)
    {
        const int pixelsPerRecord = RecordSize - 1;
        var paths = new string[files.Length];
        long records = 0;
        for (int f = 0; f < files.Length; f++)
        {
            paths[f] = Path.Combine(directory, files[f]);
            if (!File.Exists(paths[f]))
            {
                throw new FileNotFoundException($"CIFAR-10 batch '{files[f]}' is missing from '{directory}'.", paths[f]);
            }

            records += RecordsIn(paths[f], new FileInfo(paths[f]).Length);
        }

        if (records * pixelsPerRecord > Array.MaxLength)
        {
            throw new InvalidDataException(
                $"CIFAR-10 batches in '{directory}' hold {records} records, more than one tensor can hold; they are not CIFAR-10 binary batches.");
        }

        var pixels = new byte[records * pixelsPerRecord];
        var labels = new int[records];
        var chunk = new byte[RecordSize * 256];
        long at = 0;
        foreach (var path in paths)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            long inFile = RecordsIn(path, stream.Length);
            for (long r = 0; r < inFile;)
            {
                int n = (int)Math.Min(inFile - r, chunk.Length / RecordSize);
                if (stream.ReadAtLeast(chunk, n * RecordSize, throwOnEndOfStream: false) < n * RecordSize || at + n > records)
                {
                    throw new InvalidDataException($"CIFAR-10 batch '{path}' changed while it was being read.");
                }

                for (int i = 0; i < n; i++, r++, at++)
                {
                    var record = chunk.AsSpan(i * RecordSize, RecordSize);
                    labels[at] = record[0] <= 9
                        ? record[0]
                        : throw new InvalidDataException($"CIFAR-10 batch '{path}' has label {record[0]} in record {r}; labels are 0-9.");
                    record[1..].CopyTo(pixels.AsSpan((int)(at * pixelsPerRecord), pixelsPerRecord));
                }
            }
        }

        return at == records ? (pixels, labels) : throw new InvalidDataException($"CIFAR-10 batches in '{directory}' changed while they were being read.");
    }

    private static long RecordsIn(string path, long length) =>
        length > 0 && length % RecordSize == 0
            ? length / RecordSize
            : throw new InvalidDataException(
                $"CIFAR-10 batch '{path}' has {length} bytes, not a whole number of {RecordSize}-byte records; it is truncated or not a CIFAR-10 binary batch.");
}
