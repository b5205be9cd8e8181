// Reads TensorFlow Serving's predict body: {"instances": [...]} (one entry per example, row format) or
// {"inputs": ...} (the whole batch as one nested array, columnar format) into a dense float32 batch.
using System.Text.Json;

namespace Lepton.Serving;

/// <summary>A batch of examples read from a request: row-major data, the example count and the format to answer in.</summary>
internal readonly record struct TensorBatch(float[] Data, int Rows, bool Columnar);

/// <summary>Parses predict requests in TF Serving's JSON shapes, checking every value against the example shape.</summary>
internal static class JsonTensorReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>Reads the body; throws a 400 <see cref="ServingException"/> naming the model and the bad field.</summary>
    public static TensorBatch Read(byte[] body, string model, int[] exampleShape)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException e)
        {
            throw Bad(model, $"malformed JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Bad(model, $"the body must be a JSON object with \"instances\" or \"inputs\", got {Kind(root)}");
            }

            bool hasInstances = root.TryGetProperty("instances", out var instances);
            bool hasInputs = root.TryGetProperty("inputs", out var inputs);
            if (hasInstances == hasInputs)
            {
                throw Bad(model, hasInstances
                    ? "give either \"instances\" (row format) or \"inputs\" (columnar format), not both"
                    : "the body needs \"instances\" (row format) or \"inputs\" (columnar format)");
            }

            return hasInstances ? ReadRows(instances, model, exampleShape) : ReadColumns(inputs, model, exampleShape);
        }
    }

    private static TensorBatch ReadRows(JsonElement instances, string model, int[] exampleShape)
    {
        if (instances.ValueKind != JsonValueKind.Array)
        {
            throw Bad(model, $"\"instances\" must be an array of examples, got {Kind(instances)}");
        }

        int rows = instances.GetArrayLength();
        int size = Size(exampleShape);
        var data = new float[(long)rows * size];
        int row = 0;
        foreach (var instance in instances.EnumerateArray())
        {
            var value = SingleNamedInput(instance, model, $"instances[{row}]");
            ReadExample(value, model, $"instances[{row}]", exampleShape, data.AsSpan(row * size, size));
            row++;
        }

        return new TensorBatch(data, rows, Columnar: false);
    }

    private static TensorBatch ReadColumns(JsonElement inputs, string model, int[] exampleShape)
    {
        var value = SingleNamedInput(inputs, model, "inputs");
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Bad(model, $"\"inputs\" must be an array with the batch first, shape [N,{string.Join(",", exampleShape)}], got {Kind(value)}");
        }

        int rows = value.GetArrayLength();
        int size = Size(exampleShape);
        var data = new float[(long)rows * size];
        int row = 0;
        foreach (var example in value.EnumerateArray())
        {
            ReadExample(example, model, $"inputs[{row}]", exampleShape, data.AsSpan(row * size, size));
            row++;
        }

        return new TensorBatch(data, rows, Columnar: true);
    }

    /// <summary>An object with one member stands for the model's single named input (TF's {"input_name": ...}).</summary>
    private static JsonElement SingleNamedInput(JsonElement value, string model, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return value;
        }

        var members = value.EnumerateObject().ToList();
        if (members.Count != 1)
        {
            throw Bad(model, $"{path}: the model has one input, so a named input object needs exactly one member, got {members.Count}");
        }

        return members[0].Value;
    }

    /// <summary>One example: a nested array of the example shape, or a flat array of all its values.</summary>
    private static void ReadExample(JsonElement value, string model, string path, int[] shape, Span<float> destination)
    {
        if (shape.Length > 1 && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == destination.Length
            && destination.Length != shape[0])
        {
            ReadNested(value, model, path, [destination.Length], 0, destination);
            return;
        }

        ReadNested(value, model, path, shape, 0, destination);
    }

    private static void ReadNested(JsonElement value, string model, string path, int[] shape, int dim, Span<float> destination)
    {
        if (dim == shape.Length)
        {
            if (value.ValueKind != JsonValueKind.Number)
            {
                throw Bad(model, $"{path}: expected a number (float32), got {Kind(value)}");
            }

            if (!value.TryGetDouble(out double number) || !float.IsFinite((float)number) && double.IsFinite(number))
            {
                throw Bad(model, $"{path}: {value.GetRawText()} is out of float32 range");
            }

            destination[0] = (float)number;
            return;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw Bad(model, $"{path}: expected an array of {shape[dim]} (dimension {dim} of the example shape [{string.Join(",", shape)}]), got {Kind(value)}");
        }

        int length = value.GetArrayLength();
        if (length != shape[dim])
        {
            throw Bad(model, $"{path}: expected {shape[dim]} values along dimension {dim} of the example shape [{string.Join(",", shape)}], got {length}");
        }

        int stride = destination.Length / Math.Max(shape[dim], 1);
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            ReadNested(item, model, $"{path}[{i}]", shape, dim + 1, destination.Slice(i * stride, stride));
            i++;
        }
    }

    private static int Size(int[] shape) => shape.Aggregate(1, (a, d) => a * d);

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => $"an array of {value.GetArrayLength()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => value.ValueKind.ToString(),
    };

    private static ServingException Bad(string model, string problem) => new(400, $"model '{model}': {problem}");
}
