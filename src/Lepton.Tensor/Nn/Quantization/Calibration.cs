// Calibration: runs a float model in inference on sample batches, node by node, observing the model input and every
// layer output, and turns the observations into activation ranges by the chosen method. MinMax needs one pass over
// the batches; Percentile and Mse a second one that fills a histogram over the range the first pass found.
using Lepton.Data;

namespace Lepton.Nn.Quantization;

/// <summary>Observes a model's activations on calibration data.</summary>
internal static class Calibration
{
    /// <summary>Bins of the histogram the Percentile and Mse methods read.</summary>
    internal const int Bins = 2048;

    /// <summary>The ranges of <paramref name="model"/>'s input and layer outputs on up to <paramref name="batches"/> batches.</summary>
    public static ActivationRanges Run(
        Model model, ModelGraph graph, DataLoader data, int batches, QuantizationOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        if (data.Count == 0 || data.Dataset.Count == 0)
        {
            throw new ArgumentException($"Quantize: the calibration loader gives no batches ({data.Dataset.Count} examples, batch size {data.BatchSize}); pass at least one batch of representative inputs.", nameof(data));
        }

        int total = Math.Min(batches, data.Count);
        var observers = new Dictionary<object, RangeObserver>();
        bool histogram = options.Method != CalibrationMethod.MinMax;
        Pass(model, graph, data, total, observers, histogram ? "Calibration 1/2" : "Calibration", output, cancellationToken, secondPass: false);
        if (histogram)
        {
            foreach (var observer in observers.Values)
            {
                observer.StartHistogram();
            }

            Pass(model, graph, data, total, observers, "Calibration 2/2", output, cancellationToken, secondPass: true);
        }

        var ranges = new ActivationRanges();
        foreach (var (key, observer) in observers)
        {
            if (observer.Seen)
            {
                var (min, max) = observer.Range(options);
                if (key is LinearOutput linear)
                {
                    ranges.SetBeforeActivation(linear.Layer, min, max);
                }
                else
                {
                    ranges.Set(key as Layer, min, max);
                }
            }
        }

        return ranges;
    }

    private static void Pass(
        Model model, ModelGraph graph, DataLoader data, int total, Dictionary<object, RangeObserver> observers, string title, TextWriter output,
        CancellationToken cancellationToken, bool secondPass)
    {
        var progress = new ProgressBar(output, title, total, verbose: 1);
        int done = 0;
        var noLogs = new Dictionary<string, double>();
        foreach (var (x, y) in data.Batches(cancellationToken))
        {
            using (Tensor.NewScope())
            using (Tensor.NoGrad())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (x.Rank < 1 || !Shapes.SameShape(x.ShapeRef[1..], model.InputShape!))
                {
                    throw new ArgumentException(
                        $"Quantize: calibration batch {done} has inputs {Shapes.Format(x.ShapeRef)}, but model '{model.Name}' takes {Shapes.Format([-1, .. model.InputShape!])} (per example {Shapes.Format(model.InputShape!)}).",
                        nameof(data));
                }

                var input = x.To(model.Device);
                var values = new Tensor[graph.Nodes.Count];
                var masks = new Tensor?[graph.Nodes.Count];
                values[0] = input;
                Observe(observers, InputKey, input, secondPass);
                for (int i = 1; i < values.Length; i++)
                {
                    var (layer, inputs) = graph.Nodes[i];
                    values[i] = MaskFlow.Call(layer!, [.. inputs.Select(j => values[j])], masks[inputs[0]], training: false, out masks[i]);
                    Observe(observers, layer!, values[i], secondPass);
                    if (BeforeActivation(layer!, values[inputs[0]]) is { } linear)
                    {
                        Observe(observers, new LinearOutput(layer!), linear, secondPass);
                    }
                }
            }

            x.Dispose();
            y.Dispose();
            progress.Update(++done, noLogs);
            if (done == total)
            {
                break;
            }
        }

        if (done == 0)
        {
            throw new ArgumentException("Quantize: the calibration loader gave no batches; pass at least one batch of representative inputs.", nameof(data));
        }

        progress.Finish(done, noLogs);
    }

    /// <summary>
    /// The output before its activation of a Conv2D (channels first) or Dense whose activation is neither linear nor
    /// ReLU (the value its int8 form computes, the activation then running in float32), or null for other layers.
    /// </summary>
    private static Tensor? BeforeActivation(Layer layer, Tensor input) => layer switch
    {
        Layers.Dense dense when !QuantizationPlan.IsLinearOrRelu(dense.ActivationName) =>
            dense.Bias is { } bias ? input.MatMul(dense.Kernel.Value) + bias.Value : input.MatMul(dense.Kernel.Value),
        Layers.Conv2D { DataFormat: Layers.DataFormat.ChannelsFirst } conv when !QuantizationPlan.IsLinearOrRelu(conv.ActivationName) =>
            input.Conv2d(conv.Kernel.Value, conv.Bias?.Value, conv.Strides, conv.PaddingFor(input), conv.DilationRate, conv.Groups),
        _ => null,
    };

    /// <summary>The observer key of a layer's output before its activation.</summary>
    private sealed record LinearOutput(Layer Layer);

    /// <summary>The key of the model input's observer (ranges key it as null).</summary>
    private static readonly object InputKey = new();

    private static void Observe(Dictionary<object, RangeObserver> observers, object key, Tensor value, bool secondPass)
    {
        if (!value.DType.IsFloatingPoint())
        {
            return;
        }

        if (!observers.TryGetValue(key, out var observer))
        {
            observers[key] = observer = new RangeObserver();
        }

        float[] values = value.ToArray<float>();
        if (secondPass)
        {
            observer.AddToHistogram(values);
        }
        else
        {
            observer.AddToRange(values);
        }
    }
}
