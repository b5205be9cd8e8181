// Reads a predict request's body within its size limit and decodes it by content type: JSON (TF
// Serving's shapes), a binary float32 tensor with X-Tensor-Shape, one PNG/JPEG image, or multipart.
using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Lepton.Serving;

/// <summary>How the answer is written: TF's row or columnar JSON, or a binary tensor.</summary>
internal enum AnswerFormat
{
    Rows,
    Columns,
    Binary,
}

/// <summary>Turns a predict request into a batch of examples of the model's input shape.</summary>
internal static class RequestReader
{
    /// <summary>The header giving a binary tensor's shape, batch first: <c>X-Tensor-Shape: 8,1,28,28</c>.</summary>
    public const string ShapeHeader = "X-Tensor-Shape";

    /// <summary>Reads and decodes the body; throws a <see cref="ServingException"/> (400, 413, 415) naming the problem.</summary>
    public static async Task<(TensorBatch Batch, AnswerFormat Format)> ReadAsync(HttpContext context, ServedVersion served, CancellationToken cancellationToken)
    {
        var request = context.Request;
        string model = served.Name;
        var shape = served.Batcher.InputShape;
        byte[] body = await ReadBodyAsync(request, served.Options.MaxBodyBytes, model, cancellationToken).ConfigureAwait(false);
        string mediaType = (request.ContentType ?? "application/json").Split(';')[0].Trim().ToLowerInvariant();
        switch (mediaType)
        {
            case "application/json" or "text/json" or "":
                var batch = JsonTensorReader.Read(body, model, shape);
                return (batch, batch.Columnar ? AnswerFormat.Columns : AnswerFormat.Rows);
            case "application/octet-stream":
                return (ReadBinary(body, request.Headers[ShapeHeader].ToString(), model, shape), AnswerFormat.Binary);
            case "image/png" or "image/jpeg":
                {
                    var data = new float[served.Batcher.InputSize];
                    ImageInput.Decode(body, model, "the image", shape, served.Options.MaxImagePixels, data);
                    return (new TensorBatch(data, 1, false), AnswerFormat.Rows);
                }

            case "multipart/form-data":
                return (await ReadMultipartAsync(context, body, served, cancellationToken).ConfigureAwait(false), AnswerFormat.Rows);
            default:
                throw new ServingException(415, $"model '{model}': content type '{mediaType}' is not supported; send application/json, application/octet-stream (float32 with {ShapeHeader}), image/png, image/jpeg or multipart/form-data");
        }
    }

    /// <summary>Reads the whole body, refusing (413) one larger than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, long limit, string model, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw TooLarge(model, request.ContentLength.Value, limit);
        }

        // The model's own limit applies, not the server's default (30 MB on Kestrel).
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        using var buffer = new MemoryStream(request.ContentLength is long known ? (int)known : 4096);
        byte[] chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw TooLarge(model, buffer.Length + read, limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(model, limit + 1, limit);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>Little-endian float32 values, batch first, with the shape in <see cref="ShapeHeader"/>.</summary>
    private static TensorBatch ReadBinary(byte[] body, string shapeText, string model, int[] exampleShape)
    {
        string expected = $"N,{string.Join(",", exampleShape)}";
        if (string.IsNullOrWhiteSpace(shapeText))
        {
            throw new ServingException(400, $"model '{model}': a binary tensor needs the header {ShapeHeader}: {expected}");
        }

        var parts = shapeText.Split(',', StringSplitOptions.TrimEntries);
        var shape = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
            {
                throw new ServingException(400, $"model '{model}': {ShapeHeader} '{shapeText}' is not a list of non-negative integers like {expected}");
            }
        }

        if (shape.Length != exampleShape.Length + 1 || !shape.AsSpan(1).SequenceEqual(exampleShape))
        {
            throw new ServingException(400, $"model '{model}': {ShapeHeader} is [{shapeText}]; expected [{expected}]");
        }

        long bytes = 4L * shape[0] * exampleShape.Aggregate(1L, (a, d) => a * d);
        if (body.LongLength != bytes)
        {
            throw new ServingException(400, $"model '{model}': a float32 tensor of shape [{shapeText}] has {bytes} bytes; the body has {body.LongLength}");
        }

        var data = new float[bytes / 4];
        MemoryMarshal.Cast<byte, float>(body).CopyTo(data);
        if (!BitConverter.IsLittleEndian)
        {
            var raw = MemoryMarshal.Cast<float, int>(data.AsSpan());
            System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(raw, raw);
        }

        return new TensorBatch(data, shape[0], false);
    }

    /// <summary>Every file part of a multipart form is one image, one example, in order.</summary>
    private static async Task<TensorBatch> ReadMultipartAsync(HttpContext context, byte[] body, ServedVersion served, CancellationToken cancellationToken)
    {
        string model = served.Name;
        IFormCollection form;
        try
        {
            context.Request.Body = new MemoryStream(body, writable: false);
            form = await context.Request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException)
        {
            throw new ServingException(400, $"model '{model}': the multipart body is malformed ({e.Message})");
        }

        if (form.Files.Count == 0)
        {
            throw new ServingException(400, $"model '{model}': the multipart body has no file parts; send each image as a file");
        }

        int size = served.Batcher.InputSize;
        var data = new float[(long)form.Files.Count * size];
        for (int i = 0; i < form.Files.Count; i++)
        {
            var file = form.Files[i];
            using var content = new MemoryStream();
            await file.CopyToAsync(content, cancellationToken).ConfigureAwait(false);
            ImageInput.Decode(content.ToArray(), model, $"file part {i} ('{file.FileName}')", served.Batcher.InputShape, served.Options.MaxImagePixels, data.AsSpan(i * size, size));
        }

        return new TensorBatch(data, form.Files.Count, false);
    }

    private static ServingException TooLarge(string model, long size, long limit) =>
        new(413, $"model '{model}': the body is {size} bytes or more; the limit is {limit} bytes");
}
