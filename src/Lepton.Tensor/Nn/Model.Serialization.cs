// Saving and loading. Save writes one zip file holding config.json (the architecture and the
// compile settings), model.safetensors (the weights, readable by other tools) and
// optimizer.safetensors (the optimizer state), and for a pruned model pruning_masks.safetensors (each
// masked weight's 0/1 mask under the weight's name), so Load restores a model that can keep training.
// All writes are atomic: a crash or a failed save never destroys the previous file. Loading is in
// Model.Loading.cs.
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lepton.IO;
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

public partial class Model
{
    private const string FormatName = "lepton.model";
    private const string WeightOrderKey = "lepton.weight_order";
    private const string PruningMasksEntry = "pruning_masks.safetensors";

    /// <summary>Saves architecture, weights and optimizer state to one file (Sequential and functional models).</summary>
    /// <example><code>model.Save("mnist.lepton");</code></example>
    public void Save(string path)
    {
        var config = ArchitectureConfig();
        if (Optimizer is not null && Loss is not null)
        {
            config["compile"] = new JsonObject
            {
                ["optimizer"] = ToJson(Optimizer.GetConfig()),
                ["loss"] = ToJson(Loss.GetConfig()),
                ["metrics"] = new JsonArray([.. Metrics.Select(m => (JsonNode)JsonValue.Create(MetricKey(m))!)]),
            };
        }

        AtomicFile.Write(path, stream =>
        {
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            using (var entry = zip.CreateEntry("config.json").Open())
            {
                JsonSerializer.Serialize(entry, config, new JsonSerializerOptions { WriteIndented = true });
            }

            using (var entry = zip.CreateEntry("model.safetensors").Open())
            {
                SafeTensors.Write(entry, Weights.Select(w => (w.Name, w.Value)));
            }

            if (Optimizer is not null)
            {
                using var entry = zip.CreateEntry("optimizer.safetensors").Open();
                SafeTensors.Write(entry, Optimizer.StateTensors());
            }

            if (Weights.Any(w => w.PruningMask is not null))
            {
                using var entry = zip.CreateEntry(PruningMasksEntry).Open();
                SafeTensors.Write(entry, Weights.Where(w => w.PruningMask is not null).Select(w => (w.Name, w.PruningMask!)));
            }
        });
    }

    /// <summary>Saves only the weights, in the safetensors format.</summary>
    /// <example><code>model.SaveWeights("mnist.safetensors");</code></example>
    public void SaveWeights(string path) =>
        SafeTensors.Save(path, Weights.Select(w => (w.Name, w.Value)), new Dictionary<string, string> { [WeightOrderKey] = string.Join("\n", Weights.Select(w => w.Name)) });

    /// <summary>Loads weights saved by <see cref="SaveWeights"/> (or any safetensors file with the same names and shapes).</summary>
    /// <example><code>model.LoadWeights("mnist.safetensors");</code></example>
    /// <remarks>Weights are matched by name; when the names differ (another instance of the same architecture),
    /// they are matched by position, as Keras does, with every shape checked.</remarks>
    public void LoadWeights(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        }

