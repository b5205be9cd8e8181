// Batch transforms applied on the loader's background thread to host arrays: per-channel
// normalization and the standard CIFAR augmentations (random crop with padding, horizontal flip).
namespace Lepton.Data;

/// <summary>Changes a batch of images in place before it becomes a tensor.</summary>
public interface IBatchTransform
{
    /// <summary>Transforms <paramref name="count"/> examples of <paramref name="exampleShape"/> ([C, H, W]) stored contiguously in <paramref name="batch"/>.</summary>
    void Apply(Span<float> batch, int count, int[] exampleShape, Random random);
}

/// <summary>(x - mean[c]) / std[c] for each channel.</summary>
/// <example><code>new Normalize([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f])</code></example>
public sealed class Normalize(float[] mean, float[] std) : IBatchTransform
{
    /// <inheritdoc />
    public void Apply(Span<float> batch, int count, int[] exampleShape, Random random)
    {
        int channels = exampleShape[0], plane = Shapes.Numel(exampleShape[1..]);
        if (channels != mean.Length || channels != std.Length)
        {
            throw new ArgumentException($"Normalize: {mean.Length} means and {std.Length} deviations for images with {channels} channels.");
        }

        for (int n = 0; n < count; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                var p = batch.Slice(((n * channels) + c) * plane, plane);
                float m = mean[c], inv = 1f / std[c];
                for (int i = 0; i < p.Length; i++)
                {
                    p[i] = (p[i] - m) * inv;
                }
            }
        }
    }
}

/// <summary>Pads each image with zeros by <c>padding</c> pixels and crops a random window of the original size.</summary>
/// <example><code>new RandomCrop(4)</code></example>
public sealed class RandomCrop(int padding) : IBatchTransform
{
    /// <inheritdoc />
    public void Apply(Span<float> batch, int count, int[] exampleShape, Random random)
    {
        int channels = exampleShape[0], h = exampleShape[1], w = exampleShape[2];
        var scratch = new float[h * w];
        for (int n = 0; n < count; n++)
        {
            int dy = random.Next(-padding, padding + 1), dx = random.Next(-padding, padding + 1);
            for (int c = 0; c < channels; c++)
            {
                var p = batch.Slice(((n * channels) + c) * h * w, h * w);
                for (int y = 0; y < h; y++)
                {
                    for (int x = 0; x < w; x++)
                    {
                        int sy = y + dy, sx = x + dx;
                        scratch[(y * w) + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? p[(sy * w) + sx] : 0f;
                    }
                }

                scratch.CopyTo(p);
            }
        }
    }
}

/// <summary>Mirrors each image left-right with probability 1/2.</summary>
/// <example><code>new RandomHorizontalFlip()</code></example>
public sealed class RandomHorizontalFlip : IBatchTransform
{
    /// <inheritdoc />
    public void Apply(Span<float> batch, int count, int[] exampleShape, Random random)
    {
        int channels = exampleShape[0], h = exampleShape[1], w = exampleShape[2];
        for (int n = 0; n < count; n++)
        {
            if (random.Next(2) == 0)
            {
                continue;
            }

            for (int c = 0; c < channels; c++)
            {
                for (int y = 0; y < h; y++)
                {
                    batch.Slice((((n * channels) + c) * h * w) + (y * w), w).Reverse();
                }
            }
        }
    }
}
