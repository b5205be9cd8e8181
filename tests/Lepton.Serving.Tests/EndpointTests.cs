// The REST endpoints in memory (TestServer): TF Serving's row and columnar JSON, the binary tensor,
// image uploads, model status, health, readiness and metrics.
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Lepton.Nn;
using Lepton.Serving.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace Lepton.Serving.Tests;

public sealed class EndpointTests
{
    private static float[][] Rows(int count) => [.. Enumerable.Range(0, count).Select(TestModels.Example)];

    private static string Nested(float[] example) =>
        "[[" + string.Join(",", Enumerable.Range(0, 4).Select(r => "[" + string.Join(",", example.Skip(r * 4).Take(4).Select(v => v.ToString("R"))) + "]")) + "]]";

    private static float[][] ReadRows(JsonElement array) =>
        [.. array.EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetSingle()).ToArray())];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RowFormatAnswersArePredictsExactly(bool kestrel)
    {
        using var registry = new ModelRegistry();
        var model = TestModels.SavedDense();
        var rows = Rows(3);
        var expected = TestModels.Expected(model, rows);
        registry.Add("tiny", model);
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        string body = "{\"instances\": [" + string.Join(",", rows.Select(Nested)) + "]}";
        var response = await server.Client.PostAsync("/v1/models/tiny:predict", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expected, ReadRows(json.RootElement.GetProperty("predictions")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ColumnarAndFlatAndNamedInputsGiveTheSameOutputs(bool kestrel)
    {
        using var registry = new ModelRegistry();
        var model = TestModels.SavedDense();
        var rows = Rows(2);
        var expected = TestModels.Expected(model, rows);
        registry.Add("tiny", model);
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        string columnar = "{\"inputs\": {\"x\": [" + string.Join(",", rows.Select(Nested)) + "]}}";
        string flat = "{\"instances\": [" + string.Join(",", rows.Select(r => "[" + string.Join(",", r.Select(v => v.ToString("R"))) + "]")) + "]}";
        var columns = await server.Client.PostAsync("/v1/models/tiny/versions/1:predict", new StringContent(columnar, Encoding.UTF8, "application/json"));
        var flatRows = await server.Client.PostAsync("/v1/models/tiny:predict", new StringContent(flat, Encoding.UTF8, "application/json"));

        using var columnsJson = JsonDocument.Parse(await columns.Content.ReadAsStringAsync());
        using var flatJson = JsonDocument.Parse(await flatRows.Content.ReadAsStringAsync());
        Assert.Equal(expected, ReadRows(columnsJson.RootElement.GetProperty("outputs")));
        Assert.Equal(expected, ReadRows(flatJson.RootElement.GetProperty("predictions")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BinaryTensorAnswersWithABinaryTensor(bool kestrel)
    {
        using var registry = new ModelRegistry();
        var model = TestModels.SavedDense();
        var rows = Rows(5);
        var expected = TestModels.Expected(model, rows);
        registry.Add("tiny", model);
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        var content = new ByteArrayContent(MemoryMarshal.AsBytes(rows.SelectMany(r => r).ToArray().AsSpan()).ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("X-Tensor-Shape", "5,1,4,4");
        var response = await server.Client.PostAsync("/v1/models/tiny:predict", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("5,3", response.Headers.GetValues("X-Tensor-Shape").Single());
        var output = MemoryMarshal.Cast<byte, float>(await response.Content.ReadAsByteArrayAsync()).ToArray();
        Assert.Equal(expected.SelectMany(r => r).ToArray(), output);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ImagesAreScaledToUnitRangeOnePerRow(bool kestrel)
    {
        using var registry = new ModelRegistry();
        var model = TestModels.SavedDense();
        byte[][] pixels = [[.. Enumerable.Range(0, 16).Select(i => (byte)(i * 16))], [.. Enumerable.Range(0, 16).Select(i => (byte)(255 - i * 7))]];
        var expected = TestModels.Expected(model, [.. pixels.Select(p => p.Select(b => b / 255f).ToArray())]);
        registry.Add("tiny", model);
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        var png = new ByteArrayContent(Png.Encode(pixels[0], 4, 4, 1));
        png.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var single = await server.Client.PostAsync("/v1/models/tiny:predict", png);
        using var form = new MultipartFormDataContent();
        for (int i = 0; i < 2; i++)
        {
            var part = new ByteArrayContent(Png.Encode(pixels[i], 4, 4, 1));
            part.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(part, "image", $"digit{i}.png");
        }

        var multipart = await server.Client.PostAsync("/v1/models/tiny:predict", form);

        using var singleJson = JsonDocument.Parse(await single.Content.ReadAsStringAsync());
        using var multipartJson = JsonDocument.Parse(await multipart.Content.ReadAsStringAsync());
        Assert.Equal(expected[..1], ReadRows(singleJson.RootElement.GetProperty("predictions")));
        Assert.Equal(expected, ReadRows(multipartJson.RootElement.GetProperty("predictions")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StatusGivesVersionsAndSignature(bool kestrel)
    {
        using var registry = new ModelRegistry();
        registry.Add("tiny", TestModels.SavedDense(), version: 1);
        registry.Add("tiny", TestModels.SavedDense(seed: 2), version: 4);
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        using var json = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/models/tiny"));
        var status = json.RootElement.GetProperty("model_version_status");
        Assert.Equal(["4", "1"], status.EnumerateArray().Select(s => s.GetProperty("version").GetString()));
        Assert.All(status.EnumerateArray(), s => Assert.Equal("AVAILABLE", s.GetProperty("state").GetString()));
        var metadata = json.RootElement.GetProperty("metadata");
        Assert.Equal([-1, 1, 4, 4], metadata.GetProperty("inputs").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([-1, 3], metadata.GetProperty("outputs").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal("DT_FLOAT", metadata.GetProperty("inputs").GetProperty("dtype").GetString());
        using var one = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/models/tiny/versions/1"));
        Assert.Equal("1", one.RootElement.GetProperty("model_version_status")[0].GetProperty("version").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HealthIsUpAtOnceAndReadinessWaitsForAModel(bool kestrel)
    {
        using var registry = new ModelRegistry();
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/readyz")).StatusCode);
        registry.Add("tiny", TestModels.SavedDense());
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/readyz")).StatusCode);
        await registry.StopAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/readyz")).StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MetricsListRequestsErrorsLatencyBatchesAndQueue(bool kestrel)
    {
        using var registry = new ModelRegistry();
        registry.Add("tiny", TestModels.SavedDense());
        await using var server = await RunningServer.StartAsync(registry, kestrel);
        string body = "{\"instances\": [" + Nested(TestModels.Example(0)) + "]}";
        await server.Client.PostAsync("/v1/models/tiny:predict", new StringContent(body, Encoding.UTF8, "application/json"));
        await server.Client.PostAsync("/v1/models/tiny:predict", new StringContent("{", Encoding.UTF8, "application/json"));

        string text = await server.Client.GetStringAsync("/metrics");

        Assert.Contains("lepton_serving_requests_total{model=\"tiny\",code=\"200\"} 1", text);
        Assert.Contains("lepton_serving_request_errors_total{model=\"tiny\",code=\"400\"} 1", text);
        Assert.Contains("lepton_serving_request_duration_seconds_bucket{model=\"tiny\",le=", text);
        Assert.Contains("lepton_serving_predict_duration_seconds_count{model=\"tiny\",version=\"1\"} 1", text);
        Assert.Contains("lepton_serving_batch_size_bucket{model=\"tiny\",version=\"1\",le=\"1\"} 1", text);
        Assert.Contains("lepton_serving_queue_depth{model=\"tiny\",version=\"1\"} 0", text);
    }

    [Fact]
    public async Task MapLeptonModelServesFromAnAppOfItsOwn()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        var model = TestModels.SavedDense();
        var expected = TestModels.Expected(model, [TestModels.Example(0)]);
        var registry = app.MapLeptonModel("tiny", model, new ServingOptions { MaxBatchSize = 8 });
        app.MapGet("/", () => "the app's own page");
        await app.StartAsync();
        var client = app.GetTestClient();

        string body = "{\"instances\": [" + Nested(TestModels.Example(0)) + "]}";
        var response = await client.PostAsync("/v1/models/tiny:predict", new StringContent(body, Encoding.UTF8, "application/json"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(expected, ReadRows(json.RootElement.GetProperty("predictions")));
        Assert.Equal("the app's own page", await client.GetStringAsync("/"));
        await app.StopAsync();
        Assert.False(registry.IsReady);
        Assert.Empty(model.Weights);
    }
}
