// Typed access to a layer's saved configuration (the JSON written by GetConfig), with errors that
// name the layer, the key and what is wrong with its value (InvalidDataException, never JSON's own).
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
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"The saved configuration of a {className} layer is a JSON {element.ValueKind}, not an object.");
        }
    }

    /// <summary>The layer's class name, e.g. <c>Conv2D</c>.</summary>
    public string ClassName { get; }

    /// <summary>The saved name.</summary>
    public string Name => String("name");

    /// <summary>True when the key is present and not null.</summary>
    /// <param name="key">The configuration key.</param>
    public bool Has(string key) => element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>A 32-bit integer value.</summary>
    /// <param name="key">The configuration key.</param>
    public int Int(string key) => AsInt(Get(key), key);

    /// <summary>A finite float value.</summary>
    /// <param name="key">The configuration key.</param>
    public float Float(string key)
    {
        var v = Get(key);
        return v.ValueKind == JsonValueKind.Number && v.TryGetSingle(out float f) && float.IsFinite(f) ? f : throw Invalid(key, v, "a finite number");
    }

    /// <summary>A boolean value.</summary>
    /// <param name="key">The configuration key.</param>
    public bool Bool(string key)
    {
        var v = Get(key);
        return v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Invalid(key, v, "true or false");
    }

    /// <summary>A string value.</summary>
    /// <param name="key">The configuration key.</param>
    public string String(string key)
    {
        var v = Get(key);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Invalid(key, v, "a string");
    }

    /// <summary>An integer array value.</summary>
    /// <param name="key">The configuration key.</param>
    public int[] Ints(string key)
    {
        var v = Get(key);
        if (v.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(key, v, "an array of integers");
        }

        return [.. v.EnumerateArray().Select(e => AsInt(e, key))];
    }

    /// <summary>An integer array value with exactly <paramref name="length"/> elements.</summary>
    /// <param name="key">The configuration key.</param>
    /// <param name="length">The required number of elements.</param>
    public int[] Ints(string key, int length)
    {
        var values = Ints(key);
        return values.Length == length ? values : throw Invalid(key, Get(key), $"an array of {length} integers");
    }

    /// <summary>An optional unsigned integer.</summary>
    /// <param name="key">The configuration key.</param>
    public ulong? OptionalULong(string key)
    {
        if (!Has(key))
        {
            return null;
        }

        var v = Get(key);
        return v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out ulong u) ? u : throw Invalid(key, v, "an unsigned integer");
    }

    /// <summary>A nested layer, saved as <c>{"class_name": ..., "config": ...}</c> (the layer a wrapper holds).</summary>
    /// <param name="key">The configuration key.</param>
    /// <example><code>var inner = c.Layer("layer");</code></example>
    public Layer Layer(string key)
    {
        var nested = Get(key);
        if (nested.ValueKind != JsonValueKind.Object
            || !nested.TryGetProperty("class_name", out var className) || className.ValueKind != JsonValueKind.String
            || !nested.TryGetProperty("config", out var config) || config.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(key, nested, "a layer's {\"class_name\": ..., \"config\": {...}}");
        }

        return LayerRegistry.Create(new LayerConfig(className.GetString()!, config.Clone()));
    }

    /// <summary>The configuration of a layer as its saved form (how wrappers save and copy the layer they hold).</summary>
    internal static Dictionary<string, object?> Nested(Layer layer) => new() { ["class_name"] = layer.GetType().Name, ["config"] = layer.GetConfig() };

    /// <summary>A configuration read back from a dictionary written by GetConfig (with some keys replaced).</summary>
    internal static LayerConfig From(string className, Dictionary<string, object?> values) => new(className, JsonSerializer.SerializeToElement(values));

    private int AsInt(JsonElement v, string key) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Invalid(key, v, "a 32-bit integer");

    private JsonElement Get(string key) =>
        element.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw new InvalidDataException($"The saved configuration of {Describe()} has no '{key}'.");

    private InvalidDataException Invalid(string key, JsonElement value, string expected)
    {
        string text = value.GetRawText();
        return new($"The saved configuration of {Describe()} has '{key}' = {(text.Length > 40 ? text[..40] + "..." : text)}, not {expected}.");
    }

    private string Describe() =>
        element.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? $"{ClassName} layer '{n.GetString()}'" : $"a {ClassName} layer";
}
