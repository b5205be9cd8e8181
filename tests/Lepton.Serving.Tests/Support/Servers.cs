// Starts the serving endpoints for a test: in memory through ASP.NET Core's TestServer, or on a real
// Kestrel server listening on 127.0.0.1 with a port the system picks.
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lepton.Serving.Tests.Support;

/// <summary>A running app with a client pointed at it; disposing stops the app (the registry belongs to the caller).</summary>
public sealed class RunningServer(WebApplication app, HttpClient client) : IAsyncDisposable
{
    public WebApplication App { get; } = app;

    public HttpClient Client { get; } = client;

    /// <summary>The endpoints on a real Kestrel server on loopback, or in memory through TestServer.</summary>
    public static Task<RunningServer> StartAsync(ModelRegistry registry, bool kestrel) =>
        kestrel ? KestrelAsync(registry) : InMemoryAsync(registry);

    public static async Task<RunningServer> InMemoryAsync(ModelRegistry registry)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapLeptonServing(registry);
        await app.StartAsync();
        return new RunningServer(app, app.GetTestClient());
    }

    public static async Task<RunningServer> KestrelAsync(ModelRegistry registry, TimeSpan? shutdownTimeout = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(30));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapLeptonServing(registry);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(address) };
        return new RunningServer(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
