// What an image-classification dataset loader returns: train and test images with int32 labels, and
// the folder they were read from. The pixels stay in memory as the bytes the files hold; the float32
// image tensors are made only when asked for, and TrainSet/TestSet feed a DataLoader from the bytes.
namespace Lepton.Data;

/// <summary>Train and test splits of an image-classification dataset.</summary>
public abstract class ImageClassificationData
{
    private readonly Split train;
    private readonly Split test;
    private readonly Device? device;

    /// <summary>Creates the record from tensors already made.</summary>
    protected ImageClassificationData(Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels, string directory)
    {
        train = new Split(null, trainImages.Shape, trainLabels.ToInt32Array()) { Images = trainImages, Labels = trainLabels };
        test = new Split(null, testImages.Shape, testLabels.ToInt32Array()) { Images = testImages, Labels = testLabels };
        Directory = directory;
    }

    /// <summary>Creates the record from pixel bytes (0-255, [N, C, H, W] row-major) and labels; tensors are made on first use.</summary>
    /// <param name="trainPixels">Training pixels, one byte each.</param>
    /// <param name="trainShape">Their shape, [N, C, H, W].</param>
    /// <param name="trainLabels">One label per training image.</param>
    /// <param name="testPixels">Test pixels, one byte each.</param>
    /// <param name="testShape">Their shape, [N, C, H, W].</param>
    /// <param name="testLabels">One label per test image.</param>
    /// <param name="directory">The folder the files were read from.</param>
    /// <param name="device">Where the image and label tensors are placed.</param>
    protected ImageClassificationData(
        byte[] trainPixels, int[] trainShape, int[] trainLabels, byte[] testPixels, int[] testShape, int[] testLabels, string directory, Device? device)
    {
        train = new Split(trainPixels, trainShape, trainLabels);
        test = new Split(testPixels, testShape, testLabels);
        Directory = directory;
        this.device = device;
    }

    /// <summary>Training images, float32 [N, C, H, W] scaled to [0, 1] (made on first use: four bytes a pixel).</summary>
    public Tensor TrainImages => Images(train);

    /// <summary>Training labels, int32 [N].</summary>
    public Tensor TrainLabels => Labels(train);

    /// <summary>Test images, float32 [N, C, H, W] scaled to [0, 1] (made on first use: four bytes a pixel).</summary>
    public Tensor TestImages => Images(test);

    /// <summary>Test labels, int32 [N].</summary>
    public Tensor TestLabels => Labels(test);

    /// <summary>The training images scaled to [0, 1] and their labels, for a <see cref="DataLoader"/>; kept as one byte
    /// a pixel, converted to float32 a batch at a time.</summary>
    /// <example><code>var loader = new DataLoader(mnist.TrainSet, 64, shuffle: true);</code></example>
    public TensorDataset TrainSet => Dataset(train);

    /// <summary>The test images scaled to [0, 1] and their labels, kept as one byte a pixel (see <see cref="TrainSet"/>).</summary>
    /// <example><code>var test = new DataLoader(mnist.TestSet, 500);</code></example>
    public TensorDataset TestSet => Dataset(test);

    /// <summary>The folder the files were read from.</summary>
    public string Directory { get; }

    private static TensorDataset Dataset(Split split)
    {
        lock (split)
        {
            return split.Dataset ??= split.Pixels is { } pixels
                ? new TensorDataset(pixels, 255, split.Shape, split.LabelValues)
                : new TensorDataset(split.Images!, split.Labels!);
        }
    }

    private Tensor Images(Split split)
    {
        lock (split)
        {
            if (split.Images is null)
            {
                // Taken out of any scope the caller has open: the tensor lives as long as this record.
                var values = new float[split.Pixels!.Length];
                TensorDataset.DivideBytes(split.Pixels, 255, values);
                split.Images = Tensor.FromArray(values, split.Shape, device: device).DetachFromScope();
            }

            return split.Images;
        }
    }

    private Tensor Labels(Split split)
    {
        lock (split)
        {
            return split.Labels ??= Tensor.FromArray(split.LabelValues, [split.LabelValues.Length], device).DetachFromScope();
        }
    }

    /// <summary>One split: its bytes (null when made from tensors), shape, labels, and the tensors once made.</summary>
    private sealed class Split(byte[]? pixels, int[] shape, int[] labels)
    {
        public byte[]? Pixels { get; } = pixels;

        public int[] Shape { get; } = shape;

        public int[] LabelValues { get; } = labels;

        public Tensor? Images { get; set; }

        public Tensor? Labels { get; set; }

        public TensorDataset? Dataset { get; set; }
    }
}
