// Dynamic batching on a real Kestrel server on 127.0.0.1: exact batched answers, 503 with Retry-After
// when the queue is full, a disconnected client freeing its slot, version swaps and graceful shutdown.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using Lepton.Nn;
using Lepton.Serving.Tests.Support;

namespace Lepton.Serving.Tests;

public sealed class BatchingTests
{
    private static HttpContent Binary(params float[][] rows)
    {
        var content = new ByteArrayContent(MemoryMarshal.AsBytes(rows.SelectMany(r => r).ToArray().AsSpan()).ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("X-Tensor-Shape", $"{rows.Length},1,4,4");
        return content;
    }

    private static async Task<float[]> ReadFloats(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return MemoryMarshal.Cast<byte, float>(await response.Content.ReadAsByteArrayAsync()).ToArray();
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "timed out waiting for the server");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task ConcurrentRequestsShareOneBatchAndGetTheirOwnRowsExactly()
    {
        using var registry = new ModelRegistry();
        var model = TestModels.SavedDense();
        float[][] rows = [.. Enumerable.Range(0, 8).Select(TestModels.Example)];
        var expected = TestModels.Expected(model, rows);
        registry.Add("tiny", model, options: new ServingOptions { MaxBatchSize = 8, MaxWait = TimeSpan.FromSeconds(5), AdaptiveWait = false });
        await using var server = await RunningServer.KestrelAsync(registry);

        var answers = await Task.WhenAll(rows.Select(async row => await ReadFloats(await server.Client.PostAsync("/v1/models/tiny:predict", Binary(row)))));

        Assert.Equal(expected, answers);
        string metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("lepton_serving_batch_size_count{model=\"tiny\",version=\"1\"} 1", metrics);
        Assert.Contains("lepton_serving_batch_size_sum{model=\"tiny\",version=\"1\"} 8", metrics);
    }

    [Fact]
    public async Task ALoneCallerDoesNotWaitForCompanyThatIsNotComing()
    {
        using var registry = new ModelRegistry(new ServingOptions { MaxBatchSize = 64, MaxWait = TimeSpan.FromSeconds(5) });
        Generator.ManualSeed(3);
        registry.Add("fresh", new Sequential([new Lepton.Nn.Layers.InputLayer(TestModels.InputShape), new Lepton.Nn.Layers.Flatten(), new Lepton.Nn.Layers.Dense(3)]));
        await using var server = await RunningServer.KestrelAsync(registry);

        var clock = Stopwatch.StartNew();
        var response = await server.Client.PostAsync("/v1/models/fresh:predict", Binary(TestModels.Example(0)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"a lone request took {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfter()
    {
        using var registry = new ModelRegistry(new ServingOptions { MaxBatchSize = 1, QueueCapacity = 2, RetryAfterSeconds = 3 });
        registry.Add("slow", TestModels.Slow(150));
        await using var server = await RunningServer.KestrelAsync(registry);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => server.Client.PostAsync("/v1/models/slow:predict", Binary(TestModels.Example(i)))));

        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, r => Assert.Equal(TimeSpan.FromSeconds(3), r.Headers.RetryAfter?.Delta));
        Assert.Contains("model 'slow': the queue is full (2 requests waiting)", await refused[0].Content.ReadAsStringAsync());
        Assert.All(responses.Except(refused), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        // At least the queue's two: a third fits only once the batcher has taken the first out of the queue, which on a
        // busy machine can happen after all ten requests arrived.
        Assert.InRange(responses.Length - refused.Count, 2, 10);
    }

    [Fact]
    public async Task AClientThatDisconnectsFreesItsSlot()
    {
        using var registry = new ModelRegistry(new ServingOptions { MaxBatchSize = 1, QueueCapacity = 1, MaxWait = TimeSpan.Zero });
        registry.Add("slow", TestModels.Slow(400));
        var batcher = registry.Find("slow")![0].Batcher;
        await using var server = await RunningServer.KestrelAsync(registry);

        var running = server.Client.PostAsync("/v1/models/slow:predict", Binary(TestModels.Example(0)));
        await Task.Delay(100); // the worker has taken the first request; the queue is empty again
        using var leaving = new CancellationTokenSource();
        var queued = server.Client.PostAsync("/v1/models/slow:predict", Binary(TestModels.Example(1)), leaving.Token);
        await WaitFor(() => batcher.QueueDepth == 1);
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        await WaitFor(() => batcher.QueueDepth == 0);

        var next = await server.Client.PostAsync("/v1/models/slow:predict", Binary(TestModels.Example(2)));

        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await running).StatusCode);
        string metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("lepton_serving_batch_size_count{model=\"slow\",version=\"1\"} 2", metrics);
    }

