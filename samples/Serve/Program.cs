// Serves saved Lepton models over TensorFlow Serving's REST API, with dynamic batching and metrics.
//   dotnet run -c Release --project samples/Serve -- --model m.lepton --port 8501 --name mnist
//   dotnet run -c Release --project samples/Serve -- --model digits=d1.lepton --model digits@2=d2.lepton --model cifar=c.lepton
using System.Globalization;
using System.Net;
using Lepton.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

const string usage = """
    usage: Serve --model [NAME[@VERSION]=]PATH [--model ...] [--name NAME] [--port 8501] [--host 127.0.0.1]
                 [--max-batch 64] [--max-wait-ms 2] [--queue 1024] [--max-body-mb 16]
      --model       a saved .lepton model; repeat for several models or versions (NAME@2=PATH)
      --name        the name of a --model given without one (default: the file name)
      --max-batch   examples per Predict (1 turns dynamic batching off)
      --max-wait-ms how long a batch waits for more requests after its first
      --queue       requests that may wait per model version; more get 503 with Retry-After
    """;

var models = new List<string>();
string? defaultName = null;
int port = 8501;
string host = "127.0.0.1";
var options = new ServingOptions();
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        int Number() => int.Parse(Value(), NumberStyles.None, CultureInfo.InvariantCulture);
        switch (args[i])
        {
            case "--model": models.Add(Value()); break;
            case "--name": defaultName = Value(); break;
            case "--port": port = Number(); break;
            case "--host": host = Value(); break;
            case "--max-batch": options = options with { MaxBatchSize = Number() }; break;
            case "--max-wait-ms": options = options with { MaxWait = TimeSpan.FromMilliseconds(double.Parse(Value(), CultureInfo.InvariantCulture)) }; break;
            case "--queue": options = options with { QueueCapacity = Number() }; break;
            case "--max-body-mb": options = options with { MaxBodyBytes = Number() * 1024L * 1024 }; break;
            case "--help" or "-h": Console.WriteLine(usage); return 0;
            default: throw new ArgumentException($"unknown option '{args[i]}'");
        }
    }

    if (models.Count == 0)
    {
        throw new ArgumentException("give at least one --model");
    }
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"error: {e.Message}\n{usage}");
    return 2;
}

using var registry = new ModelRegistry(options);
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Parse(host), port));
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning); // no line per request
var app = builder.Build();
app.MapLeptonServing(registry);

// Listen first, so /healthz answers while the models load and warm; /readyz turns 200 once they have.
await app.StartAsync();
foreach (string spec in models)
{
    var (name, version, path) = ParseModel(spec, defaultName);
    registry.Load(name, path, version);
    Console.WriteLine($"serving '{name}' version {version} from {path}: POST http://{host}:{port}/v1/models/{name}:predict");
}

Console.WriteLine($"max batch {options.MaxBatchSize}, max wait {options.MaxWait.TotalMilliseconds} ms, queue {options.QueueCapacity}; Ctrl+C stops after in-flight requests finish");
await app.WaitForShutdownAsync();
await registry.StopAsync();
return 0;

// PATH, NAME=PATH or NAME@VERSION=PATH.
static (string Name, long Version, string Path) ParseModel(string spec, string? defaultName)
{
    int equals = spec.IndexOf('=');
    if (equals < 0)
    {
        return (defaultName ?? Path.GetFileNameWithoutExtension(spec), 1, spec);
    }

    string key = spec[..equals];
    int at = key.IndexOf('@');
    return at < 0
        ? (key, 1, spec[(equals + 1)..])
        : (key[..at], long.Parse(key[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture), spec[(equals + 1)..]);
}
