// Turns an uploaded PNG or JPEG into one example of the model's input: decoded with StbImageSharp to
// grayscale or RGB, checked against the model's height and width, scaled to [0, 1], channels-first.
using StbImageSharp;

namespace Lepton.Serving;

/// <summary>Decodes images into model examples (no resizing: the image must have the model's size).</summary>
internal static class ImageInput
{
    /// <summary>
    /// Decodes <paramref name="bytes"/> into <paramref name="destination"/>, one example of <paramref name="exampleShape"/>:
    /// [C,H,W] (channels-first, C = 1 or 3), [H,W,C] (channels-last) or [H,W] (grayscale). Pixels are divided by 255.
    /// </summary>
    public static void Decode(byte[] bytes, string model, string what, int[] exampleShape, long maxPixels, Span<float> destination)
    {
        var (channels, height, width, channelsLast) = Layout(model, exampleShape);
        ImageInfo? info;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            info = ImageInfo.FromStream(stream);
        }
        catch (Exception e)
        {
            throw new ServingException(400, $"model '{model}': {what} is not a PNG or JPEG image that can be decoded ({e.Message})");
        }

        if (info is null)
        {
            throw new ServingException(400, $"model '{model}': {what} is not a PNG or JPEG image that can be decoded");
        }

        var header = info.Value;
        if ((long)header.Width * header.Height > maxPixels)
        {
            throw new ServingException(413, $"model '{model}': {what} is {header.Width}x{header.Height}, more than the {maxPixels} pixels allowed");
        }

        if (header.Width != width || header.Height != height)
        {
            throw new ServingException(400, $"model '{model}': {what} is {header.Width}x{header.Height} (width x height); the model expects {width}x{height}, and images are not resized");
        }

        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(bytes, channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue);
        }
        catch (Exception e)
        {
            throw new ServingException(400, $"model '{model}': {what} could not be decoded ({e.Message})");
        }

        var pixels = image.Data;
        int plane = height * width;
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < channels; c++)
            {
                float value = pixels[p * channels + c] / 255f;
                destination[channelsLast ? p * channels + c : c * plane + p] = value;
            }
        }
    }

    /// <summary>Channels, height, width and layout of an image-shaped example; 415 when the model does not take images.</summary>
    private static (int Channels, int Height, int Width, bool ChannelsLast) Layout(string model, int[] shape) => shape switch
    {
        [1 or 3, var h, var w] => (shape[0], h, w, false),
        [var h, var w, 1 or 3] => (shape[2], h, w, true),
        [var h, var w] => (1, h, w, false),
        _ => throw new ServingException(415, $"model '{model}': its input shape [{string.Join(",", shape)}] is not an image ([C,H,W], [H,W,C] with C = 1 or 3, or [H,W]); send JSON or a binary tensor"),
    };
}
