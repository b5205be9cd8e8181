// Quantization-aware training entry points: PrepareQuantizationAware returns a copy of the model that trains with the
// int8 model's rounding simulated (fake quantization) and observes its activation ranges on the device; Quantize()
// converts such a model with the ranges it observed, through the same conversion as post-training quantization.
using Lepton.Nn.Quantization;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>True for a model made by <see cref="PrepareQuantizationAware"/> (it holds activation observers).</summary>
    /// <example><code>var int8 = model.IsQuantizationAware ? model.Quantize() : model.Quantize(calibration);</code></example>
    public bool IsQuantizationAware => AllLayersOf(this).Any(l => l is FakeQuantize);

    /// <summary>
    /// Quantization-aware training (TF-MOT's <c>quantize_model</c>; PyTorch's <c>prepare_qat</c>): returns a new model,
    /// compiled as this one is (a fresh optimizer of the same configuration), whose forward pass simulates the int8 model
    /// that <see cref="Quantize(QuantizationOptions?)"/> will make of it. Fine-tune it with <c>Fit</c>, then call
    /// <c>Quantize()</c> on it. This model is never changed.
    /// </summary>
    /// <remarks>
    /// <para>Following the plan conversion makes: each BatchNormalization after a Conv2D is folded into it now, with its
    /// moving statistics (the statistics are frozen from here on: the folded convolution trains as one layer); the
    /// kernels of the Conv2D and Dense layers that will run in int8 are fake-quantized in every forward pass, symmetric
    /// int8 per output channel (or per tensor), their scales max|w| / 127 taken from the current weights; and every
    /// activation the int8 model quantizes (the model input where an int8 layer reads it, the outputs of Conv2D, Dense
    /// and Add after a ReLU fused into them, and of Concatenate) passes through a <see cref="FakeQuantize"/> observer:
    /// a moving average of each training batch's min and max (the first batch sets it) that fake-quantizes to uint8 on
    /// its range. Gradients pass straight through inside the range. Observers and scales live on the device, so
    /// training steps are captured and replayed as usual.</para>
    /// <para>The prepared model saves and loads like any model (its observers' ranges are weights), so fine-tuning can
    /// stop and resume.</para>
    /// </remarks>
    /// <param name="options">Per-channel or per-tensor weight scales and the layers kept in float32 (the calibration
    /// settings are unused); pass the same options to <c>Quantize</c>, or none to let it read them off the prepared model.</param>
    /// <returns>The prepared, compiled model.</returns>
    /// <exception cref="NotSupportedException">The model is subclassed, has several inputs, or is prepared already.</exception>
    /// <exception cref="InvalidOperationException">The model is not built or not compiled.</exception>
    /// <exception cref="ArgumentException">The options name a layer the model lacks or one that cannot be quantized.</exception>
    /// <example><code>
    /// var qat = model.PrepareQuantizationAware();
    /// qat.Fit(xTrain, yTrain, epochs: 1, batchSize: 64);
    /// using var int8 = qat.Quantize();
    /// </code></example>
    public Model PrepareQuantizationAware(QuantizationOptions? options = null)
    {
        if (this is not Sequential && !IsFunctional)
        {
            throw new NotSupportedException(
                $"PrepareQuantizationAware: model '{Name}' ({GetType().Name}) is subclassed; its graph is code that cannot be rewritten. Define it as a Sequential or functional model.");
        }

        BuildIfInputKnown();
        if (!Built || InputShape is null)
        {
            throw new InvalidOperationException($"PrepareQuantizationAware: model '{Name}' is not built; call it once or declare its input shape first.");
        }

        if (Optimizer is null || Loss is null)
        {
            throw new InvalidOperationException(
                $"PrepareQuantizationAware: model '{Name}' is not compiled; compile it first (the prepared model is compiled the same way and fine-tuned with Fit).");
        }

        if (IsQuantizationAware)
        {
            throw new NotSupportedException($"PrepareQuantizationAware: model '{Name}' is prepared for quantization-aware training already.");
        }

        options ??= new QuantizationOptions();
        options.Check();
        return CopyCompile(QuantizationAwarePreparation.Prepare(this, options));
    }

    /// <summary>
    /// Converts a model made by <see cref="PrepareQuantizationAware"/> (and fine-tuned) to int8 with the activation ranges
    /// its observers hold: the same conversion, and the same model, as post-training <c>Quantize</c> gives with those
    /// ranges, so the int8 model computes what the fine-tuning simulated. No calibration data is needed; this model is
    /// never changed. A compiled model's compile settings are copied to the new one.
    /// </summary>
    /// <param name="options">Per-channel or per-tensor weight scales and the layers kept in float32, as given when preparing;
    /// null reads them off this model (wrapped kernels are quantized with their own scales, others stay float32).</param>
    /// <returns>The int8 model: float32 in, float32 out.</returns>
    /// <exception cref="InvalidOperationException">The model was not prepared for quantization-aware training (calibrate
    /// with <c>Quantize(calibration)</c> instead), or an observer has not seen a training batch.</exception>
    /// <example><code>using var int8 = qat.Quantize(); var accuracy = int8.Evaluate(xTest, yTest)["accuracy"];</code></example>
    public Model Quantize(QuantizationOptions? options = null)
    {
        if (!IsQuantizationAware)
        {
            throw new InvalidOperationException(
                $"Quantize: model '{Name}' was not prepared with PrepareQuantizationAware, so it has no observed ranges; pass calibration data (Quantize(calibration)) for post-training quantization.");
        }

        var (source, ranges, inferred) = QuantizationAwarePreparation.Unprepare(this);
        return CopyCompile(QuantizedModelBuilder.Convert(source, ranges, options ?? inferred));
    }

    /// <summary>
    /// Stops (or restarts) the range updates of every observer of a model prepared by <see cref="PrepareQuantizationAware"/>,
    /// as PyTorch's <c>disable_observer</c>: fake quantization goes on with the ranges as they are. Freezing for the last
    /// steps of fine-tuning lets the weights settle on the final grid.
    /// </summary>
    /// <param name="frozen">True to freeze the ranges, false to let them move again.</param>
    /// <exception cref="InvalidOperationException">The model has no observers.</exception>
    /// <example><code>qat.Fit(x, y, epochs: 2); qat.FreezeQuantizationRanges(); qat.Fit(x, y, epochs: 1);</code></example>
    public void FreezeQuantizationRanges(bool frozen = true)
    {
        var observers = AllLayersOf(this).OfType<FakeQuantize>().ToList();
        if (observers.Count == 0)
        {
            throw new InvalidOperationException($"FreezeQuantizationRanges: model '{Name}' has no observers; prepare it with PrepareQuantizationAware first.");
        }

        foreach (var observer in observers)
        {
            observer.Frozen = frozen;
        }
    }

    private static IEnumerable<Layer> AllLayersOf(Layer layer) => layer.Sublayers.SelectMany(l => (IEnumerable<Layer>)[l, .. AllLayersOf(l)]);
}
