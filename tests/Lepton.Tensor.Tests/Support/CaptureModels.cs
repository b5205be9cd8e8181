// Small models described as data (ModelSpec), an FsCheck generator over them, and the check that a
// captured model trains to the bits of its eager twin: the same spec built twice gives identical
// models (every layer and dropout seeded), one of them run with RunEagerly.
using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Support;

internal enum ModelStyle
{
    Sequential,
    Functional,
    Subclassed,
}

internal enum ModelBody
{
    /// <summary>Features [6] through Dense.</summary>
    Mlp,

    /// <summary>Images [2, 6, 6] through Conv2D.</summary>
    Image,

    /// <summary>Signals [2, 8] through Conv1D.</summary>
    Signal,

    /// <summary>Token ids [5] (vocabulary 7) through Embedding and recurrent layers.</summary>
    Sequence,
}

internal enum RnnKind
{
    Lstm,
    Gru,
    SimpleRnn,
}

internal enum LossKind
{
    SparseLogits,
    SparseProbabilities,
    CategoricalLogits,
    CategoricalProbabilities,
    MeanSquared,
}

internal enum OptimizerKind
{
    Sgd,
    SgdMomentum,
    SgdNesterov,
    Adam,
    AdamW,
    RmsProp,
    RmsPropMomentum,
}

internal enum Clipping
{
    None,
    ClipNorm,
    GlobalClipNorm,
    Both,
}

/// <summary>A small model and its training setup; <see cref="CaptureModels.Build"/> makes identical twins of it.</summary>
/// <param name="Residual">Residual blocks (functional: an Add layer; subclassed: a tensor sum); ignored by Sequential.</param>
/// <param name="Frozen">Index (modulo their count) of the layer with weights to freeze; negative for none.</param>
internal sealed record ModelSpec(
    ModelStyle Style, ModelBody Body, int Width, string Activation, string? ConvActivation, string Padding, bool Pool, bool GlobalPool,
    bool BatchNorm, bool Dropout, bool Residual, RnnKind Rnn, bool StackedRnn, bool SequenceConv, bool MaskZero, LossKind Loss,
    OptimizerKind Optimizer, Clipping Clip, int Frozen, bool Accuracy, int Batch, int DataSeed);

internal static class CaptureModels
{
    private const int Classes = 3;
    private const int Vocabulary = 7;

    public static readonly ModelSpec ImageSpec = new(
        ModelStyle.Functional, ModelBody.Image, 3, "relu", "relu", "same", Pool: true, GlobalPool: false, BatchNorm: true, Dropout: true,
        Residual: true, RnnKind.Lstm, StackedRnn: false, SequenceConv: false, MaskZero: false, LossKind.SparseLogits, OptimizerKind.Adam,
        Clipping.GlobalClipNorm, Frozen: -1, Accuracy: true, Batch: 6, DataSeed: 1);

    /// <remarks>Its embedding is frozen: on ILGPU, the embedding's gradient is a scatter-add by atomic adds, whose order (and
    /// so whose rounding) changes from run to run, so that not even two eager runs give the same bits.</remarks>
    public static readonly ModelSpec SequenceSpec = new(
        ModelStyle.Subclassed, ModelBody.Sequence, 4, "tanh", null, "same", Pool: false, GlobalPool: false, BatchNorm: false, Dropout: false,
        Residual: true, RnnKind.Gru, StackedRnn: true, SequenceConv: true, MaskZero: false, LossKind.CategoricalProbabilities,
        OptimizerKind.RmsPropMomentum, Clipping.ClipNorm, Frozen: 0, Accuracy: true, Batch: 5, DataSeed: 2);

    public static readonly ModelSpec MlpSpec = new(
        ModelStyle.Sequential, ModelBody.Mlp, 8, "gelu", null, "valid", Pool: false, GlobalPool: false, BatchNorm: true, Dropout: true,
        Residual: false, RnnKind.Lstm, StackedRnn: false, SequenceConv: false, MaskZero: false, LossKind.MeanSquared, OptimizerKind.SgdNesterov,
        Clipping.Both, Frozen: 1, Accuracy: true, Batch: 6, DataSeed: 3);

