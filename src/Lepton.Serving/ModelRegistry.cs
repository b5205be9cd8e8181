// The models a server answers for, by name and version. A new version is warmed before requests reach
// it; a replaced version finishes its in-flight requests, then its worker stops and its model is disposed.
using System.Collections.Concurrent;
using Lepton.Nn;
using Prometheus;

namespace Lepton.Serving;

/// <summary>
/// The served models by name and version, with their batching workers and metrics. Models given to the registry
/// belong to it: it disposes each once its version is replaced or removed and its last request has finished.
/// </summary>
/// <example><code>
/// using var registry = new ModelRegistry(new ServingOptions { MaxBatchSize = 32 });
/// registry.Load("digits", "digits.lepton");
/// app.MapLeptonServing(registry);
/// // later, with no request dropped:
/// registry.Replace("digits", Model.Load("digits-v2.lepton"), version: 2);
/// </code></example>
public sealed class ModelRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, ServedVersion[]> models = new(StringComparer.Ordinal);
    private readonly object writeGate = new();
    private volatile bool stopping;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="defaults">Options for models added without their own (null: <see cref="ServingOptions"/>'s defaults).</param>
    public ModelRegistry(ServingOptions? defaults = null)
    {
        Defaults = defaults ?? new ServingOptions();
        Defaults.Validate("(defaults)");
    }

    /// <summary>Options for models added without their own.</summary>
    public ServingOptions Defaults { get; }

    /// <summary>The Prometheus collector registry holding this registry's serving metrics.</summary>
    public CollectorRegistry Metrics => MetricSet.Registry;

    /// <summary>The names of the models served, in order.</summary>
    public IReadOnlyList<string> Names => [.. models.Keys.Order(StringComparer.Ordinal)];

    /// <summary>True while at least one model is loaded and warmed and the registry is not stopping.</summary>
    public bool IsReady => !stopping && !models.IsEmpty;

    internal ServingMetrics MetricSet { get; } = new();

    /// <summary>Warms <paramref name="model"/> and serves it as a version of <paramref name="name"/>; the highest version answers requests without one.</summary>
    /// <param name="name">The model's name in URLs (letters, digits, '-', '_', '.').</param>
    /// <param name="model">The model; the registry disposes it when the version is replaced or removed.</param>
    /// <param name="version">The version number (positive).</param>
    /// <param name="options">Batching and limits for this version (null: <see cref="Defaults"/>).</param>
    /// <example><code>registry.Add("digits", model, version: 1);</code></example>
    public void Add(string name, Model model, long version = 1, ServingOptions? options = null) =>
        Publish(name, model, version, options, retireOthers: false);

    /// <summary>Loads a <c>.lepton</c> file and serves it as a version of <paramref name="name"/>.</summary>
    /// <param name="name">The model's name in URLs.</param>
    /// <param name="path">The saved model.</param>
    /// <param name="version">The version number (positive).</param>
    /// <param name="options">Batching and limits for this version (null: <see cref="Defaults"/>).</param>
    /// <example><code>registry.Load("digits", "digits.lepton", version: 3);</code></example>
    public void Load(string name, string path, long version = 1, ServingOptions? options = null) =>
        Add(name, Model.Load(path), version, options);

    /// <summary>
    /// Serves <paramref name="model"/> as <paramref name="version"/> and retires every other version of the model:
    /// requests already running finish on the old versions, new ones go to the new version.
    /// </summary>
    /// <param name="name">The model's name in URLs.</param>
    /// <param name="model">The new version's model; the registry owns it.</param>
    /// <param name="version">The new version number (positive, not already served).</param>
    /// <param name="options">Batching and limits for the new version (null: <see cref="Defaults"/>).</param>
    /// <example><code>registry.Replace("digits", Model.Load("digits-v2.lepton"), version: 2);</code></example>
    public void Replace(string name, Model model, long version, ServingOptions? options = null) =>
        Publish(name, model, version, options, retireOthers: true);

    /// <summary>Stops serving one version; its running requests finish first. Returns false when it was not served.</summary>
    /// <param name="name">The model's name.</param>
    /// <param name="version">The version to remove.</param>
    /// <example><code>registry.Remove("digits", version: 1);</code></example>
    public bool Remove(string name, long version)
    {
        ServedVersion? removed;
        lock (writeGate)
        {
            if (!models.TryGetValue(name, out var versions) || (removed = Array.Find(versions, v => v.Version == version)) is null)
            {
                return false;
            }

            var rest = versions.Where(v => v != removed).ToArray();
            if (rest.Length == 0)
            {
                models.TryRemove(name, out _);
            }
            else
            {
                models[name] = rest;
            }
        }

        removed.Retire();
        return true;
    }

    /// <summary>The versions of a model being served, lowest first (empty for an unknown name).</summary>
    /// <param name="name">The model's name.</param>
    /// <example><code>long latest = registry.Versions("digits")[^1];</code></example>
    public IReadOnlyList<long> Versions(string name) =>
        models.TryGetValue(name, out var versions) ? [.. versions.Select(v => v.Version)] : [];

    /// <summary>Stops taking requests, lets every running request finish, then disposes the models.</summary>
    /// <example><code>await registry.StopAsync();</code></example>
    public Task StopAsync()
    {
        List<ServedVersion> all;
        lock (writeGate)
        {
            stopping = true;
            all = [.. models.Values.SelectMany(v => v)];
            models.Clear();
        }

        foreach (var version in all)
        {
            version.Retire();
        }

        return Task.WhenAll(all.Select(v => v.Finished));
    }

    /// <inheritdoc cref="StopAsync"/>
    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    /// <summary>Leases the asked version (or the highest); throws a 404 or 503 <see cref="ServingException"/>.</summary>
    internal ServedVersion Acquire(string name, long? version)
    {
        while (true)
        {
            if (stopping)
            {
                throw new ServingException(503, $"model '{name}': the server is shutting down.");
            }

            if (!models.TryGetValue(name, out var versions))
            {
                throw new ServingException(404, $"model '{name}' is not served; served models: {string.Join(", ", Names.Select(n => $"'{n}'"))}.");
            }

            var served = version is null ? versions[^1] : Array.Find(versions, v => v.Version == version)
                ?? throw new ServingException(404, $"model '{name}' has no version {version}; served versions: {string.Join(", ", versions.Select(v => v.Version))}.");
            if (served.TryAcquire())
            {
                return served;
            }

            // Retired between the lookup and the lease: the registry already lists its successor.
            Thread.Yield();
        }
    }

    /// <summary>The model's current versions without leasing one (for metadata).</summary>
    internal ServedVersion[]? Find(string name) => models.TryGetValue(name, out var versions) ? versions : null;

    private void Publish(string name, Model model, long version, ServingOptions? options, bool retireOthers)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (string.IsNullOrEmpty(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"model name '{name}': use letters, digits, '-', '_' or '.' (it is part of URLs).", nameof(name));
        }

        if (version < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, $"model '{name}': version must be positive.");
        }

        options ??= Defaults;
        options.Validate(name);
        if (Array.Exists(Find(name) ?? [], v => v.Version == version))
        {
            throw new ArgumentException($"model '{name}' already serves version {version}; use a new version number.", nameof(version));
        }

        // Warm the new version before any request can reach it.
        var served = new ServedVersion(name, version, model, options, MetricSet);
        ServedVersion[] retired;
        lock (writeGate)
        {
            if (stopping)
            {
                served.Abandon();
                throw new InvalidOperationException($"model '{name}': the registry is stopping; no version can be added.");
            }

            var current = models.GetValueOrDefault(name) ?? [];
            if (Array.Exists(current, v => v.Version == version))
            {
                served.Abandon();
                throw new ArgumentException($"model '{name}' already serves version {version}; use a new version number.", nameof(version));
            }

            retired = retireOthers ? current : [];
            models[name] = retireOthers ? [served] : [.. current.Append(served).OrderBy(v => v.Version)];
        }

        foreach (var old in retired)
        {
            old.Retire();
        }
    }
}
