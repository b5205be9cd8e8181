// Writes answers: predictions as TF Serving's row ({"predictions"}) or columnar ({"outputs"}) JSON or as
// a binary float32 tensor with X-Tensor-Shape, model status, and errors as {"error": "..."}.
using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Lepton.Serving;

/// <summary>Serializes predictions, model status and errors.</summary>
internal static class ResponseWriter
{
    // Answers are application/json, never embedded in HTML: keep quotes in error messages readable.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task WritePredictionsAsync(HttpContext context, float[] output, int rows, int[] exampleShape, AnswerFormat format)
    {
        var response = context.Response;
        if (format == AnswerFormat.Binary)
        {
            response.ContentType = "application/octet-stream";
            response.Headers[RequestReader.ShapeHeader] = string.Join(",", [rows, .. exampleShape]);
            return response.Body.WriteAsync(MemoryMarshal.AsBytes(output.AsSpan()).ToArray()).AsTask();
        }

        return WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName(format == AnswerFormat.Columns ? "outputs" : "predictions");
            writer.WriteStartArray();
            int size = output.Length / Math.Max(rows, 1);
            for (int row = 0; row < rows; row++)
            {
                WriteNested(writer, output.AsSpan(row * size, size), exampleShape, 0);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    public static Task WriteErrorAsync(HttpContext context, int status, string message) =>
        WriteJsonAsync(context, status, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("error", message);
            writer.WriteEndObject();
        });

    /// <summary>TF Serving's model status, plus the input and output signature.</summary>
    public static Task WriteStatusAsync(HttpContext context, IEnumerable<ServedVersion> versions)
    {
        var list = versions.ToList();
        return WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartArray("model_version_status");
            foreach (var served in list.OrderByDescending(v => v.Version))
            {
                writer.WriteStartObject();
                writer.WriteString("version", served.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteString("state", "AVAILABLE");
                writer.WriteStartObject("status");
                writer.WriteString("error_code", "OK");
                writer.WriteString("error_message", "");
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            var latest = list.MaxBy(v => v.Version)!;
            writer.WriteStartObject("metadata");
            writer.WriteString("name", latest.Name);
            writer.WriteNumber("max_batch_size", latest.Options.MaxBatchSize);
            WriteSignature(writer, "inputs", latest.Batcher.InputShape);
            WriteSignature(writer, "outputs", latest.Batcher.OutputShape);
            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    private static void WriteSignature(Utf8JsonWriter writer, string name, int[] exampleShape)
    {
        writer.WriteStartObject(name);
        writer.WriteString("dtype", "DT_FLOAT");
        writer.WriteStartArray("shape");
        writer.WriteNumberValue(-1);
        foreach (int d in exampleShape)
        {
            writer.WriteNumberValue(d);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteNested(Utf8JsonWriter writer, ReadOnlySpan<float> values, int[] shape, int dim)
    {
        if (dim == shape.Length)
        {
            float value = values[0];
            if (float.IsFinite(value))
            {
                writer.WriteNumberValue(value);
            }
            else
            {
                writer.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
            }

            return;
        }

        writer.WriteStartArray();
        int stride = values.Length / Math.Max(shape[dim], 1);
        for (int i = 0; i < shape[dim]; i++)
        {
            WriteNested(writer, values.Slice(i * stride, stride), shape, dim + 1);
        }

        writer.WriteEndArray();
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