    public static Gen<ModelSpec> Specs =>
        from style in Gen.Elements(ModelStyle.Sequential, ModelStyle.Functional, ModelStyle.Subclassed)
        from body in Gen.Elements(ModelBody.Mlp, ModelBody.Image, ModelBody.Signal, ModelBody.Sequence)
        from width in Gen.Choose(2, 5)
        from activation in Gen.Elements("relu", "tanh", "sigmoid", "gelu", "leaky_relu", "softplus", "linear")
        from convActivation in Gen.Elements<string?>("relu", null, "tanh")
        from padding in Gen.Elements("same", "valid")
        from layout in Gen.Choose(0, 31)
        from rnn in Gen.Elements(RnnKind.Lstm, RnnKind.Gru, RnnKind.SimpleRnn)
        from sequence in Gen.Choose(0, 7)
        from loss in Gen.Elements(Enum.GetValues<LossKind>())
        from optimizer in Gen.Elements(Enum.GetValues<OptimizerKind>())
        from clip in Gen.Elements(Enum.GetValues<Clipping>())
        from frozen in Gen.Choose(-3, 5)
        from accuracy in Gen.Elements(true, false)
        from batch in Gen.Choose(4, 8)
        from dataSeed in Gen.Choose(0, 1 << 30)
        select new ModelSpec(
            style, body, width, activation, convActivation, padding, Pool: (layout & 1) != 0, GlobalPool: (layout & 2) != 0,
            BatchNorm: (layout & 4) != 0, Dropout: (layout & 8) != 0, Residual: style != ModelStyle.Sequential && (layout & 16) != 0, rnn,
            StackedRnn: (sequence & 1) != 0, SequenceConv: (sequence & 2) != 0, MaskZero: (sequence & 4) != 0, loss, optimizer, clip, frozen,
            accuracy, batch, dataSeed);

    /// <summary>Builds, freezes and compiles the model <paramref name="spec"/> describes (the same weights every time).</summary>
    public static Model Build(ModelSpec spec)
    {
        ulong seed = 10;
        var blocks = new List<(Layer Layer, bool Residual)>();
        var weighted = new List<Layer>();
        void Add(Layer layer, bool residual = false)
        {
            blocks.Add((layer, residual));
            if (layer is not (Dropout or MaxPooling2D or MaxPooling1D or GlobalAveragePooling2D or GlobalAveragePooling1D or Flatten))
            {
                weighted.Add(layer);
            }
        }

        bool residual = spec.Residual && spec.Style != ModelStyle.Sequential;
        switch (spec.Body)
        {
            case ModelBody.Mlp:
                Add(new Dense(spec.Width, activation: spec.Activation, seed: seed++));
                AddIf(spec.BatchNorm, new BatchNormalization());
                break;
            case ModelBody.Image:
                Add(new Conv2D(spec.Width, 3, padding: spec.Padding, activation: spec.ConvActivation, seed: seed++));
                AddIf(spec.BatchNorm, new BatchNormalization());
                AddIf(residual, new Conv2D(spec.Width, 3, padding: "same", activation: "relu", seed: seed++), residual: true);
                AddIf(spec.Pool, new MaxPooling2D(2));
                Add(spec.GlobalPool ? new GlobalAveragePooling2D() : new Flatten());
                break;
            case ModelBody.Signal:
                Add(new Conv1D(spec.Width, 3, padding: spec.Padding, activation: spec.ConvActivation, seed: seed++));
                AddIf(spec.BatchNorm, new BatchNormalization());
                AddIf(spec.Pool, new MaxPooling1D(2));
                Add(spec.GlobalPool ? new GlobalAveragePooling1D() : new Flatten());
                break;
            default:
                Add(new Embedding(Vocabulary, 4, seed: seed++, maskZero: spec.MaskZero));
                AddIf(spec.SequenceConv, new Conv1D(spec.Width, 3, padding: "same", activation: spec.ConvActivation, dataFormat: DataFormat.ChannelsLast, seed: seed++));
                Add(Recurrent(spec.Rnn, spec.Width, spec.StackedRnn, seed++));
                AddIf(spec.StackedRnn, Recurrent((RnnKind)(((int)spec.Rnn + 1) % 3), spec.Width, false, seed++));
                break;
        }

        Add(new Dense(spec.Width, activation: spec.Activation, seed: seed++));
        AddIf(spec.Dropout, new Dropout(0.3f, seed: 5));
        AddIf(residual, new Dense(spec.Width, activation: "tanh", seed: seed++), residual: true);
        bool probabilities = spec.Loss is LossKind.SparseProbabilities or LossKind.CategoricalProbabilities;
        Add(new Dense(Classes, activation: probabilities ? "softmax" : null, seed: seed++));
        if (spec.Frozen >= 0)
        {
            weighted[spec.Frozen % weighted.Count].Trainable = false;
        }

        var model = Assemble(spec, blocks);
        model.Compile(MakeOptimizer(spec), MakeLoss(spec.Loss), spec.Accuracy ? [new Accuracy()] : []);
        return model;

        void AddIf(bool condition, Layer layer, bool residual = false)
        {
            if (condition)
            {
                Add(layer, residual);
            }
        }
    }