        var tensors = SafeTensors.Load(path, Device);
        try
        {
            BuildIfInputKnown();
            if (Weights.Any(w => !tensors.ContainsKey(w.Name))
                && SafeTensors.ReadMetadata(path).TryGetValue(WeightOrderKey, out var order)
                && order.Split('\n') is { } names && names.Length == Weights.Count && names.Length == tensors.Count && names.All(tensors.ContainsKey))
            {
                var byPosition = new Dictionary<string, Tensor>();
                for (int i = 0; i < names.Length; i++)
                {
                    byPosition[Weights[i].Name] = tensors[names[i]];
                }

                AssignWeights(byPosition, path);
                return;
            }

            AssignWeights(tensors, path);
        }
        finally
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    private void AssignWeights(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        BuildIfInputKnown();
        if (!Built)
        {
            throw new InvalidOperationException($"{Name}: build the model (call it once or declare its input shape) before loading weights.");
        }

        var missing = Weights.Where(w => !tensors.ContainsKey(w.Name)).Select(w => w.Name).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"'{source}' has no values for weights {string.Join(", ", missing)}; it was saved from a different model.");
        }

        var used = Weights.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        var unused = tensors.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
        {
            throw new InvalidDataException(
                $"'{source}' has weights {string.Join(", ", unused)} that the model does not use; it was saved from a different model or its configuration was changed.");
        }

        foreach (var w in Weights)
        {
            var value = tensors[w.Name];
            if (!Shapes.SameShape(value.ShapeRef, w.Value.ShapeRef))
            {
                throw new InvalidDataException($"'{source}': weight '{w.Name}' is saved with shape {Shapes.Format(value.ShapeRef)} but the model has {Shapes.Format(w.Value.ShapeRef)}.");
            }

            if (value.DType != w.Value.DType && !(value.DType.IsFloatingPoint() && w.Value.DType.IsFloatingPoint()))
            {
                throw new InvalidDataException($"'{source}': weight '{w.Name}' is saved as {value.DType.Name()} but the model's weight is {w.Value.DType.Name()}.");
            }
        }

        foreach (var w in Weights)
        {
            // A model saved after CastWeights loads the same way: a floating weight saved in 16 bits takes that type; any
            // other saved type converts to the model's (a float64 file loads into float32 weights).
            var saved = tensors[w.Name].DType;
            w.CastTo(saved.IsHalf() ? saved : DType.Float32);
            w.Assign(tensors[w.Name]);
        }
    }

    internal JsonObject ArchitectureConfig()
    {
        if (this is Distiller distiller)
        {
            throw new NotSupportedException(
                $"{Name}: a Distiller is not saved; save the model it trained with distiller.Student.Save(path) ({distiller.Student.Name}).");
        }

        if (this is not Sequential && !IsFunctional)
        {
            throw new NotSupportedException($"{Name}: a subclassed model's architecture is code; save it with SaveWeights and rebuild it with its constructor before LoadWeights.");
        }

        BuildIfInputKnown();
        if (!Built || InputShape is null)
        {
            throw new InvalidOperationException($"{Name}: the model must be built (called once, or given an input shape) before it is saved.");
        }

        var layers = Layers;
        var config = new JsonObject
        {
            ["format"] = FormatName,
            ["version"] = 1,
            ["class_name"] = IsFunctional ? "Functional" : "Sequential",
            ["name"] = Name,
            ["input_shape"] = new JsonArray([.. InputShape.Select(d => (JsonNode)d)]),
            ["input_dtype"] = BuiltInputType.Name(),
            ["layers"] = new JsonArray([.. layers.Select(l => (JsonNode)new JsonObject { ["class_name"] = l.GetType().Name, ["config"] = ToJson(l.GetConfig()) })]),
        };

        if (IsFunctional)
        {
            var order = GraphOrder!.ToList();
            config["nodes"] = new JsonArray([.. order.Select(n => (JsonNode)new JsonObject
            {
                ["layer"] = n.Layer is null ? null : layers.ToList().IndexOf(n.Layer),
                ["inputs"] = new JsonArray([.. n.Inputs.Select(i => (JsonNode)order.IndexOf(i))]),
                ["shape"] = new JsonArray([.. n.Shape.Select(d => (JsonNode)d)]),
                ["dtype"] = n.DType.Name(),
            })]);
            config["inputs"] = new JsonArray([.. GraphInputs!.Select(i => (JsonNode)order.IndexOf(i))]);
            config["outputs"] = new JsonArray([.. GraphOutputs!.Select(o => (JsonNode)order.IndexOf(o))]);
        }

        return config;
    }

    /// <summary>Builds a Sequential model whose first layer declares its input shape.</summary>
    internal void BuildIfInputKnown()
    {
        if (!Built && this is Sequential { DeclaredShape: { } shape })
        {
            EnsureBuilt([shape]);
        }
    }

    private static string MetricKey(Metric m) => m is TopKAccuracy k ? $"top{k.K}_accuracy" : m.Name;

    private static JsonNode ToJson(Dictionary<string, object?> values) =>
        JsonSerializer.SerializeToNode(values) ?? new JsonObject();

    private static Dictionary<string, object?> FromJson(JsonNode node)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, value) in node.AsObject())
        {
            result[key] = value switch
            {
                null => null,
                JsonObject o => FromJson(o),
                JsonValue v when v.TryGetValue(out bool b) => b,
                JsonValue v when v.TryGetValue(out string? s) => s,
                JsonValue v => v.GetValue<double>(),
                _ => value.ToJsonString(),
            };
        }

        return result;
    }
}
