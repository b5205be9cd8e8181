// The MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28, from the four
// official IDX files (gzip or raw). Images are kept as bytes and become float32 [N, 1, 28, 28] in
// [0, 1] when used; labels are int32.
// The folder comes from the caller, else LEPTON_DATA, else a shared/datasets folder beside the
// working directory, else the download cache (filled from the official mirrors, SHA-256 checked).
namespace Lepton.Data;

/// <summary>MNIST loaded into tensors.</summary>
/// <example><code>var mnist = Mnist.Load(); Console.WriteLine(mnist.TrainImages.Shape[0]); // 60000</code></example>
public sealed class Mnist : ImageClassificationData
{
    /// <summary>The official file names, without the optional .gz suffix.</summary>
    public static readonly string[] FileNames =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>The mirrors tried by <see cref="Download"/>, in order.</summary>
    public static readonly Uri[] Mirrors = [new("https://ossci-datasets.s3.amazonaws.com/mnist/"), new("https://storage.googleapis.com/cvdf-datasets/mnist/")];

    /// <summary>SHA-256 of each uncompressed file, as published with the dataset copy the project uses.</summary>
    internal static readonly Dictionary<string, string> Sha256 = new()
    {
        ["train-images-idx3-ubyte"] = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ["train-labels-idx1-ubyte"] = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ["t10k-images-idx3-ubyte"] = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ["t10k-labels-idx1-ubyte"] = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    };

    /// <summary>The size of the largest uncompressed file (the training images: 16-byte header, 60000 x 28 x 28).</summary>
    private const long LargestFileBytes = 16 + (60000L * 28 * 28);

    private Mnist(byte[] trainImages, int[] trainLabels, byte[] testImages, int[] testLabels, string directory, Device? device)
        : base(trainImages, [60000, 1, 28, 28], trainLabels, testImages, [10000, 1, 28, 28], testLabels, directory, device)
    {
    }

    /// <summary>Loads the four files from <paramref name="directory"/> or the first folder <see cref="FindDirectory"/> finds.
    /// The pixels stay in memory as bytes until a batch or <see cref="ImageClassificationData.TrainImages"/> needs them as float32.</summary>
    /// <example><code>var mnist = Mnist.Load("../shared/datasets/mnist");</code></example>
    public static Mnist Load(string? directory = null, Device? device = null)
    {
        directory ??= FindDirectory() ?? Download(Path.Combine(Downloader.CacheDirectory, "mnist"));
        var trainImages = ReadImages(directory, FileNames[0], 60000);
        var trainLabels = ReadLabels(directory, FileNames[1], 60000);
        var testImages = ReadImages(directory, FileNames[2], 10000);
        var testLabels = ReadLabels(directory, FileNames[3], 10000);
        return new Mnist(trainImages, trainLabels, testImages, testLabels, directory, device);
    }

    /// <summary>
    /// Downloads the four gzip files into <paramref name="directory"/> (skipping those already there) from
    /// <paramref name="mirrors"/> (default <see cref="Mirrors"/>), checking the SHA-256 of each decompressed file.
    /// </summary>
    /// <example><code>Mnist.Download("/data/mnist");</code></example>
    public static string Download(string directory, IReadOnlyList<Uri>? mirrors = null, HttpClient? client = null)
    {
        foreach (var name in FileNames)
        {
            string target = Path.Combine(directory, name + ".gz");
            if (File.Exists(target) || File.Exists(Path.Combine(directory, name)))
            {
                continue;
            }

            Downloader.Fetch(mirrors ?? Mirrors, name + ".gz", target, (bytes, source) =>
            {
                using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
                using var raw = new MemoryStream();
                try
                {
                    // Stop a decompression bomb at the size of the largest MNIST file, not at the end of memory.
                    var buffer = new byte[1 << 16];
                    for (int n; (n = gzip.Read(buffer)) > 0;)
                    {
                        raw.Write(buffer, 0, n);
                        if (raw.Length > LargestFileBytes)
                        {
                            throw new InvalidDataException($"it decompresses to more than {LargestFileBytes} bytes, the size of the largest MNIST file");
                        }
                    }
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"'{source}' is not a valid gzip file ({e.Message}); nothing was saved.", e);
                }

                Downloader.RequireSha256(raw.ToArray(), Sha256[name], source);
            }, client);
        }

        return directory;
    }

    /// <summary>
    /// The first folder holding the MNIST files among: $LEPTON_DATA/mnist, $LEPTON_DATA, and
    /// shared/datasets/mnist in the working directory or any of its parents (and their siblings).
    /// </summary>
    public static string? FindDirectory()
    {
        var candidates = new List<string>();
        string? env = Environment.GetEnvironmentVariable("LEPTON_DATA");
        if (!string.IsNullOrEmpty(env))
        {
            candidates.Add(Path.Combine(env, "mnist"));
            candidates.Add(env);
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, "shared", "datasets", "mnist"));
            candidates.Add(Path.Combine(dir.FullName, "..", "shared", "datasets", "mnist"));
        }

        candidates.Add(Path.Combine(Downloader.CacheDirectory, "mnist"));
        return candidates.FirstOrDefault(c => FileNames.All(name => File.Exists(Path.Combine(c, name)) || File.Exists(Path.Combine(c, name + ".gz"))));
    }

    private static string Locate(string directory, string name)
    {
        string raw = Path.Combine(directory, name);
        if (File.Exists(raw))
        {
            return raw;
        }

        string gz = raw + ".gz";
        return File.Exists(gz)
            ? gz
            : throw new FileNotFoundException($"MNIST file '{name}' (or '{name}.gz') is missing from '{directory}'.", raw);
    }

    private static byte[] ReadImages(string directory, string name, int expected)
    {
        string path = Locate(directory, name);
        var idx = IdxFile.Read(path);
        if (idx.Dimensions.Length != 3 || idx.Dimensions[0] != expected || idx.Dimensions[1] != 28 || idx.Dimensions[2] != 28)
        {
            throw new InvalidDataException($"MNIST file '{path}' holds {string.Join(" x ", idx.Dimensions)} values; expected {expected} x 28 x 28 images.");
        }

        return idx.Data;
    }

    private static int[] ReadLabels(string directory, string name, int expected)
    {
        string path = Locate(directory, name);
        var idx = IdxFile.Read(path);
        if (idx.Dimensions.Length != 1 || idx.Dimensions[0] != expected)
        {
            throw new InvalidDataException($"MNIST file '{path}' holds {string.Join(" x ", idx.Dimensions)} values; expected {expected} labels.");
        }

        var labels = new int[expected];
        for (int i = 0; i < expected; i++)
        {
            if (idx.Data[i] > 9)
            {
                throw new InvalidDataException($"MNIST file '{path}' has label {idx.Data[i]} at position {i}; labels are digits 0-9.");
            }

            labels[i] = idx.Data[i];
        }

        return labels;
    }
}