    [Fact]
    public async Task SwappingVersionsUnderLoadFailsNoRequest()
    {
        using var registry = new ModelRegistry(new ServingOptions { MaxBatchSize = 16, MaxWait = TimeSpan.FromMilliseconds(1) });
        var row = TestModels.Example(3);
        var models = Enumerable.Range(1, 5).Select(v => TestModels.SavedDense(seed: v)).ToList();
        var outputs = models.Select(m => TestModels.Expected(m, [row])[0]).ToList();
        registry.Add("tiny", models[0], version: 1);
        await using var server = await RunningServer.KestrelAsync(registry);

        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 8).Select(async _ =>
        {
            var seen = new List<(HttpStatusCode Status, float[] Output)>();
            while (!stop.IsCancellationRequested)
            {
                var response = await server.Client.PostAsync("/v1/models/tiny:predict", Binary(row));
                seen.Add((response.StatusCode, MemoryMarshal.Cast<byte, float>(await response.Content.ReadAsByteArrayAsync()).ToArray()));
            }

            return seen;
        }).ToList();
        for (int v = 2; v <= 5; v++)
        {
            await Task.Delay(150);
            registry.Replace("tiny", models[v - 1], version: v);
        }

        await Task.Delay(150);
        stop.Cancel();
        var seen = (await Task.WhenAll(clients)).SelectMany(s => s).ToList();

        Assert.All(seen, s => Assert.Equal(HttpStatusCode.OK, s.Status));
        // Which version answered, told by the outputs (a row's last bit can depend on the batch it ran in).
        int Version(float[] output) => outputs.FindIndex(o => o.Zip(output).All(p => MathF.Abs(p.First - p.Second) <= 1e-5f)) + 1;
        Assert.All(seen, s => Assert.NotEqual(0, Version(s.Output)));
        Assert.Contains(seen, s => Version(s.Output) == 1);
        Assert.Contains(seen, s => Version(s.Output) == 5);
        Assert.Equal([5L], registry.Versions("tiny"));
        await WaitFor(() => models.Take(4).All(m => m.Weights.Count == 0)); // replaced versions disposed after draining
        Assert.NotEmpty(models[4].Weights);
    }

    [Fact]
    public async Task GracefulShutdownFinishesInFlightRequests()
    {
        var registry = new ModelRegistry(new ServingOptions { MaxBatchSize = 1 });
        registry.Add("slow", TestModels.Slow(200));
        var batcher = registry.Find("slow")![0].Batcher;
        var server = await RunningServer.KestrelAsync(registry);
        var inFlight = Enumerable.Range(0, 4).Select(i => server.Client.PostAsync("/v1/models/slow:predict", Binary(TestModels.Example(i)))).ToList();
        await WaitFor(() => batcher.QueueDepth >= 2);

        var clock = Stopwatch.StartNew();
        await server.App.StopAsync();
        await registry.StopAsync();

        Assert.All(await Task.WhenAll(inFlight), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => server.Client.PostAsync("/v1/models/slow:predict", Binary(TestModels.Example(0))));
        await server.DisposeAsync();
    }
}
