// Maps the serving endpoints onto an ASP.NET Core app: TF Serving's REST paths for predict and model
// status, /healthz, /readyz and /metrics. MapLeptonModel is the one-line entry for apps of their own.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Lepton.Nn;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Prometheus;

namespace Lepton.Serving;

/// <summary>Extension methods that serve Lepton models from an ASP.NET Core app.</summary>
/// <example><code>
/// var app = WebApplication.CreateBuilder(args).Build();
/// app.MapLeptonModel("digits", Model.Load("digits.lepton"));
/// app.Run();   // POST /v1/models/digits:predict
/// </code></example>
public static class ServingEndpoints
{
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, ModelRegistry> AppRegistries = new();

    /// <summary>
    /// Serves <paramref name="model"/> as version 1 of <paramref name="name"/> (or the next version when the name is already
    /// served here), mapping the endpoints on first use. The app's registry is returned, for swapping versions; it
    /// owns the model and is stopped, after in-flight requests finish, when the app stops.
    /// </summary>
    /// <param name="app">The app (or route group) to map onto.</param>
    /// <param name="name">The model's name in URLs.</param>
    /// <param name="model">The model to serve; the registry disposes it when it is replaced or the app stops.</param>
    /// <param name="options">Batching and limits (null: defaults).</param>
    /// <example><code>var registry = app.MapLeptonModel("digits", model, new ServingOptions { MaxBatchSize = 32 });</code></example>
    public static ModelRegistry MapLeptonModel(this IEndpointRouteBuilder app, string name, Model model, ServingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        bool created = false;
        var registry = AppRegistries.GetValue(app, _ =>
        {
            created = true;
            return new ModelRegistry();
        });
        if (created)
        {
            app.MapLeptonServing(registry);
            app.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(registry.Dispose);
        }

        var versions = registry.Versions(name);
        registry.Add(name, model, versions.Count == 0 ? 1 : versions[^1] + 1, options);
        return registry;
    }

    /// <summary>
    /// Maps <c>POST /v1/models/{name}[/versions/{v}]:predict</c>, <c>GET /v1/models/{name}[/versions/{v}]</c>,
    /// <c>GET /healthz</c>, <c>GET /readyz</c> and <c>GET /metrics</c> for the models of <paramref name="registry"/>.
    /// The caller owns the registry and stops it after the app.
    /// </summary>
    /// <param name="app">The app (or route group) to map onto.</param>
    /// <param name="registry">The models to serve.</param>
    /// <example><code>
    /// using var registry = new ModelRegistry();
    /// registry.Load("digits", "digits.lepton");
    /// app.MapLeptonServing(registry);
    /// </code></example>
    public static IEndpointRouteBuilder MapLeptonServing(this IEndpointRouteBuilder app, ModelRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(registry);
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapGet("/readyz", () => registry.IsReady
            ? Results.Json(new { status = "ready", models = registry.Names })
            : Results.Json(new { status = "not ready", models = registry.Names }, statusCode: 503));
        app.MapMetrics("/metrics", registry.Metrics);
        app.MapGet("/v1/models/{**path}", (HttpContext context, string path) => HandleAsync(context, registry, path, post: false));
        app.MapPost("/v1/models/{**path}", (HttpContext context, string path) => HandleAsync(context, registry, path, post: true));
        return app;
    }

    /// <summary>Parses <c>name[/versions/v][:verb]</c> and answers status or predict, recording the request's metrics.</summary>
    private static async Task HandleAsync(HttpContext context, ModelRegistry registry, string path, bool post)
    {
        long start = Stopwatch.GetTimestamp();
        string name = "";
        int status = 200;
        try
        {
            var (model, version, verb) = ParsePath(path);
            name = model;
            if (!post)
            {
                if (verb is not null)
                {
                    throw new ServingException(405, $"model '{name}': ':{verb}' needs POST");
                }

                var versions = registry.Find(name) ?? throw new ServingException(404, $"model '{name}' is not served; served models: {string.Join(", ", registry.Names.Select(n => $"'{n}'"))}.");
                var shown = version is null ? versions : versions.Where(v => v.Version == version).ToArray();
                if (shown.Length == 0)
                {
                    throw new ServingException(404, $"model '{name}' has no version {version}; served versions: {string.Join(", ", versions.Select(v => v.Version))}.");
                }

                await ResponseWriter.WriteStatusAsync(context, shown).ConfigureAwait(false);
                return;
            }

            if (verb != "predict")
            {
                throw new ServingException(verb is null ? 405 : 404, verb is null
                    ? $"model '{name}': POST needs ':predict' at the end of the path (/v1/models/{name}:predict)"
                    : $"model '{name}': ':{verb}' is not supported; use ':predict'");
            }

            await PredictAsync(context, registry, name, version).ConfigureAwait(false);
        }
        catch (ServingException e)
        {
            status = e.StatusCode;
            if (status == 503)
            {
                context.Response.Headers.RetryAfter = registry.Defaults.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            await ResponseWriter.WriteErrorAsync(context, status, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = 499; // the client went away; nothing to answer
        }
        catch (Exception e)
        {
            status = 500;
            await ResponseWriter.WriteErrorAsync(context, status, $"model '{name}': {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            var metrics = registry.MetricSet;
            string label = registry.Find(name) is null ? "unknown" : name;
            string code = status.ToString(CultureInfo.InvariantCulture);
            metrics.Requests.WithLabels(label, code).Inc();
            if (status >= 400)
            {
                metrics.Errors.WithLabels(label, code).Inc();
            }

            metrics.RequestLatency.WithLabels(label).Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    }

    private static async Task PredictAsync(HttpContext context, ModelRegistry registry, string name, long? version)
    {
        var served = registry.Acquire(name, version);
        bool queued = false;
        try
        {
            // Announced while its body is read, so a forming batch knows this request is coming.
            served.Batcher.Announce();
            var aborted = context.RequestAborted;
            var (batch, format) = await RequestReader.ReadAsync(context, served, aborted).ConfigureAwait(false);
            float[] output = [];
            if (batch.Rows > 0)
            {
                queued = true;
                output = await served.Batcher.PredictAsync(batch.Data, batch.Rows, aborted).ConfigureAwait(false);
            }

            await ResponseWriter.WritePredictionsAsync(context, output, batch.Rows, served.Batcher.OutputShape, format).ConfigureAwait(false);
        }
        finally
        {
            if (!queued)
            {
                served.Batcher.Withdraw();
            }

            served.Release();
        }
    }

    /// <summary>Splits <c>name</c>, <c>name:verb</c>, <c>name/versions/3</c>, <c>name/versions/3:verb</c> (and a trailing /metadata).</summary>
    private static (string Name, long? Version, string? Verb) ParsePath(string path)
    {
        string? verb = null;
        int colon = path.LastIndexOf(':');
        if (colon >= 0)
        {
            verb = path[(colon + 1)..];
            path = path[..colon];
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length > 0 && segments[^1] == "metadata")
        {
            segments = segments[..^1];
        }

        switch (segments)
        {
            case [var name]:
                return (name, null, verb);
            case [var name, "versions", var text] when long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long version):
                return (name, version, verb);
            case [var name, "versions", var text]:
                throw new ServingException(400, $"model '{name}': version '{text}' is not a positive integer");
            default:
                throw new ServingException(404, $"'/v1/models/{path}' is not a model path; use /v1/models/NAME[/versions/N][:predict]");
        }
    }
}
