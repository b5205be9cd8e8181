// What an image-classification dataset loader returns: train and test images (float32, [N, C, H, W]
// in [0, 1]) with int32 labels, and the folder they were read from.
namespace Lepton.Data;

/// <summary>Train and test splits of an image-classification dataset.</summary>
public abstract class ImageClassificationData
{
    /// <summary>Creates the record.</summary>
    protected ImageClassificationData(Tensor trainImages, Tensor trainLabels, Tensor testImages, Tensor testLabels, string directory)
    {
        TrainImages = trainImages;
        TrainLabels = trainLabels;
        TestImages = testImages;
        TestLabels = testLabels;
        Directory = directory;
    }

    /// <summary>Training images, float32 [N, C, H, W] scaled to [0, 1].</summary>
    public Tensor TrainImages { get; }

    /// <summary>Training labels, int32 [N].</summary>
    public Tensor TrainLabels { get; }

    /// <summary>Test images, float32 [N, C, H, W] scaled to [0, 1].</summary>
    public Tensor TestImages { get; }

    /// <summary>Test labels, int32 [N].</summary>
    public Tensor TestLabels { get; }

    /// <summary>The folder the files were read from.</summary>
    public string Directory { get; }
}