    /// <summary>A batch for <paramref name="spec"/>'s model: inputs and the targets its loss takes.</summary>
    public static (Tensor X, Tensor Y) Data(ModelSpec spec, int n, Device device)
    {
        var rng = new Random(spec.DataSeed);
        var (shape, type) = Input(spec);
        int[] xShape = [n, .. shape];
        int count = xShape.Aggregate(1, (a, b) => a * b);
        var x = type == DType.Int32
            ? Tensor.FromArray(Enumerable.Range(0, count).Select(_ => rng.Next(Vocabulary)).ToArray(), xShape, device)
            : Tensor.FromArray(Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 4) - 2)).ToArray(), xShape, device: device);
        int[] labels = Enumerable.Range(0, n).Select(_ => rng.Next(Classes)).ToArray();
        var y = spec.Loss switch
        {
            LossKind.SparseLogits or LossKind.SparseProbabilities => Tensor.FromArray(labels, [n], device),
            LossKind.MeanSquared => Tensor.FromArray(Enumerable.Range(0, n * Classes).Select(_ => (float)rng.NextDouble()).ToArray(), [n, Classes], device: device),
            _ => Tensor.FromArray(Enumerable.Range(0, n * Classes).Select(i => labels[i / Classes] == i % Classes ? 1f : 0f).ToArray(), [n, Classes], device: device),
        };
        return (x, y);
    }

    /// <summary>
    /// A captured twin and an eager twin train <paramref name="steps"/> steps on one batch to the same bits, the captured
    /// one replaying from the third step. With <paramref name="fusion"/> on, only a ReLU convolution pooled 2x2 may fuse
    /// (on the CPU), and a step with a fused pair is compared up to its forward pass: the first replay's loss and
    /// metrics; its backward rounds the bias gradient differently.
    /// </summary>
    public static void AssertTwinsAgree(ModelSpec spec, Device device, int steps, bool fusion)
    {
        var (captured, eager) = (Build(spec), Build(spec));
        captured.Device = eager.Device = device;
        eager.RunEagerly = true;
        captured.Capture.Fusion = fusion;
        bool pooledReluConvolution = spec is { Body: ModelBody.Image, ConvActivation: "relu", Pool: true, BatchNorm: false } &&
            !(spec.Residual && spec.Style != ModelStyle.Sequential);
        int mayFuse = fusion && device == Device.Cpu && pooledReluConvolution ? 1 : 0;
        int fused = 0;
        var (x, y) = Data(spec, spec.Batch, device);
        for (int step = 0; step < steps; step++)
        {
            var capturedLogs = captured.TrainOnBatch(x, y);
            var eagerLogs = eager.TrainOnBatch(x, y);
            if (step == 1)
            {
                var statistics = captured.LastCaptureStatistics;
                Assert.True(statistics is not null, $"{spec}: the second step captured nothing ({captured.CaptureBreak ?? "no break"})");
                fused = statistics.Value.FusedGroups;
                Assert.True(fused <= mayFuse, $"{spec}: {fused} fused groups, expected at most {mayFuse}");
            }

            Assert.True(captured.LastStepReplayed == step >= 2, $"{spec}, step {step}: replayed {captured.LastStepReplayed} ({captured.CaptureBreak ?? "no break"})");
            if (fused == 0 || step <= 2)
            {
                Assert.True(
                    eagerLogs.Count == capturedLogs.Count && eagerLogs.All(e => BitConverter.DoubleToInt64Bits(e.Value) == BitConverter.DoubleToInt64Bits(capturedLogs[e.Key])),
                    $"{spec}, step {step}: captured logs {Format(capturedLogs)}, eager {Format(eagerLogs)}");
            }

            if (fused == 0 || step <= 1)
            {
                AssertSameWeights(eager, captured, $"{spec}, step {step}");
            }
        }
    }

    public static void AssertSameWeights(Model expected, Model actual, string what)
    {
        Assert.Equal(expected.Weights.Count, actual.Weights.Count);
        for (int i = 0; i < expected.Weights.Count; i++)
        {
            AssertSameBits(expected.Weights[i].Value.ToArray(), actual.Weights[i].Value.ToArray(), $"{what}: weight {i} ({expected.Weights[i].Name})");
        }
    }

    /// <summary>Equal bit for bit (NaN payloads and signed zeros included); the message names the first difference.</summary>
    public static void AssertSameBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int first = MemoryMarshal.Cast<float, int>(expected).CommonPrefixLength(MemoryMarshal.Cast<float, int>(actual));
        if (first < expected.Length)
        {
            int differing = Enumerable.Range(0, expected.Length).Count(i => BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]));
            Assert.Fail($"{what}: {differing} of {expected.Length} values differ; first at {first}: expected {expected[first]:R}, got {actual[first]:R}");
        }
    }

    private static string Format(Dictionary<string, double> logs) => string.Join(", ", logs.Select(kv => $"{kv.Key}={kv.Value:R}"));

    private static (int[] Shape, DType Type) Input(ModelSpec spec) => spec.Body switch
    {
        ModelBody.Mlp => ([6], DType.Float32),
        ModelBody.Image => ([2, 6, 6], DType.Float32),
        ModelBody.Signal => ([2, 8], DType.Float32),
        _ => ([5], DType.Int32),
    };

    private static Layer Recurrent(RnnKind kind, int units, bool returnSequences, ulong seed) => kind switch
    {
        RnnKind.Lstm => new LSTM(units, returnSequences: returnSequences, seed: seed),
        RnnKind.Gru => new GRU(units, returnSequences: returnSequences, seed: seed),
        _ => new SimpleRNN(units, returnSequences: returnSequences, seed: seed),
    };

    private static Model Assemble(ModelSpec spec, List<(Layer Layer, bool Residual)> blocks)
    {
        var (shape, type) = Input(spec);
        switch (spec.Style)
        {
            case ModelStyle.Sequential:
                return new Sequential([new InputLayer(shape, type), .. blocks.Select(b => b.Layer)]);
            case ModelStyle.Functional:
                var input = Keras.Input(shape, type);
                var h = input;
                foreach (var (layer, residual) in blocks)
                {
                    h = residual ? new Lepton.Nn.Layers.Add().Apply(h, layer.Apply(h)) : layer.Apply(h);
                }

                return new Model(input, h);
            default:
                return new BlockModel(blocks);
        }
    }

    private static Optimizer MakeOptimizer(ModelSpec spec)
    {
        Optimizer optimizer = spec.Optimizer switch
        {
            OptimizerKind.Sgd => new Lepton.Nn.Optimizers.Sgd(0.05f),
            OptimizerKind.SgdMomentum => new Lepton.Nn.Optimizers.Sgd(0.05f, momentum: 0.9f),
            OptimizerKind.SgdNesterov => new Lepton.Nn.Optimizers.Sgd(0.05f, momentum: 0.9f, nesterov: true),
            OptimizerKind.Adam => new Adam(1e-2f),
            OptimizerKind.AdamW => new AdamW(1e-2f, weightDecay: 0.01f),
            OptimizerKind.RmsProp => new RmsProp(1e-2f),
            _ => new RmsProp(1e-2f, momentum: 0.5f),
        };

        // Small enough that the gradients of these models are clipped.
        optimizer.ClipNorm = spec.Clip is Clipping.ClipNorm or Clipping.Both ? 0.1f : null;
        optimizer.GlobalClipNorm = spec.Clip is Clipping.GlobalClipNorm or Clipping.Both ? 0.2f : null;
        return optimizer;
    }

    private static Loss MakeLoss(LossKind loss) => loss switch
    {
        LossKind.SparseLogits => new SparseCategoricalCrossentropy(fromLogits: true),
        LossKind.SparseProbabilities => new SparseCategoricalCrossentropy(fromLogits: false),
        LossKind.CategoricalLogits => new CategoricalCrossentropy(fromLogits: true),
        LossKind.CategoricalProbabilities => new CategoricalCrossentropy(fromLogits: false),
        _ => new MeanSquaredError(),
    };

    /// <summary>A subclassed model: its layers in an array field, run in order, some as residual branches.</summary>
    private sealed class BlockModel(List<(Layer Layer, bool Residual)> blocks) : Model
    {
        private readonly Layer[] layers = [.. blocks.Select(b => b.Layer)];
        private readonly bool[] residual = [.. blocks.Select(b => b.Residual)];

        protected override Tensor Forward(Tensor input, bool training)
        {
            var h = input;
            for (int i = 0; i < layers.Length; i++)
            {
                h = residual[i] ? h + layers[i].Call(h, training) : layers[i].Call(h, training);
            }

            return h;
        }
    }
}
