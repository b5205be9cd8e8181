// Keras's model summary table: each layer with its type, output shape, parameter count and the bytes its weights take
// (and, for a model being pruned, its kernels' sparsity), then total, trainable and non-trainable parameter counts and
// the total size.
using System.Globalization;
using System.Text;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>
    /// Prints (to <see cref="Output"/>) and returns Keras's summary table with a Bytes column (each weight's elements
    /// times its element size: 1 for int8, 4 for float32) and a total size line; while pruning masks are attached
    /// (<see cref="Pruning.LowMagnitude"/>) a Sparsity column gives the fraction of each layer's masked weights pruned.
    /// </summary>
    /// <example><code>model.Summary();</code></example>
    public string Summary()
    {
        const int nameWidth = 29, shapeWidth = 26, paramWidth = 12, bytesWidth = 12, sparsityWidth = 10;
        bool pruned = Weights.Any(w => w.PruningMask is not null);
        int width = nameWidth + shapeWidth + paramWidth + bytesWidth + (pruned ? sparsityWidth : 0);
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{Name}\"");
        sb.AppendLine(new string('_', width));
        sb.AppendLine(Row("Layer (type)", "Output Shape", "Param #", "Bytes", "Sparsity"));
        sb.AppendLine(new string('=', width));
        var layers = Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            string shape = layer.OutputShape is null ? "(unbuilt)" : "(None, " + string.Join(", ", layer.OutputShape) + ")";
            if (layer.OutputShape is { Length: 0 })
            {
                shape = "(None,)";
            }

            sb.AppendLine(Row($"{layer.Name} ({layer.GetType().Name})", shape, layer.CountParams().ToString("N0", CultureInfo.InvariantCulture), Bytes(layer).ToString("N0", CultureInfo.InvariantCulture), MaskedSparsity(layer)));
            if (i < layers.Count - 1)
            {
                sb.AppendLine();
            }
        }

        long total = CountParams();
        long trainable = TrainableWeights.Sum(w => (long)w.Value.Numel);
        sb.AppendLine(new string('=', width));
        sb.AppendLine($"Total params: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Trainable params: {trainable.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Non-trainable params: {(total - trainable).ToString("N0", CultureInfo.InvariantCulture)}");
        sb.AppendLine($"Total size: {Bytes(this).ToString("N0", CultureInfo.InvariantCulture)} bytes");
        sb.AppendLine(new string('_', width));
        string text = sb.ToString();
        Output.Write(text);
        return text;

        string Row(string a, string b, string c, string d, string e) =>
            " " + Fit(a, nameWidth - 1) + Fit(b, shapeWidth) + Fit(c, paramWidth) + (pruned ? Fit(d, bytesWidth) + e : d);

        static long Bytes(Layer layer) => layer.Weights.Sum(w => (long)w.Value.Numel * w.Value.DType.Size());

        static string MaskedSparsity(Layer layer)
        {
            var masks = layer.Weights.Select(w => w.PruningMask).OfType<Tensor>().ToList();
            long count = masks.Sum(m => (long)m.Numel);
            return count == 0 ? "" : (masks.Sum(m => (long)m.ToArray<float>().Count(v => v == 0)) / (double)count).ToString("P1", CultureInfo.InvariantCulture);
        }

        static string Fit(string text, int w) => text.Length >= w ? text[..(w - 1)] + " " : text.PadRight(w);
    }
}
