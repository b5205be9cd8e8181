// Post-training quantization entry points: Quantize calibrates activation ranges on sample data and builds the int8
// model; QuantizeDynamic gives Dense layers int8 weights with no data. Both return a new model and only read this one.
using Lepton.Data;
using Lepton.Nn.Quantization;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>
    /// Post-training static quantization: runs this model in inference on up to <paramref name="batches"/> batches of
    /// <paramref name="calibration"/> to observe the range of its input and of every layer output, then returns a new
    /// model in which Conv2D (with a following BatchNormalization folded in), Dense, Add, Concatenate, MaxPooling2D,
    /// Flatten and Reshape run on uint8 activations with int8 weights, a ReLU after them fused into their output (a
    /// Conv2D or Dense with another activation, softmax say, computes in int8 and applies it in float32). Other layers run
    /// in float32 between Dequantize and Quantize layers; the input is quantized at entry and the outputs are float32.
    /// This model is never changed. A compiled model's compile settings are copied to the new one.
    /// </summary>
    /// <param name="calibration">Representative inputs (targets are ignored), shaped as the model's input.</param>
    /// <param name="batches">How many batches of <paramref name="calibration"/> to observe (at most its count).</param>
    /// <param name="options">Calibration method, per-channel or per-tensor weights, layers kept in float32.</param>
    /// <param name="cancellationToken">Stops calibration between batches.</param>
    /// <returns>The quantized model.</returns>
    /// <exception cref="NotSupportedException">The model is subclassed or has several inputs.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or is prepared for quantization-aware training.</exception>
    /// <exception cref="ArgumentException">The calibration data is empty or of the wrong shape, or the options name a layer the model lacks or one that cannot be quantized.</exception>
    /// <example><code>
    /// var calibration = new DataLoader(new TensorDataset(xTrain.Narrow(0, 0, 1024), yTrain.Narrow(0, 0, 1024)), batchSize: 64);
    /// using var int8 = model.Quantize(calibration, batches: 16);
    /// var accuracy = int8.Evaluate(xTest, yTest)["accuracy"];
    /// </code></example>
    public Model Quantize(DataLoader calibration, int batches = 32, QuantizationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        if (batches <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batches), batches, "Quantize: the number of calibration batches must be positive.");
        }

        if (IsQuantizationAware)
        {
            throw new InvalidOperationException($"Quantize: model '{Name}' is prepared for quantization-aware training; convert it with Quantize() and no data, which uses its observed ranges.");
        }

        options ??= new QuantizationOptions();
        options.Check();
        var graph = ModelGraph.Of(this, "Quantize");
        _ = new QuantizationPlan(this, graph, options); // checks the options before calibration spends time
        var ranges = Calibration.Run(this, graph, calibration, batches, options, Output, cancellationToken);
        return CopyCompile(QuantizedModelBuilder.Convert(this, ranges, options));
    }

    /// <summary>
    /// Post-training dynamic quantization: returns a new model whose Dense layers hold int8 weights (one scale per unit,
    /// or per layer) and quantize their float32 input per call from its own range; every other layer is a float32 copy.
    /// Needs no calibration data; this model is never changed. A compiled model's compile settings are copied.
    /// </summary>
    /// <param name="options">Per-channel or per-tensor weights and the layers kept in float32 (the calibration method is unused).</param>
    /// <returns>The quantized model.</returns>
    /// <exception cref="NotSupportedException">The model is subclassed or has several inputs.</exception>
    /// <exception cref="InvalidOperationException">The model is not built.</exception>
    /// <exception cref="ArgumentException">The options name a layer the model lacks or one that is not Dense.</exception>
    /// <example><code>using var smaller = model.QuantizeDynamic(); var y = smaller.Predict(x);</code></example>
    public Model QuantizeDynamic(QuantizationOptions? options = null) =>
        CopyCompile(QuantizedModelBuilder.ConvertDynamic(this, options ?? new QuantizationOptions()));

    /// <summary>Compiles <paramref name="quantized"/> as this model is compiled (a fresh optimizer of the same configuration).</summary>
    private Model CopyCompile(Model quantized)
    {
        quantized.Output = Output;
        if (Optimizer is not null && Loss is not null)
        {
            quantized.Compile(
                Optimizers.Optimizer.FromConfig(FromJson(ToJson(Optimizer.GetConfig()))),
                Nn.Loss.FromConfig(FromJson(ToJson(Loss.GetConfig()))),
                [.. Metrics.Select(m => Metric.FromName(MetricKey(m)))]);
        }

        return quantized;
    }
}
