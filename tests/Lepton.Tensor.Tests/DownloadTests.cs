// Downloading datasets: a local HTTP server stands in for the mirrors. The first mirror fails and
// the second serves the real MNIST files; corrupt bytes fail the SHA-256 check and leave nothing.
using System.IO.Compression;
using System.Net;
using Lepton.Data;

namespace Lepton.Tests;

public sealed class DownloadTests : IDisposable
{
    private readonly string cache = Directory.CreateTempSubdirectory("lepton-download-").FullName;
    private readonly HttpListener listener = new();
    private readonly Dictionary<string, byte[]> served = [];
    private readonly string prefix;

    public DownloadTests()
    {
        int port = 20000 + Random.Shared.Next(20000);
        prefix = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(prefix);
        listener.Start();
        _ = Task.Run(Serve);
    }

    public void Dispose()
    {
        listener.Close();
        Directory.Delete(cache, recursive: true);
    }

    [Fact]
    public void DownloadsFromTheFirstWorkingMirrorAndVerifies()
    {
        string shared = Mnist.FindDirectory() ?? throw new Xunit.Sdk.XunitException("MNIST must be in shared/datasets/mnist beside the repository.");
        foreach (var name in Mnist.FileNames)
        {
            served["/good/" + name + ".gz"] = File.ReadAllBytes(Path.Combine(shared, name + ".gz"));
        }

        string target = Path.Combine(cache, "mnist");
        Mnist.Download(target, [new Uri(prefix + "missing/"), new Uri(prefix + "good/")]);
        var mnist = Mnist.Load(target);
        Assert.Equal(60000, mnist.TrainLabels.Numel);
        Assert.Equal(Mnist.FileNames.Select(n => n + ".gz").Order(), Directory.GetFiles(target).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void CorruptDownloadsFailTheirChecksumAndSaveNothing()
    {
        var fake = new MemoryStream();
        using (var gzip = new GZipStream(fake, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write([0, 0, 8, 1, 0, 0, 0, 1, 5]);
        }

        served["/bad/train-images-idx3-ubyte.gz"] = fake.ToArray();
        string target = Path.Combine(cache, "bad");
        var e = Assert.Throws<InvalidDataException>(() => Mnist.Download(target, [new Uri(prefix + "bad/")]));
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
        Assert.False(Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any());

        var unreachable = Assert.Throws<IOException>(() => Mnist.Download(target, [new Uri(prefix + "nothing/")]));
        Assert.Contains("any mirror", unreachable.Message);
        Assert.Contains("404", unreachable.Message);
    }

    private async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            if (served.TryGetValue(context.Request.Url!.AbsolutePath, out var bytes))
            {
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
            }
            else
            {
                context.Response.StatusCode = 404;
            }

            context.Response.Close();
        }
    }
}
