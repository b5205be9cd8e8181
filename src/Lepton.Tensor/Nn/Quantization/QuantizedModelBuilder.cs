// Builds the int8 model from a float one: walks the source graph in order, fuses Conv2D + BatchNormalization + ReLU
// and Dense/Add + ReLU, turns each layer with an int8 kernel into its quantized layer, runs the rest in float32 on
// copies of the source layers, and puts Quantize/Dequantize layers wherever an edge crosses between the two.
using Lepton.Nn.Layers;

namespace Lepton.Nn.Quantization;

/// <summary>Conversion of Sequential and functional models to static or dynamic int8 models.</summary>
internal static class QuantizedModelBuilder
{
    /// <summary>
    /// The statically quantized copy of <paramref name="source"/> with the activation ranges <paramref name="ranges"/>
    /// (see <see cref="ActivationRanges"/> for the keys); the source is only read.
    /// </summary>
    /// <param name="source">A built Sequential or functional model with one input.</param>
    /// <param name="ranges">The range of the model input and of each layer output that is quantized.</param>
    /// <param name="options">Weight scales per channel or per tensor and the layers kept in float32.</param>
    /// <returns>A new, uncompiled model: float32 in, float32 out.</returns>
    internal static Model Convert(Model source, ActivationRanges ranges, QuantizationOptions options)
    {
        var graph = ModelGraph.Of(source, "Quantize");
        var plan = new QuantizationPlan(source, graph, options);
        return new Conversion(source, graph, plan, ranges, options).Run();
    }

    /// <summary>The copy of <paramref name="source"/> whose Dense layers run <see cref="DynamicQuantizedDense"/>.</summary>
    /// <param name="source">A built Sequential or functional model with one input.</param>
    /// <param name="options">Per-channel or per-tensor scales and the layers kept in float32.</param>
    internal static Model ConvertDynamic(Model source, QuantizationOptions options)
    {
        var graph = ModelGraph.Of(source, "QuantizeDynamic");
        var plan = QuantizationPlan.Dynamic(source, graph, options);
        return new Conversion(source, graph, plan, new ActivationRanges(), options).Run();
    }

    /// <summary>
    /// The kernel [filters, channels/groups, kh, kw] and bias [filters] of <paramref name="conv"/> (linear activation)
    /// followed by <paramref name="norm"/> in inference: w' = w * g / sqrt(var + eps), b' = (b - mean) * g / sqrt(var +
    /// eps) + beta, per filter, computed in float64 and rounded to float32 once.
    /// </summary>
    /// <param name="conv">The convolution (channels first, no activation).</param>
    /// <param name="norm">The batch normalization of its output channels.</param>
    /// <returns>The folded kernel and bias, as flat arrays.</returns>
    internal static (float[] Kernel, float[] Bias) FoldBatchNorm(Conv2D conv, BatchNormalization norm)
    {
        float[] kernel = conv.Kernel.Value.ToArray<float>();
        int filters = conv.Filters, per = kernel.Length / filters;
        float[] bias = conv.Bias?.Value.ToArray<float>() ?? new float[filters];
        float[] mean = norm.MovingMean.Value.ToArray<float>();
        float[] variance = norm.MovingVariance.Value.ToArray<float>();
        float[]? gamma = norm.Gamma?.Value.ToArray<float>();
        float[]? beta = norm.Beta?.Value.ToArray<float>();
        if (mean.Length != filters)
        {
            throw new ArgumentException($"Batch normalization '{norm.Name}' normalizes {mean.Length} channels but '{conv.Name}' has {filters} filters.");
        }

        var foldedKernel = new float[kernel.Length];
        var foldedBias = new float[filters];
        for (int k = 0; k < filters; k++)
        {
            double factor = (gamma?[k] ?? 1.0) / Math.Sqrt((double)variance[k] + norm.Epsilon);
            for (int i = k * per; i < (k + 1) * per; i++)
            {
                foldedKernel[i] = (float)(kernel[i] * factor);
            }

            foldedBias[k] = (float)(((bias[k] - (double)mean[k]) * factor) + (beta?[k] ?? 0.0));
        }

        return (foldedKernel, foldedBias);
    }

    /// <summary>Symmetric int8 weights of <paramref name="channels"/> output channels (outermost) and their scales, one per channel.</summary>
    internal static (sbyte[] Values, float[] Scales) QuantizeWeights(float[] weights, int channels, bool perChannel)
    {
        float[] scales = QuantParams.WeightScales(weights, perChannel ? channels : 1);
        if (!perChannel)
        {
            scales = Enumerable.Repeat(scales[0], channels).ToArray();
        }

        int per = weights.Length / channels;
        var values = new sbyte[weights.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = QuantParams.QuantizeWeight(weights[i], scales[i / per]);
        }

        return (values, scales);
    }

    /// <summary>The int32 bias with scale (float32) inputScale * weightScales[k], rounded to nearest even.</summary>
    internal static int[] QuantizeBias(float[] bias, float inputScale, float[] weightScales)
    {
        var values = new int[bias.Length];
        for (int k = 0; k < values.Length; k++)
        {
            float scale = inputScale * weightScales[k];
            double q = Math.Round(bias[k] / (double)scale, MidpointRounding.ToEven);
            values[k] = (int)Math.Clamp(q, int.MinValue, int.MaxValue);
        }

        return values;
    }
}
