// Every kind of bad request gets a 4xx with {"error": "..."} naming the model and the problem, and
// the server goes on answering good requests afterwards.
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Lepton.Serving.Tests.Support;

namespace Lepton.Serving.Tests;

public sealed class BadInputTests
{
    private const string Good = "{\"instances\": [[[[0,1,2,3],[0,1,2,3],[0,1,2,3],[0,1,2,3]]]]}";

    /// <summary>Each bad request, sent to the in-memory test server and to a real Kestrel server on loopback.</summary>
    public static TheoryData<bool, string, string, string, string?, int, string> Cases()
    {
        var cases = new TheoryData<bool, string, string, string, string?, int, string>();
        foreach (bool kestrel in new[] { false, true })
        {
            foreach (var (path, contentType, body, shape, status, words) in Requests)
            {
                cases.Add(kestrel, path, contentType, body, shape, status, words);
            }
        }

        return cases;
    }

    private static (string Path, string ContentType, string Body, string? Shape, int Status, string Words)[] Requests =>
    [
        // path, content type, body, X-Tensor-Shape, status, words the error must contain
        ("tiny:predict", "application/json", "{\"instances\": [1, 2", null, 400, "model 'tiny': malformed JSON"),
        ("tiny:predict", "application/json", "[1, 2]", null, 400, "must be a JSON object"),
        ("tiny:predict", "application/json", "{\"examples\": []}", null, 400, "needs \"instances\""),
        ("tiny:predict", "application/json", "{\"instances\": [], \"inputs\": []}", null, 400, "not both"),
        ("tiny:predict", "application/json", "{\"instances\": [[[[0,1,2,3],[0,\"x\",2,3],[0,1,2,3],[0,1,2,3]]]]}", null, 400, "instances[0][0][1][1]: expected a number (float32), got a string"),
        ("tiny:predict", "application/json", "{\"instances\": [[[[0,1,2],[0,1,2,3],[0,1,2,3],[0,1,2,3]]]]}", null, 400, "instances[0][0][0]: expected 4 values along dimension 2 of the example shape [1,4,4], got 3"),
        ("tiny:predict", "application/json", "{\"instances\": [[1, 2, 3]]}", null, 400, "instances[0]: expected 1 values along dimension 0"),
        ("tiny:predict", "application/json", "{\"instances\": [[[[0,1,2,3],[0,1,2,3],[0,1,2,3],[0,1,2,1e300]]]]}", null, 400, "out of float32 range"),
        ("tiny:predict", "application/json", "{\"inputs\": 5}", null, 400, "\"inputs\" must be an array"),
        ("tiny:predict", "application/octet-stream", "abcd", null, 400, "needs the header X-Tensor-Shape: N,1,4,4"),
        ("tiny:predict", "application/octet-stream", "abcd", "1,4,4", 400, "X-Tensor-Shape is [1,4,4]; expected [N,1,4,4]"),
        ("tiny:predict", "application/octet-stream", "abcd", "1,1,4,4", 400, "has 64 bytes; the body has 4"),
        ("tiny:predict", "application/octet-stream", "abcd", "one,1,4,4", 400, "not a list of non-negative integers"),
        ("tiny:predict", "image/png", "not a png at all", null, 400, "not a PNG or JPEG image"),
        ("tiny:predict", "multipart/form-data; boundary=xyz", "--xyz\r\nbroken", null, 400, "multipart body is malformed"),
        ("tiny:predict", "text/csv", "1,2,3", null, 415, "content type 'text/csv' is not supported"),
        ("tiny:predict", "application/json", new string(' ', 5000) + Good, null, 413, "the limit is 4096 bytes"),
        ("nothere:predict", "application/json", Good, null, 404, "model 'nothere' is not served; served models: 'tiny'"),
        ("tiny/versions/7:predict", "application/json", Good, null, 404, "model 'tiny' has no version 7; served versions: 1"),
        ("tiny/versions/x:predict", "application/json", Good, null, 400, "version 'x' is not a positive integer"),
        ("tiny:classify", "application/json", Good, null, 404, "':classify' is not supported"),
        ("tiny", "application/json", Good, null, 405, "POST needs ':predict'"),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequestsAreNamedAndTheServerKeepsServing(bool kestrel, string path, string contentType, string body, string? shape, int status, string words)
    {
        using var registry = new ModelRegistry(new ServingOptions { MaxBodyBytes = 4096 });
        registry.Add("tiny", TestModels.SavedDense());
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (shape is not null)
        {
            content.Headers.Add("X-Tensor-Shape", shape);
        }

        var response = await server.Client.PostAsync($"/v1/models/{path}", content);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(words, json.RootElement.GetProperty("error").GetString());
        var good = await server.Client.PostAsync("/v1/models/tiny:predict", new StringContent(Good, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ImagesOfTheWrongSizeOrForNonImageModelsAreRefused(bool kestrel)
    {
        using var registry = new ModelRegistry();
        registry.Add("tiny", TestModels.SavedDense());
        await using var server = await RunningServer.StartAsync(registry, kestrel);

        var content = new ByteArrayContent(Png.Encode(new byte[5 * 3], 5, 3, 1));
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var response = await server.Client.PostAsync("/v1/models/tiny:predict", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("model 'tiny': the image is 5x3 (width x height); the model expects 4x4", await response.Content.ReadAsStringAsync());
    }
}
