// Load generator for Lepton.Serving: N concurrent HttpClient callers on loopback, each sending one
// example per request for a fixed time, at max batch 1 (no batching) and with dynamic batching.
//   dotnet run -c Release --project benchmarks/Lepton.ServeLoad -- [--seconds 5] [--clients 1,16,64]
//   dotnet run -c Release --project benchmarks/Lepton.ServeLoad -- --save-models DIR   # the two CNNs as .lepton files
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Lepton;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

double seconds = 5;
int[] clientCounts = [1, 16, 64];
int batchedMax = 64;
double waitMs = 2;
string? saveDirectory = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--seconds": seconds = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--clients": clientCounts = [.. args[++i].Split(',').Select(int.Parse)]; break;
        case "--max-batch": batchedMax = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--max-wait-ms": waitMs = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--save-models": saveDirectory = args[++i]; break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

ThreadPool.SetMinThreads(Math.Max(clientCounts.Max() + 16, 32), 32);

// The seed CNNs as samples/Mnist and samples/Cifar10 define them, with untrained (seeded random)
// weights: throughput and latency do not depend on what the weights are.
var networks = new (string Name, int[] Shape, Func<Model> Build)[]
{
    ("MNIST seed CNN", [1, 28, 28], () => new Sequential([
        new InputLayer([1, 28, 28]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2), new Flatten(),
        new Dense(128, activation: "relu"), new Dense(10, activation: "softmax")])),
    ("CIFAR-10 seed CNN", [3, 32, 32], () => new Sequential([
        new InputLayer([3, 32, 32]), new Conv2D(32, 3, activation: "relu"), new MaxPooling2D(2),
        new Conv2D(64, 3, activation: "relu"), new MaxPooling2D(2), new Conv2D(64, 3, activation: "relu"), new Flatten(),
        new Dense(64, activation: "relu"), new Dense(10)])),
};

if (saveDirectory is not null)
{
    Directory.CreateDirectory(saveDirectory);
    foreach (var (name, _, build) in networks)
    {
        Generator.ManualSeed(1);
        using var model = build();
        string path = Path.Combine(saveDirectory, name.StartsWith("MNIST", StringComparison.Ordinal) ? "mnist-seed.lepton" : "cifar10-seed.lepton");
        model.Save(path);
        Console.WriteLine($"saved {name} (untrained) to {path}");
    }

    return 0;
}

Console.WriteLine($"| Model | Max batch | Clients | Requests/s | p50 ms | p99 ms | Mean batch |");
Console.WriteLine($"|---|---:|---:|---:|---:|---:|---:|");
foreach (var (name, shape, build) in networks)
{
    foreach (int maxBatch in new[] { 1, batchedMax })
    {
        foreach (int clients in clientCounts)
        {
            Generator.ManualSeed(1);
            var options = new ServingOptions { MaxBatchSize = maxBatch, MaxWait = TimeSpan.FromMilliseconds(waitMs), QueueCapacity = 4096 };
            using var registry = new ModelRegistry(options);
            registry.Add("m", build());
            var result = await RunAsync(registry, shape, clients, TimeSpan.FromSeconds(seconds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {maxBatch} | {clients} | {result.RequestsPerSecond:F0} | {result.P50:F2} | {result.P99:F2} | {result.MeanBatch:F1} |"));
        }
    }
}

return 0;

static async Task<(double RequestsPerSecond, double P50, double P99, double MeanBatch)> RunAsync(ModelRegistry registry, int[] shape, int clients, TimeSpan duration)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
    builder.Logging.ClearProviders();
    await using var app = builder.Build();
    app.MapLeptonServing(registry);
    await app.StartAsync();
    string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { BaseAddress = new Uri(address) };

    var example = new byte[shape.Aggregate(4, (a, d) => a * d)];
    new Random(1).NextBytes(example);
    for (int i = 0; i < example.Length; i += 4)
    {
        BitConverter.TryWriteBytes(example.AsSpan(i), (example[i] % 200) / 255f);
    }

    string shapeHeader = "1," + string.Join(",", shape);
    async Task<bool> Send()
    {
        var content = new ByteArrayContent(example);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("X-Tensor-Shape", shapeHeader);
        using var response = await http.PostAsync("/v1/models/m:predict", content);
        await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode;
    }

    // Warm-up: connections opened, code paths compiled; not measured.
    await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Send()));
    var batches = registry.MetricSet.BatchSize.WithLabels("m", "1");
    double batchCountBefore = batches.Count, batchSumBefore = batches.Sum;

    var latencies = new List<double>[clients];
    int failures = 0;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
    {
        var mine = latencies[c] = new List<double>(4096);
        while (clock.Elapsed < duration && mine.Count < 1_000_000)
        {
            long start = Stopwatch.GetTimestamp();
            bool ok = await Send();
            mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            if (!ok)
            {
                Interlocked.Increment(ref failures);
            }
        }
    }));
    double elapsed = clock.Elapsed.TotalSeconds;
    if (failures > 0)
    {
        throw new InvalidOperationException($"{failures} requests failed");
    }

    var all = latencies.SelectMany(l => l).Order().ToArray();
    double Percentile(double p) => all[Math.Min(all.Length - 1, (int)(p * all.Length))];
    double meanBatch = (batches.Sum - batchSumBefore) / Math.Max(1, batches.Count - batchCountBefore);
    await app.StopAsync();
    return (all.Length / elapsed, Percentile(0.50), Percentile(0.99), meanBatch);
}
