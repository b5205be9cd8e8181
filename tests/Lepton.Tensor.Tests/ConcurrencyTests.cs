// Several threads using one model at once: the first calls build each layer exactly once, and every
// thread's prediction comes from the weights the model keeps.
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public void FirstPredictionsFromSeveralThreadsBuildEachLayerOnce()
    {
        var x = Tensor.RandN([3, 16], new Generator(5));
        for (int trial = 0; trial < 20; trial++)
        {
            var model = new Sequential([new Dense(32, activation: "relu"), new Dense(4)]);
            using var start = new Barrier(4);
            var outputs = new float[4][];
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                using var result = model.Predict(x);
                outputs[t] = result.ToArray();
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());

            Assert.Equal(4, model.Weights.Count);
            using var expected = model.Predict(x);
            Assert.All(outputs, o => Assert.Equal(expected.ToArray(), o));
        }
    }
}
