// A user-defined layer: weights made in Build, its own Forward, trained inside a Sequential model,
// and saved and loaded once its class is registered.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class CustomLayerTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("lepton-custom-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void CustomLayerTrainsSavesAndLoads()
    {
        LayerRegistry.Register(nameof(Scale), c => new Scale(c.Name));
        var scale = new Scale();
        var model = new Sequential([new InputLayer([4]), scale, new Dense(3, seed: 1)]);
        Assert.Equal(new[] { 4 }, scale.Factor.Shape);
        var before = scale.Factor.Value.ToArray();
        model.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
        var (x, y) = ModelTests.Blobs(90, 8);
        var history = model.Fit(x, y, epochs: 3, batchSize: 30, verbose: 0);
        Assert.NotEqual(before, scale.Factor.Value.ToArray());
        Assert.True(history["loss"][^1] < history["loss"][0]);

        string path = Path.Combine(folder, "custom.lepton");
        model.Save(path);
        var loaded = Model.Load(path);
        Assert.IsType<Scale>(loaded.Layers[1]);
        Assert.Equal(model.Predict(x).ToArray(), loaded.Predict(x).ToArray());
    }

    private sealed class Scale(string? name = null) : Layer(name)
    {
        private Weight? factor;

        public Weight Factor => factor ?? throw new InvalidOperationException("not built");

        protected override void Build(int[] inputShape) => factor = AddWeight("factor", [inputShape[^1]], Initializer.Ones());

        protected override Tensor Forward(Tensor input, bool training) => input * Factor.Value;
    }
}
