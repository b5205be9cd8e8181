// The ILGPU index-consuming kernels read (and max pooling writes) real int32 buffers: gather, scatter-add,
// index-select, index-add, cross-entropy labels and pooling indices, against host references, and a bad
// index is still reported at the next read-back with its own integer value.
using Lepton.Backends;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(IlgpuCpuCollection.Name)]
public sealed class IlgpuInt32IndexTests
{
    private static IBackend Gpu => Device.IlgpuCpu.Backend;

    [Fact]
    public void GatherAndScatterAddUseInt32Indices()
    {
        // src [2, 4, 3], index [2, 2, 3] -> dst [2, 2, 3].
        float[] src = [.. Enumerable.Range(0, 24).Select(i => (float)i)];
        int[] index = [3, 0, 1, 2, 2, 0, 0, 1, 3, 1, 1, 1];
        var expected = new float[12];
        var scattered = new float[24];
        for (int o = 0; o < 2; o++)
        {
            for (int j = 0; j < 2; j++)
            {
                for (int i = 0; i < 3; i++)
                {
                    int e = (((o * 2) + j) * 3) + i;
                    expected[e] = src[(((o * 4) + index[e]) * 3) + i];
                    scattered[(((o * 4) + index[e]) * 3) + i] += expected[e];
                }
            }
        }

        var s = Floats(src);
        var ix = Ints(index);
        var d = Gpu.Allocate(12);
        Gpu.Gather(s, 2, 4, 3, ix, 2, d, negativeFromEnd: false);
        Assert.Equal(expected, Read(d, 12));

        var back = Floats(new float[24]);
        Gpu.ScatterAdd(d, 2, 4, 3, ix, 2, back, negativeFromEnd: false);
        Assert.Equal(scattered, Read(back, 24));
    }

    [Fact]
    public void IndexSelectAndIndexAddUseInt32Indices()
    {
        // src [2, 3, 2], index [4] -> dst [2, 4, 2].
        float[] src = [.. Enumerable.Range(1, 12).Select(i => (float)i)];
        int[] index = [2, 0, 2, 1];
        var expected = new float[16];
        var added = new float[12];
        for (int o = 0; o < 2; o++)
        {
            for (int j = 0; j < 4; j++)
            {
                for (int i = 0; i < 2; i++)
                {
                    expected[(((o * 4) + j) * 2) + i] = src[(((o * 3) + index[j]) * 2) + i];
                    added[(((o * 3) + index[j]) * 2) + i] += expected[(((o * 4) + j) * 2) + i];
                }
            }
        }

        var d = Gpu.Allocate(16);
        Gpu.IndexSelect(Floats(src), 2, 3, 2, Ints(index), 4, d, negativeFromEnd: false);
        Assert.Equal(expected, Read(d, 16));
        var back = Floats(new float[12]);
        Gpu.IndexAdd(d, 2, 3, 2, Ints(index), 4, back, negativeFromEnd: false);
        Assert.Equal(added, Read(back, 12));
    }

    [Fact]
    public void ABadInt32IndexIsReportedWithItsValue()
    {
        var d = Gpu.Allocate(3);
        Gpu.IndexSelect(Floats([1f, 2f, 3f, 4f]), 1, 4, 1, Ints([0, 7, 1]), 3, d, negativeFromEnd: false);
        var e = Assert.Throws<IndexOutOfRangeException>(() => Read(d, 3));
        Assert.Contains("IndexSelect", e.Message);
        Assert.Contains("index 7 at position 1", e.Message);

        Gpu.Gather(Floats([1f, 2f]), 1, 2, 1, Ints([1, -3]), 2, d, negativeFromEnd: true);
        e = Assert.Throws<IndexOutOfRangeException>(() => Read(d, 2));
        Assert.Contains("index -3 at position 1", e.Message);
        Assert.Equal([2f, 1f], Read(Gather(Floats([1f, 2f]), Ints([1, 0])), 2));
    }

