// The samples' networks, in one place so the benchmarks time the very models the samples train.
using Lepton.Nn;
using Lepton.Nn.Layers;

namespace Lepton.Samples;

/// <summary>The MNIST and CIFAR-10 models of the samples and benchmarks.</summary>
internal static class Architectures
{
    /// <summary>The seed's Keras CNN for 28x28 digits (softmax output, or logits).</summary>
    public static Sequential MnistSeed(bool logits = false) => new([
        new InputLayer([1, 28, 28]),
        new Conv2D(32, 3, activation: "relu"),
        new MaxPooling2D(2),
        new Flatten(),
        new Dense(128, activation: "relu"),
        new Dense(10, activation: logits ? null : "softmax"),
    ]);

    /// <summary>Two blocks of two convolutions with batch norm, then dropout around the dense head (logits).</summary>
    public static Sequential MnistStrong() => new([
        new InputLayer([1, 28, 28]),
        new Conv2D(32, 3, padding: "same", useBias: false), new BatchNormalization(), new ReLU(),
        new Conv2D(32, 3, padding: "same", useBias: false), new BatchNormalization(), new ReLU(),
        new MaxPooling2D(2),
        new Conv2D(64, 3, padding: "same", useBias: false), new BatchNormalization(), new ReLU(),
        new Conv2D(64, 3, padding: "same", useBias: false), new BatchNormalization(), new ReLU(),
        new MaxPooling2D(2),
        new Flatten(),
        new Dropout(0.3f),
        new Dense(128, activation: "relu"),
        new Dropout(0.3f),
        new Dense(10),
    ]);

    /// <summary>The seed's three-convolution CIFAR-10 CNN (logits; 10 classes unless a task needs fewer).</summary>
    public static Sequential CifarSeed(int classes = 10) => new([
        new InputLayer([3, 32, 32]),
        new Conv2D(32, 3, activation: "relu"),
        new MaxPooling2D(2),
        new Conv2D(64, 3, activation: "relu"),
        new MaxPooling2D(2),
        new Conv2D(64, 3, activation: "relu"),
        new Flatten(),
        new Dense(64, activation: "relu"),
        new Dense(classes),
    ]);

    /// <summary>
    /// A ResNet for 32x32 images: a stem convolution, then stages of two-convolution residual blocks; the first block of
    /// each later stage halves the resolution and projects the shortcut with a 1x1 convolution (logits).
    /// </summary>
    public static Model CifarResNet(int[]? widths = null, int blocksPerStage = 2)
    {
        widths ??= [32, 64, 128];
        var input = Keras.Input([3, 32, 32]);
        var x = ConvBnRelu(input, widths[0], stride: 1);
        for (int stage = 0; stage < widths.Length; stage++)
        {
            for (int block = 0; block < blocksPerStage; block++)
            {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                var shortcut = x;
                var h = ConvBnRelu(x, widths[stage], stride);
                h = new BatchNormalization().Apply(new Conv2D(widths[stage], 3, padding: "same", useBias: false, kernelInitializer: "he_normal").Apply(h));
                if (stride != 1 || shortcut.Shape[0] != widths[stage])
                {
                    shortcut = new BatchNormalization().Apply(new Conv2D(widths[stage], 1, strides: stride, useBias: false, kernelInitializer: "he_normal").Apply(shortcut));
                }

                x = new ReLU().Apply(new Add().Apply(h, shortcut));
            }
        }

        var output = new Dense(10).Apply(new GlobalAveragePooling2D().Apply(x));
        return new Model(input, output, "resnet");
    }

    private static SymbolicTensor ConvBnRelu(SymbolicTensor x, int filters, int stride) =>
        new ReLU().Apply(new BatchNormalization().Apply(
            new Conv2D(filters, 3, strides: stride, padding: "same", useBias: false, kernelInitializer: "he_normal").Apply(x)));
}
