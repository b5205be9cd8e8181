// Loading a model saved by Model.Save: each zip entry is read only up to the size its header declares
// and checked against its CRC-32, config.json is validated field by field, the architecture is rebuilt
// within limits the saved weights set, and every failure is an InvalidDataException naming the file.
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Lepton.IO;
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>The most a deflate stream can expand its input (about 1032:1), bounding what an entry may declare.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>Loads a model saved by <see cref="Save"/>: architecture, weights and, if compiled, optimizer and its state.</summary>
    /// <param name="path">The <c>.lepton</c> file.</param>
    /// <param name="device">Where the weights are created (default: <see cref="Device.Default"/>).</param>
    /// <example><code>var model = Model.Load("mnist.lepton"); model.Fit(x, y); // keeps training</code></example>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is damaged or does not describe a loadable model; the message names the file and the problem.</exception>
    public static Model Load(string path, Device? device = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            return LoadArchive(file, path, device ?? Device.Default);
        }
        catch (InvalidDataException e) when (e.Message.Contains(path, StringComparison.Ordinal))
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or JsonException or FormatException or InvalidOperationException or KeyNotFoundException
            or IndexOutOfRangeException or ArgumentException or NullReferenceException or InvalidCastException or OverflowException
            or NotSupportedException or IOException)
        {
            string problem = e switch
            {
                InvalidDataException => e.Message,
                ArgumentException => $"its configuration is invalid: {e.Message}",
                _ => $"it is damaged ({e.GetType().Name}: {e.Message})",
            };
            throw new InvalidDataException($"Model file '{path}': {problem}", e);
        }
    }

    private static Model LoadArchive(FileStream file, string path, Device device)
    {
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Model file '{path}' is not a saved model (not a zip archive: {e.Message}).", e);
        }

        using (zip)
        {
            var config = ParseConfig(ReadEntry(zip, "config.json", path, file.Length));
            string weightsSource = $"{path}!model.safetensors";
            byte[] weightBytes = ReadEntry(zip, "model.safetensors", path, file.Length);
            Model model;
            using (LoadLimits.Begin(SafeTensors.CountElements(weightBytes, weightsSource)))
            {
                model = FromArchitecture(config, device);
            }

            try
            {
                var weights = SafeTensors.Read(weightBytes, weightsSource, model.Device);
                try
                {
                    model.AssignWeights(weights, weightsSource);
                }
                finally
                {
                    DisposeAll(weights);
                }

                foreach (var layer in model.Layers.OfType<Quantization.QuantizedLayer>())
                {
                    // Scales and zero points are checked now, so a damaged file fails here and not at the first call.
                    layer.Prepare();
                }

                LoadPruningMasks(model, zip, path, file.Length);
                LoadCompile(model, config, zip, path, file.Length);
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
    }

    /// <summary>Attaches the pruning masks a pruned model was saved with (each named as its weight, same shape).</summary>
    private static void LoadPruningMasks(Model model, ZipArchive zip, string path, long fileLength)
    {
        if (zip.GetEntry(PruningMasksEntry) is null)
        {
            return;
        }

        string source = $"{path}!{PruningMasksEntry}";
        var masks = SafeTensors.Read(ReadEntry(zip, PruningMasksEntry, path, fileLength), source, model.Device);
        try
        {
            var byName = model.Weights.ToDictionary(w => w.Name, StringComparer.Ordinal);
            foreach (var (name, mask) in masks)
            {
                if (!byName.TryGetValue(name, out var weight))
                {
                    throw new InvalidDataException($"'{source}' has a pruning mask for '{name}', which is not a weight of the model.");
                }

                if (!Shapes.SameShape(mask.ShapeRef, weight.Value.ShapeRef))
                {
                    throw new InvalidDataException($"'{source}': the pruning mask of '{name}' is saved with shape {Shapes.Format(mask.ShapeRef)} but the weight is {Shapes.Format(weight.Value.ShapeRef)}.");
                }

                weight.PruningMask?.Dispose();
                using (Tensor.NoGrad())
                {
                    weight.PruningMask = mask.To(weight.Value.DType).DetachFromScope();
                }
            }
        }
        finally
        {
            DisposeAll(masks);
        }
    }

    private static void LoadCompile(Model model, JsonObject config, ZipArchive zip, string path, long fileLength)
    {
        bool hasState = zip.GetEntry("optimizer.safetensors") is not null;
        if (config["compile"] is not { } compileNode)
        {
            if (hasState)
            {
                throw new InvalidDataException("it has optimizer.safetensors but config.json has no compile settings; one of them is damaged.");
            }

            return;
        }

        var compile = RequireObject(compileNode, "config.json 'compile'");
        var optimizerConfig = RequireObject(compile["optimizer"], "config.json 'compile.optimizer'");
        var optimizer = Optimizer.FromConfig(FromJson(optimizerConfig));
        var loss = Nn.Loss.FromConfig(FromJson(RequireObject(compile["loss"], "config.json 'compile.loss'")));
        var metrics = RequireArray(compile, "metrics", "config.json 'compile'").Select(m => Metric.FromName(RequireString(m, "a metric in config.json 'compile.metrics'"))).ToArray();
        long iterations = optimizerConfig["iterations"] is { } it ? RequireLong(it, "config.json 'compile.optimizer.iterations'") : 0;
        if (iterations < 0)
        {
            throw new InvalidDataException($"config.json 'compile.optimizer.iterations' is {iterations}; it cannot be negative.");
        }

        if (!hasState)
        {
            throw new InvalidDataException("config.json has compile settings but there is no optimizer.safetensors; the archive is incomplete.");
        }

        model.Compile(optimizer, loss, metrics);
        string source = $"{path}!optimizer.safetensors";
        var state = SafeTensors.Read(ReadEntry(zip, "optimizer.safetensors", path, fileLength), source, model.Device);
        try
        {
            optimizer.CheckState(model.Weights, state, source);
            optimizer.LoadState(model.TrainableWeights, state, iterations);
        }
        finally
        {
            DisposeAll(state);
        }
    }

    private static JsonObject ParseConfig(byte[] bytes)
    {
        if (!Utf8.IsValid(bytes))
        {
            throw new InvalidDataException("config.json is not valid UTF-8.");
        }

        JsonNode? config;
        try
        {
            config = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"config.json is not valid JSON: {e.Message}", e);
        }

        var result = RequireObject(config, "config.json");
        if (result["format"] is not JsonValue format || format.GetValueKind() != JsonValueKind.String || format.GetValue<string>() != FormatName)
        {
            throw new InvalidDataException($"config.json does not declare \"format\": \"{FormatName}\"; it is not a saved model.");
        }

        return result;
    }

    internal static Model FromArchitecture(JsonObject config, Device device)
    {
        var layerNodes = RequireArray(config, "layers", "config.json");
        var layers = new List<Layer>();
        Model? model = null;
        try
        {
            for (int i = 0; i < layerNodes.Count; i++)
            {
                string where = $"config.json layer {i}";
                var node = RequireObject(layerNodes[i], where);
                using var doc = JsonDocument.Parse(RequireObject(node["config"], $"{where} 'config'").ToJsonString());
                var layer = LayerRegistry.Create(new LayerConfig(RequireString(node["class_name"], $"{where} 'class_name'"), doc.RootElement.Clone()));
                layers.Add(layer);
                layer.Device = device;
            }

            int[] inputShape = RequireSizes(config, "input_shape", "config.json");
            string className = RequireString(config["class_name"], "config.json 'class_name'");
            string? name = config["name"] is null ? null : RequireString(config["name"], "config.json 'name'");
            if (className == "Functional")
            {
                var nodes = new List<SymbolicTensor>();
                foreach (var n in RequireArray(config, "nodes", "config.json"))
                {
                    string where = $"config.json node {nodes.Count}";
                    var node = RequireObject(n, where);
                    var inputs = RequireArray(node, "inputs", where).Select(i => nodes[RequireIndex(i, nodes.Count, $"{where} input")]).ToArray();
                    if (node["layer"] is { } index)
                    {
                        nodes.Add(layers[RequireIndex(index, layers.Count, $"{where} layer")].Apply(inputs));
                        continue;
                    }

                    int[] shape = RequireSizes(node, "shape", where);
                    LoadLimits.CheckExample(where, shape);
                    nodes.Add(Keras.Input(shape, RequireDType(node["dtype"], $"{where} 'dtype'")));
                }

                model = new Model(
                    [.. RequireArray(config, "inputs", "config.json").Select(i => nodes[RequireIndex(i, nodes.Count, "config.json input")])],
                    [.. RequireArray(config, "outputs", "config.json").Select(i => nodes[RequireIndex(i, nodes.Count, "config.json output")])],
                    name);
            }
            else if (className == "Sequential")
            {
                model = new Sequential(layers, name);
            }
            else
            {
                throw new InvalidDataException($"config.json 'class_name' is '{className}'; a saved model is Sequential or Functional.");
            }

            model.Device = device;
            var inputType = RequireDType(config["input_dtype"], "config.json 'input_dtype'");
            LoadLimits.CheckExample("the model's input", inputShape);
            using (Tensor.NewScope())
            using (Tensor.NoGrad())
            {
                model.Call(Tensor.Zeros([1, .. inputShape], inputType, device));
            }

            foreach (var unused in layers.Except(model.Layers))
            {
                unused.Dispose();
            }

            return model;
        }
        catch
        {
            model?.Dispose();
            foreach (var layer in layers)
            {
                layer.Dispose();
            }

            throw;
        }
    }

    private static byte[] ReadEntry(ZipArchive zip, string name, string path, long fileLength)
    {
        var entries = zip.Entries.Where(e => e.FullName == name).ToList();
        if (entries.Count != 1)
        {
            throw new InvalidDataException(entries.Count == 0
                ? $"Model file '{path}' has no {name}; it is incomplete or not a saved model."
                : $"Model file '{path}' has {entries.Count} entries named {name}; it is damaged.");
        }

        var entry = entries[0];
        string what = $"Model file '{path}': entry {name}";
        if (entry.CompressedLength < 0 || entry.CompressedLength > fileLength)
        {
            throw new InvalidDataException($"{what} declares {entry.CompressedLength} compressed bytes in a {fileLength}-byte file; the archive is damaged.");
        }

        if (entry.Length < 0 || entry.Length > (entry.CompressedLength * MaxDeflateRatio) + 1024)
        {
            throw new InvalidDataException(
                $"{what} declares {entry.Length} bytes from {entry.CompressedLength} compressed bytes, more than deflate can produce; the archive is damaged.");
        }

        byte[] bytes;
        using (var stream = entry.Open())
        {
            bytes = DeclaredLength.Read(stream, entry.Length, what);
        }

        uint crc = Crc32.Compute(bytes);
        if (crc != entry.Crc32)
        {
            throw new InvalidDataException($"{what} fails its CRC-32 check (stored {entry.Crc32:x8}, computed {crc:x8}); the file is corrupt.");
        }

        return bytes;
    }

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }

    private static JsonObject RequireObject(JsonNode? node, string where) =>
        node as JsonObject ?? throw new InvalidDataException($"{where} is {Describe(node)}, not a JSON object.");

    private static JsonArray RequireArray(JsonObject parent, string key, string where) =>
        parent[key] as JsonArray ?? throw new InvalidDataException($"{where} '{key}' is {Describe(parent[key])}, not a JSON array.");

    private static string RequireString(JsonNode? node, string where) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new InvalidDataException($"{where} is {Describe(node)}, not a string.");

    private static long RequireLong(JsonNode? node, string where) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long n) ? n : throw new InvalidDataException($"{where} is {Describe(node)}, not an integer.");

    private static int[] RequireSizes(JsonObject parent, string key, string where)
    {
        var array = RequireArray(parent, key, where);
        var sizes = new int[array.Count];
        for (int i = 0; i < sizes.Length; i++)
        {
            long size = RequireLong(array[i], $"{where} '{key}'");
            sizes[i] = size is >= 0 and <= int.MaxValue
                ? (int)size
                : throw new InvalidDataException($"{where} '{key}' has size {size}; sizes must be non-negative 32-bit integers.");
        }

        return sizes;
    }

    private static int RequireIndex(JsonNode? node, int count, string where)
    {
        long index = node is null ? -1 : RequireLong(node, where);
        return index >= 0 && index < count ? (int)index : throw new InvalidDataException($"{where} refers to {Describe(node)}, outside 0..{count - 1}.");
    }

    private static DType RequireDType(JsonNode? node, string where)
    {
        string name = RequireString(node, where);
        return DTypeExtensions.Parse(name)
            ?? throw new InvalidDataException($"{where} is '{name}', not an element type ({string.Join(", ", DTypeExtensions.All.Select(t => t.Name()))}).");
    }

    private static string Describe(JsonNode? node)
    {
        if (node is null)
        {
            return "missing";
        }

        string text = node.ToJsonString();
        return text.Length > 40 ? text[..40] + "..." : text;
    }
}
