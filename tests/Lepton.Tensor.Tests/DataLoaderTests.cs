// The data loader: every example once per epoch, seeded shuffles that change between epochs,
// transforms (normalize, flip, crop) and errors from the background thread surfacing.
using Lepton.Data;

namespace Lepton.Tests;

public sealed class DataLoaderTests
{
    private static TensorDataset Numbered(int n) =>
        new(Tensor.Arange(n).Reshape(n, 1), Tensor.Arange(n, DType.Int32));

    [Fact]
    public void ShuffledBatchesCoverEveryExampleOncePerEpoch()
    {
        var loader = new DataLoader(Numbered(103), batchSize: 10, shuffle: true, seed: 5);
        Assert.Equal(11, loader.Count);
        var first = loader.Batches().SelectMany(b => b.Targets.ToInt32Array()).ToArray();
        var second = loader.Batches().SelectMany(b => b.Targets.ToInt32Array()).ToArray();
        Assert.Equal(Enumerable.Range(0, 103), first.Order());
        Assert.NotEqual(first, second);
        Assert.NotEqual(Enumerable.Range(0, 103), first);
        var again = new DataLoader(Numbered(103), batchSize: 10, shuffle: true, seed: 5).Batches().SelectMany(b => b.Targets.ToInt32Array());
        Assert.Equal(first, again);
        var dropLast = new DataLoader(Numbered(103), batchSize: 10, dropLast: true);
        Assert.Equal(10, dropLast.Batches().Count());
        foreach (var (x, y) in new DataLoader(Numbered(20), 7).Batches())
        {
            Assert.Equal(x.ToInt32Array(), y.ToInt32Array());
        }
    }

    [Fact]
    public void TransformsChangeImagesAsDocumented()
    {
        var image = Enumerable.Range(0, 2 * 3 * 3).Select(i => (float)i).ToArray();
        var normalized = (float[])image.Clone();
        new Normalize([1f, 10f], [2f, 4f]).Apply(normalized, 1, [2, 3, 3], new Random(1));
        Assert.Equal((0f - 1f) / 2f, normalized[0]);
        Assert.Equal((9f - 10f) / 4f, normalized[9]);

        var flipped = (float[])image.Clone();
        var rng = new Random(0);
        while (flipped[0] == image[0])
        {
            flipped = (float[])image.Clone();
            new RandomHorizontalFlip().Apply(flipped, 1, [2, 3, 3], rng);
        }

        Assert.Equal(new[] { 2f, 1f, 0f }, flipped[..3]);
        Assert.Equal(new[] { 11f, 10f, 9f }, flipped[9..12]);

        var cropped = (float[])image.Clone();
        new RandomCrop(1).Apply(cropped, 1, [2, 3, 3], new Random(3));
        Assert.All(cropped, v => Assert.True(v == 0f || image.Contains(v)));
        Assert.True(cropped[..9].Count(v => v != 0f) >= 4);
    }

    [Fact]
    public void DatasetShapeMismatchIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Zeros([5, 2]), Tensor.Zeros([4])));
        Assert.Contains("[5, 2]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Numbered(5).Take(3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Numbered(5), batchSize: 0));
    }

    [Fact]
    public void TransformErrorsSurfaceOnTheCallingThread()
    {
        var loader = new DataLoader(Numbered(10), 5, transforms: [new Normalize([0f, 0f], [1f, 1f])]);
        var e = Assert.Throws<ArgumentException>(() => loader.Batches().ToList());
        Assert.Contains("channels", e.Message);
    }
}
