// Rebuilding layers from saved configurations: one factory per layer class, keyed by class name.
// Custom layers register their own factory to be loadable.
using Lepton.Nn.Layers;
using Lepton.Nn.Quantization;

namespace Lepton.Nn;

/// <summary>Maps layer class names to factories that rebuild them from <see cref="LayerConfig"/>.</summary>
public static class LayerRegistry
{
    private static readonly Dictionary<string, Func<LayerConfig, Layer>> Factories = new()
    {
        ["Dense"] = c => new Dense(c.Int("units"), c.String("activation"), c.Bool("use_bias"), c.String("kernel_initializer"), c.String("bias_initializer"), name: c.Name),
        ["Conv2D"] = c => new Conv2D(
            c.Int("filters"), Pair(c, "kernel_size"), Pair(c, "strides"), c.String("padding"), Pair(c, "dilation_rate"), c.String("activation"),
            c.Bool("use_bias"), c.String("kernel_initializer"), c.String("bias_initializer"), c.Int("groups"), Format(c), name: c.Name),
        ["MaxPooling2D"] = c => new MaxPooling2D(Square(c, "pool_size"), Square(c, "strides"), c.String("padding"), Format(c), name: c.Name, explicitPadding: OptionalPadding4(c)),
        ["AveragePooling2D"] = c => new AveragePooling2D(Square(c, "pool_size"), Square(c, "strides"), c.String("padding"), Format(c), name: c.Name,
            explicitPadding: OptionalPadding4(c), countIncludePad: c.Has("count_include_pad") && c.Bool("count_include_pad")),
        ["GlobalAveragePooling2D"] = c => new GlobalAveragePooling2D(Format(c), name: c.Name),
        ["Conv1D"] = c => new Conv1D(
            c.Int("filters"), Single(c, "kernel_size"), Single(c, "strides"), c.String("padding"), Single(c, "dilation_rate"), c.String("activation"),
            c.Bool("use_bias"), c.String("kernel_initializer"), c.String("bias_initializer"), c.Int("groups"), Format(c), name: c.Name),
        ["MaxPooling1D"] = c => new MaxPooling1D(Single(c, "pool_size"), Single(c, "strides"), c.String("padding"), Format(c), name: c.Name),
        ["GlobalAveragePooling1D"] = c => new GlobalAveragePooling1D(Format(c), name: c.Name),
        ["Flatten"] = c => new Flatten(name: c.Name),
        ["Reshape"] = c => new Reshape(c.Ints("target_shape"), name: c.Name),
        ["Dropout"] = c => new Dropout(c.Float("rate"), c.OptionalULong("seed"), name: c.Name),
        ["BatchNormalization"] = c => new BatchNormalization(c.Float("momentum"), c.Float("epsilon"), c.Bool("center"), c.Bool("scale"), Format(c), name: c.Name,
            unbiasedRunningVariance: !c.Has("unbiased_running_variance") || c.Bool("unbiased_running_variance"),
            synchronized: c.Has("synchronized") && c.Bool("synchronized")),
        ["Activation"] = c => new Activation(c.String("activation"), name: c.Name),
        ["ReLU"] = c => new ReLU(c.Float("negative_slope"), name: c.Name),
        ["Softmax"] = c => new Softmax(c.Int("axis"), name: c.Name),
        ["Embedding"] = c => new Embedding(c.Int("input_dim"), c.Int("output_dim"), c.String("embeddings_initializer"), name: c.Name, maskZero: c.Has("mask_zero") && c.Bool("mask_zero")),
        ["Masking"] = c => new Masking(c.Float("mask_value"), name: c.Name),
        ["SimpleRNN"] = c => new SimpleRNN(
            c.Int("units"), c.String("activation"), c.Bool("use_bias"), c.Bool("return_sequences"), c.Bool("return_state"), c.Bool("go_backwards"), c.Float("dropout"),
            c.Float("recurrent_dropout"), c.String("kernel_initializer"), c.String("recurrent_initializer"), c.String("bias_initializer"), c.OptionalULong("seed"), name: c.Name),
        ["LSTM"] = c => new LSTM(
            c.Int("units"), c.String("activation"), c.String("recurrent_activation"), c.Bool("use_bias"), c.Bool("return_sequences"), c.Bool("return_state"),
            c.Bool("go_backwards"), c.Float("dropout"), c.Float("recurrent_dropout"), c.String("kernel_initializer"), c.String("recurrent_initializer"),
            c.String("bias_initializer"), c.Bool("unit_forget_bias"), c.OptionalULong("seed"), name: c.Name),
        ["GRU"] = c => new GRU(
            c.Int("units"), c.String("activation"), c.String("recurrent_activation"), c.Bool("use_bias"), c.Bool("return_sequences"), c.Bool("return_state"),
            c.Bool("go_backwards"), c.Float("dropout"), c.Float("recurrent_dropout"), c.String("kernel_initializer"), c.String("recurrent_initializer"),
            c.String("bias_initializer"), c.Bool("reset_after"), c.OptionalULong("seed"), name: c.Name),
        ["Bidirectional"] = c => new Bidirectional((RecurrentLayer)c.Layer("layer"), c.String("merge_mode"), (RecurrentLayer)c.Layer("backward_layer"), name: c.Name),
        ["TimeDistributed"] = c => new TimeDistributed(c.Layer("layer"), name: c.Name),
        ["InputLayer"] = c => new InputLayer(c.Ints("shape"), DTypeExtensions.Parse(c.String("dtype")) ?? throw new InvalidDataException($"InputLayer '{c.Name}': dtype '{c.String("dtype")}' is not an element type."), c.Name),
        ["Add"] = c => new Add(c.Name),
        ["Concatenate"] = c => new Concatenate(c.Int("axis"), c.Name),
        ["Arithmetic"] = c => new Arithmetic(c.String("operation"), c.Has("constant_shape") ? c.Ints("constant_shape") : null, c.Bool("constant_first"), c.Bool("trainable_constant"), c.Name),
        ["Permute"] = c => new Permute(c.Ints("dims"), name: c.Name),
        ["Clip"] = c => new Clip(c.Has("min") ? c.Float("min") : null, c.Has("max") ? c.Float("max") : null, name: c.Name),
        ["ZeroPadding2D"] = c => new ZeroPadding2D(Padding4(c), Format(c), c.Name),
        ["ZeroPadding1D"] = c => new ZeroPadding1D(Pair(c, "padding"), Format(c), c.Name),
        ["Cropping1D"] = c => new Cropping1D(Pair(c, "cropping"), c.Name),
        ["Quantize"] = c => new Quantize(c.Name),
        ["Dequantize"] = c => new Dequantize(c.Name),
        ["QuantizedConv2D"] = c => new QuantizedConv2D(
            c.Int("filters"), Pair(c, "kernel_size"), Pair(c, "strides"), c.String("padding"), Pair(c, "dilation_rate"), c.Int("groups"), c.Bool("use_bias"), c.Bool("relu"), c.Name),
        ["QuantizedDense"] = c => new QuantizedDense(c.Int("units"), c.Bool("use_bias"), c.Bool("relu"), c.Name),
        ["DynamicQuantizedDense"] = c => new DynamicQuantizedDense(c.Int("units"), c.String("activation"), c.Bool("use_bias"), c.Name),
        ["QuantizedAdd"] = c => new QuantizedAdd(c.Bool("relu"), c.Name),
        ["QuantizedConcatenate"] = c => new QuantizedConcatenate(c.Int("axis"), c.Name),
        ["FakeQuantize"] = c => new FakeQuantize(c.Float("averaging_constant"), c.Name),
        ["QuantizeWrapper"] = c => new QuantizeWrapper(c.Layer("layer"), !c.Has("per_channel") || c.Bool("per_channel"), c.Name),
    };

