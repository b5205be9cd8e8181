// Typed access to a layer's saved configuration (the JSON written by GetConfig), with errors that
// name the layer and the missing or malformed key.
using System.Text.Json;

namespace Lepton.Nn;

/// <summary>A saved layer configuration.</summary>
public sealed class LayerConfig
{
    private readonly JsonElement element;

    internal LayerConfig(string className, JsonElement element)
    {
        ClassName = className;
        this.element = element;
    }

    /// <summary>The layer's class name, e.g. <c>Conv2D</c>.</summary>
    public string ClassName { get; }

    /// <summary>The saved name.</summary>
    public string Name => String("name");

    /// <summary>True when the key is present and not null.</summary>
    public bool Has(string key) => element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>An integer value.</summary>
    public int Int(string key) => Get(key).GetInt32();

    /// <summary>A float value.</summary>
    public float Float(string key) => Get(key).GetSingle();

    /// <summary>A boolean value.</summary>
    public bool Bool(string key) => Get(key).GetBoolean();

    /// <summary>A string value.</summary>
    public string String(string key) => Get(key).GetString() ?? throw Missing(key);

    /// <summary>An integer array value.</summary>
    public int[] Ints(string key) => [.. Get(key).EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>An optional unsigned integer.</summary>
    public ulong? OptionalULong(string key) => Has(key) ? Get(key).GetUInt64() : null;

    private JsonElement Get(string key) => element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : throw Missing(key);

    private InvalidDataException Missing(string key) => new($"The saved configuration of a {ClassName} layer has no valid '{key}'.");
}
