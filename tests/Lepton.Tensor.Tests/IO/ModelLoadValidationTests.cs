// Model.Load validates what it rebuilds: a damaged config.json, config values no layer accepts, weights
// the model would drop and weights of the wrong type are InvalidDataExceptions naming the file.
using System.Text;
using System.Text.Json.Nodes;
using Lepton.IO;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Tests.Nn;
using Lepton.Tests.Support;

namespace Lepton.Tests.IO;

public sealed class ModelLoadValidationTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-load-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Theory]
    [InlineData("remove layers", "'layers' is missing")]
    [InlineData("kernel_size [3]", "'kernel_size' = [3], not an array of 2 integers")]
    [InlineData("kernel_size [0, 0]", "kernelSize must be positive")]
    [InlineData("filters -4", "filters must be positive")]
    [InlineData("filters \"4\"", "'filters' = \"4\", not a 32-bit integer")]
    [InlineData("units -3", "units must be positive")]
    [InlineData("units 1e10", "not a 32-bit integer")]
    [InlineData("strides [0, 0]", "strides must be positive")]
    [InlineData("rate 1.5", "rate must be in [0, 1)")]
    [InlineData("use_bias false", "that the model does not use")]
    [InlineData("class_name Dense2", "not registered")]
    [InlineData("layer not an object", "not a JSON object")]
    [InlineData("input_shape [65536, 65536]", "more than")]
    [InlineData("units 65536", "larger than the saved weights can fill")]
    [InlineData("format other", "\"format\"")]
    [InlineData("compile metrics 3", "'metrics' is 3")]
    public void ADamagedConfigurationNamesTheFileAndTheProblem(string damage, string problem)
    {
        string saved = SaveConvModel();
        string path = Path.Combine(folder, "damaged.lepton");
        DamagedFiles.ReplaceEntry(saved, path, "config.json", bytes =>
        {
            var config = JsonNode.Parse(bytes)!.AsObject();
            var layers = config["layers"]!.AsArray();
            JsonNode Layer(string className) => layers.First(l => (string?)l!["class_name"] == className)!["config"]!;
            switch (damage)
            {
                case "remove layers": config.Remove("layers"); break;
                case "kernel_size [3]": Layer("Conv2D")["kernel_size"] = new JsonArray(3); break;
                case "kernel_size [0, 0]": Layer("Conv2D")["kernel_size"] = new JsonArray(0, 0); break;
                case "filters -4": Layer("Conv2D")["filters"] = -4; break;
                case "filters \"4\"": Layer("Conv2D")["filters"] = "4"; break;
                case "units -3": Layer("Dense")["units"] = -3; break;
                case "units 1e10": Layer("Dense")["units"] = 1e10; break;
                case "strides [0, 0]": Layer("MaxPooling2D")["strides"] = new JsonArray(0, 0); break;
                case "rate 1.5": Layer("Dropout")["rate"] = 1.5; break;
                case "use_bias false": Layer("Dense")["use_bias"] = false; break;
                case "class_name Dense2": layers[^1]!["class_name"] = "Dense2"; break;
                case "layer not an object": layers[1] = 7; break;
                case "input_shape [65536, 65536]": config["input_shape"] = new JsonArray(1, 65536, 65536); break;
                case "units 65536": Layer("Dense")["units"] = 65536; break;
                case "format other": config["format"] = "other"; break;
                case "compile metrics 3": config["compile"]!["metrics"] = 3; break;
            }

            return Encoding.UTF8.GetBytes(config.ToJsonString());
        });

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 64 << 20);
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void ADroppedLayerWhoseWeightsWouldBeIgnoredIsAnError()
    {
        // Removing the middle Dense(4) keeps every remaining shape valid; its saved weights must not vanish silently.
        var model = new Sequential([new InputLayer([4]), new Dense(4, name: "first"), new Dense(4, name: "middle"), new Dense(3, name: "last")]);
        string saved = Path.Combine(folder, "three.lepton");
        model.Save(saved);
        string path = Path.Combine(folder, "two.lepton");
        DamagedFiles.ReplaceEntry(saved, path, "config.json", bytes =>
        {
            var config = JsonNode.Parse(bytes)!.AsObject();
            config["layers"]!.AsArray().RemoveAt(2);
            return Encoding.UTF8.GetBytes(config.ToJsonString());
        });
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("has weights middle/bias, middle/kernel that the model does not use", e.Message);
    }

    [Fact]
    public void Int32DataForFloatWeightsIsAnError()
    {
        var model = ModelTests.SmallClassifier();
        string saved = Path.Combine(folder, "model.lepton");
        model.Save(saved);
        string path = Path.Combine(folder, "ints.lepton");
        DamagedFiles.ReplaceEntry(saved, path, "model.safetensors", _ =>
        {
            using var stream = new MemoryStream();
            SafeTensors.Write(stream, model.Weights.Select(w => (w.Name, w.Name.EndsWith("/bias", StringComparison.Ordinal) ? Tensor.Zeros(w.Shape, DType.Int32) : w.Value)));
            return stream.ToArray();
        });
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("is saved as int32 but the model's weight is float32", e.Message);
    }

    [Fact]
    public void OptimizerStateOfAnotherShapeIsAnErrorNotABroadcast()
    {
        var (x, y) = ModelTests.Blobs(30, 1);
        var model = ModelTests.SmallClassifier();
        model.Compile("adam", "sparse_categorical_crossentropy");
        model.TrainOnBatch(x, y);
        string saved = Path.Combine(folder, "trained.lepton");
        model.Save(saved);
        string path = Path.Combine(folder, "state.lepton");
        DamagedFiles.ReplaceEntry(saved, path, "optimizer.safetensors", _ =>
        {
            using var stream = new MemoryStream();
            SafeTensors.Write(stream, model.Optimizer!.StateTensors().Select(s => (s.Name, s.Name.EndsWith("/m", StringComparison.Ordinal) ? Tensor.Ones([1]) : s.Value)));
            return stream.ToArray();
        });
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("is saved as float32 [1]", e.Message);
    }

    [Fact]
    public void ConfigurationThatIsNotJsonIsAnInvalidDataException()
    {
        string saved = SaveConvModel();
        string path = Path.Combine(folder, "text.lepton");
        DamagedFiles.ReplaceEntry(saved, path, "config.json", bytes => bytes[..^5]);
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("config.json is not valid JSON", e.Message);
    }

    [Fact]
    public void LayerConstructorsNameTheLayerAndTheArgument()
    {
        void Check(Func<Layer> create, string parameter, string problem)
        {
            var e = Assert.ThrowsAny<ArgumentException>(create);
            Assert.Equal(parameter, e.ParamName);
            Assert.Contains("bad_layer", e.Message);
            Assert.Contains(problem, e.Message);
        }

        Check(() => new Dense(0, name: "bad_layer"), "units", "units must be positive");
        Check(() => new Conv2D(4, 0, name: "bad_layer"), "kernelSize", "kernelSize must be positive");
        Check(() => new Conv2D(4, 3, dilationRate: 0, name: "bad_layer"), "dilationRate", "dilationRate must be positive");
        Check(() => new Conv2D(4, 3, groups: 3, name: "bad_layer"), "groups", "divide filters");
        Check(() => new MaxPooling2D(2, strides: 0, name: "bad_layer"), "strides", "strides must be positive");
        Check(() => new Dropout(float.NaN, name: "bad_layer"), "rate", "rate must be in [0, 1)");
        Check(() => new BatchNormalization(epsilon: float.NaN, name: "bad_layer"), "epsilon", "epsilon must be positive");
        Check(() => new Embedding(10, -1, name: "bad_layer"), "outputDim", "outputDim must be positive");
        Check(() => new Reshape([0, 4], name: "bad_layer"), "targetShape", "at most one -1");
        Check(() => new InputLayer([-1], name: "bad_layer"), "inputShape", "must not be negative");
    }

    private string SaveConvModel()
    {
        var model = new Sequential([
            new InputLayer([1, 6, 6]),
            new Conv2D(2, 3, activation: "relu", seed: 1),
            new MaxPooling2D(2),
            new Flatten(),
            new Dropout(0.25f),
            new Dense(3, activation: "softmax", seed: 2),
        ]);
        model.Compile("adam", "sparse_categorical_crossentropy", "accuracy");
        string path = Path.Combine(folder, $"conv-{Guid.NewGuid():N}.lepton");
        model.Save(path);
        return path;
    }
}
