// Keras's model summary table: each layer with its type, output shape and parameter count, then
// total, trainable and non-trainable parameter counts.
using System.Globalization;
using System.Text;

namespace Lepton.Nn;

public partial class Model
{
    /// <summary>Prints (to <see cref="Output"/>) and returns Keras's summary table.</summary>
    /// <example><code>model.Summary();</code></example>
    public string Summary()
    {
        const int nameWidth = 29, shapeWidth = 26, paramWidth = 12;
        int width = nameWidth + shapeWidth + paramWidth;
        var sb = new StringBuilder();
        sb.AppendLine($"Model: \"{Name}\"");
        sb.AppendLine(new string('_', width));
        sb.AppendLine(Row("Layer (type)", "Output Shape", "Param #"));
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

            sb.AppendLine(Row($"{layer.Name} ({layer.GetType().Name})", shape, layer.CountParams().ToString("N0", CultureInfo.InvariantCulture)));
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
        sb.AppendLine(new string('_', width));
        string text = sb.ToString();
        Output.Write(text);
        return text;

        static string Row(string a, string b, string c) =>
            " " + Fit(a, nameWidth - 1) + Fit(b, shapeWidth) + Fit(c, paramWidth);

        static string Fit(string text, int w) => text.Length >= w ? text[..(w - 1)] + " " : text.PadRight(w);
    }
}