    [Fact]
    public void CrossEntropyReadsInt32Labels()
    {
        float[] logits = [0.5f, -1f, 2f, 0f, 1f, 3f, -2f, 0.25f, 1f, 1f, 1f, 1f];
        int[] labels = [2, 0, 3];
        const float smoothing = 0.1f;
        var loss = Gpu.Allocate(3);
        var probabilities = Gpu.Allocate(12);
        var labelBuffer = Ints(labels);
        Gpu.SoftmaxCrossEntropy(Floats(logits), labelBuffer, 3, 4, smoothing, loss, probabilities);
        var dlogits = Gpu.Allocate(12);
        Gpu.SoftmaxCrossEntropyBackward(probabilities, labelBuffer, Floats([1f, 2f, 0.5f]), 3, 4, smoothing, dlogits);

        float[] l = Read(loss, 3), g = Read(dlogits, 12);
        float[] dloss = [1f, 2f, 0.5f];
        for (int r = 0; r < 3; r++)
        {
            var row = logits.AsSpan(r * 4, 4).ToArray().Select(v => (double)v).ToArray();
            double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
            double target = ((1 - smoothing) * row[labels[r]]) + (smoothing * row.Average());
            Assert.Equal(max + Math.Log(sum) - target, l[r], 1e-5);
            for (int c = 0; c < 4; c++)
            {
                double p = Math.Exp(row[c] - max) / sum;
                double t = (smoothing / 4) + (c == labels[r] ? 1 - smoothing : 0);
                Assert.Equal(dloss[r] * (p - t), g[(r * 4) + c], 1e-5);
            }
        }

        Gpu.SoftmaxCrossEntropy(Floats(logits), Ints([0, 4, 1]), 3, 4, smoothing, loss, probabilities);
        var e = Assert.Throws<IndexOutOfRangeException>(() => Read(loss, 3));
        Assert.Contains("4 at position 1", e.Message);
    }

    [Fact]
    public void MaxPoolingWritesAndReadsInt32Indices()
    {
        // x [1, 2, 4, 5], 2x2 windows, stride 2 -> y [1, 2, 2, 2].
        var rng = new Random(3);
        float[] x = [.. Enumerable.Range(0, 40).Select(_ => (float)rng.Next(-9, 10))];
        var g = new Pool2dGeometry(1, 2, 4, 5, 2, 2, 2, 2, 0, 0, 0, 0);
        var y = Gpu.Allocate(8);
        var indices = Gpu.AllocateBytes(8 * sizeof(int));
        Gpu.MaxPool2dForward(g, Floats(x), y, indices);

        var got = new byte[32];
        Gpu.DownloadBytes(indices, 0, got);
        var at = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(got).ToArray();
        var dxExpected = new float[40];
        float[] dy = [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f];
        for (int c = 0; c < 2; c++)
        {
            for (int p = 0; p < 2; p++)
            {
                for (int q = 0; q < 2; q++)
                {
                    int best = (p * 2 * 5) + (q * 2);
                    for (int h = p * 2; h < (p * 2) + 2; h++)
                    {
                        for (int w = q * 2; w < (q * 2) + 2; w++)
                        {
                            best = x[(c * 20) + (h * 5) + w] > x[(c * 20) + best] ? (h * 5) + w : best;
                        }
                    }

                    int o = (c * 4) + (p * 2) + q;
                    Assert.Equal(best, at[o]);
                    dxExpected[(c * 20) + best] += dy[o];
                }
            }
        }

        var dx = Gpu.Allocate(40);
        Gpu.MaxPool2dBackward(g, Floats(dy), indices, dx);
        Assert.Equal(dxExpected, Read(dx, 40));
    }

    private static DeviceBuffer Gather(DeviceBuffer src, DeviceBuffer index)
    {
        var d = Gpu.Allocate(2);
        Gpu.Gather(src, 1, 2, 1, index, 2, d, negativeFromEnd: false);
        return d;
    }

    private static DeviceBuffer Floats(float[] values)
    {
        var b = Gpu.Allocate(values.Length);
        Gpu.Upload(values, b, 0);
        return b;
    }

    private static DeviceBuffer Ints(int[] values)
    {
        var b = Gpu.AllocateBytes(values.Length * sizeof(int));
        Gpu.UploadBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), b, 0);
        return b;
    }

    private static float[] Read(DeviceBuffer buffer, int length)
    {
        var values = new float[length];
        Gpu.Download(buffer, 0, values);
        return values;
    }
}