    /// <summary>Makes a custom layer class loadable from saved models.</summary>
    /// <example><code>LayerRegistry.Register("Scale", c => new Scale(c.Name));</code></example>
    public static void Register(string className, Func<LayerConfig, Layer> factory)
    {
        lock (Factories)
        {
            Factories[className] = factory;
        }
    }

    internal static Layer Create(LayerConfig config)
    {
        Func<LayerConfig, Layer>? factory;
        lock (Factories)
        {
            Factories.TryGetValue(config.ClassName, out factory);
        }

        if (factory is null)
        {
            throw new InvalidDataException($"The saved model uses a layer class '{config.ClassName}' that is not registered; call LayerRegistry.Register(\"{config.ClassName}\", ...) before loading.");
        }

        var layer = factory(config);
        layer.Trainable = !config.Has("trainable") || config.Bool("trainable");
        return layer;
    }

    private static (int, int) Pair(LayerConfig c, string key)
    {
        var values = c.Ints(key, 2);
        return (values[0], values[1]);
    }

    /// <summary>A saved one-element [n] size (Keras saves 1-D sizes as lists).</summary>
    private static int Single(LayerConfig c, string key) => c.Ints(key, 1)[0];

    /// <summary>A saved [h, w] pair that must be square, for layers whose constructor takes one size.</summary>
    private static int Square(LayerConfig c, string key)
    {
        var (h, w) = Pair(c, key);
        return h == w
            ? h
            : throw new InvalidDataException($"The saved configuration of {c.ClassName} layer '{c.Name}' has '{key}' = [{h}, {w}]; only square values are supported.");
    }

    private static (int, int, int, int) Padding4(LayerConfig c, string key = "padding")
    {
        var p = c.Ints(key, 4);
        return (p[0], p[1], p[2], p[3]);
    }

    private static (int, int, int, int)? OptionalPadding4(LayerConfig c) => c.Has("explicit_padding") ? Padding4(c, "explicit_padding") : null;

    private static DataFormat Format(LayerConfig c) => c.Has("data_format") ? Layout.Parse(c.String("data_format")) : DataFormat.ChannelsFirst;
}
