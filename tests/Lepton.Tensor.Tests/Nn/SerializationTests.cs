// Saving and loading: Sequential and functional round trips give identical predictions, training
// resumes exactly where it stopped (optimizer state included), weights are valid safetensors,
// failed saves keep the previous file, and corrupt files give clear errors.
using System.Buffers.Binary;
using System.Text.Json;
using Lepton.IO;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class SerializationTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-save-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void SequentialRoundTripResumesTrainingExactly()
    {
        var (x, y) = ModelTests.Blobs(60, 1);
        var model = new Sequential([
            new InputLayer([4]),
            new Dense(8, activation: "relu", seed: 1),
            new BatchNormalization(),
            new Dense(3, activation: "softmax", seed: 3),
        ]);
        model.Compile(new Adam(new CosineDecay(0.01f, 100)) { ClipNorm = 5f }, new SparseCategoricalCrossentropy(labelSmoothing: 0.1f), new Accuracy(), new TopKAccuracy(2));
        model.Fit(x, y, epochs: 2, batchSize: 20, shuffle: false, verbose: 0);
        string path = Path.Combine(folder, "model.lepton");
        model.Save(path);
        var loaded = Model.Load(path);

        Assert.IsType<Sequential>(loaded);
        Assert.Equal(model.Layers.Select(l => l.Name), loaded.Layers.Select(l => l.Name));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Equal(model.Optimizer!.Iterations, loaded.Optimizer!.Iterations);
        Assert.Equal(model.Optimizer.LearningRate, loaded.Optimizer.LearningRate);
        Assert.Equal(new[] { "loss", "accuracy", "top2_accuracy" }, loaded.Evaluate(x, y).Keys);

        // One more identical step on both: identical weights only if the optimizer state was restored.
        model.TrainOnBatch(x, y);
        loaded.TrainOnBatch(x, y);
        Assert.Equal(model.Weights.Select(w => w.Value.ToArray()), loaded.Weights.Select(w => w.Value.ToArray()));
    }

    [Fact]
    public void FunctionalRoundTripKeepsTheGraph()
    {
        var input = Keras.Input([3, 6, 6]);
        var a = new Conv2D(4, 3, padding: "same", activation: "relu", seed: 1).Apply(input);
        var b = new Conv2D(4, 3, padding: "same", seed: 2).Apply(a);
        var merged = new Add().Apply(a, b);
        var output = new Dense(2, seed: 3).Apply(new GlobalAveragePooling2D().Apply(merged));
        var model = new Model(input, output);
        string path = Path.Combine(folder, "functional.lepton");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.True(loaded.IsFunctional);
        var x = Tensor.RandN([2, 3, 6, 6], new Generator(4));
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
        Assert.Null(loaded.Optimizer);
    }

    [Fact]
    public void WeightsAreStandardSafetensors()
    {
        var model = ModelTests.SmallClassifier();
        string path = Path.Combine(folder, "weights.safetensors");
        model.SaveWeights(path);
        var bytes = File.ReadAllBytes(path);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var kernel = header.RootElement.GetProperty(model.Layers[1].Weights[0].Name);
        Assert.Equal("F32", kernel.GetProperty("dtype").GetString());
        Assert.Equal(new[] { 4, 16 }, kernel.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        long start = kernel.GetProperty("data_offsets")[0].GetInt64();
        float first = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)headerLength + (int)start));
        Assert.Equal(model.Layers[1].Weights[0].Value.ToArray()[0], first);

        var other = ModelTests.SmallClassifier();
        other.LoadWeights(path);
        Assert.Equal(model.Weights.Select(w => w.Value.ToArray()), other.Weights.Select(w => w.Value.ToArray()));
    }

    [Fact]
    public void AFailedSaveKeepsThePreviousFile()
    {
        string path = Path.Combine(folder, "keep.bin");
        File.WriteAllText(path, "previous");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.WriteByte(1);
            throw new IOException("disk full");
        }));
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(folder));
    }

    [Fact]
    public void CorruptOrMismatchedFilesGiveClearErrors()
    {
        string garbage = Path.Combine(folder, "garbage.lepton");
        File.WriteAllText(garbage, "not a model");
        var e = Assert.Throws<InvalidDataException>(() => Model.Load(garbage));
        Assert.Contains(garbage, e.Message);

        string weights = Path.Combine(folder, "w.safetensors");
        ModelTests.SmallClassifier().SaveWeights(weights);
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..^8]);
        var truncated = Assert.Throws<InvalidDataException>(() => ModelTests.SmallClassifier().LoadWeights(weights));
        Assert.Contains("truncated", truncated.Message);

        string other = Path.Combine(folder, "other.safetensors");
        new Sequential([new InputLayer([4]), new Dense(5), new Dense(3)]).SaveWeights(other);
        var mismatch = Assert.Throws<InvalidDataException>(() => ModelTests.SmallClassifier().LoadWeights(other));
        Assert.Contains("saved with shape [4, 5]", mismatch.Message);
        Assert.Throws<FileNotFoundException>(() => Model.Load(Path.Combine(folder, "missing.lepton")));
    }
}
