// Renders ScottPlot panels side by side onto one canvas (a bitmap for PNG, an SVG canvas for SVG)
// and replaces the file atomically, so a viewer refreshing it never sees half an image.
using Lepton.IO;
using ScottPlot;
using SkiaSharp;

namespace Lepton.Plotting;

/// <summary>Saves one or more plots as one figure.</summary>
internal static class FigureWriter
{
    /// <summary>The format a path's extension names (.svg: SVG, else PNG) unless one is given.</summary>
    public static PlotFormat Resolve(string path, PlotFormat? format) =>
        format ?? (string.Equals(Path.GetExtension(path), ".svg", StringComparison.OrdinalIgnoreCase) ? PlotFormat.Svg : PlotFormat.Png);

    /// <summary>Renders <paramref name="panels"/> left to right, each <paramref name="panelWidth"/> wide, and writes the figure to <paramref name="path"/>.</summary>
    public static void Save(string path, PlotFormat format, IReadOnlyList<Plot> panels, int panelWidth, int height)
    {
        if (panelWidth <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(panelWidth), $"Plot size must be positive; got {panelWidth} x {height} per panel.");
        }

        int width = panelWidth * Math.Max(1, panels.Count);
        byte[] bytes = format == PlotFormat.Svg ? RenderSvg(panels, panelWidth, width, height) : RenderPng(panels, panelWidth, width, height);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static void Draw(SKCanvas canvas, IReadOnlyList<Plot> panels, int panelWidth, int height)
    {
        canvas.Clear(SKColors.White);
        for (int i = 0; i < panels.Count; i++)
        {
            // A plot clears what it is drawn on: clip each to its own rectangle.
            canvas.Save();
            canvas.ClipRect(new SKRect(i * panelWidth, 0, (i + 1) * panelWidth, height));
            panels[i].Render(canvas, new PixelRect(i * panelWidth, (i + 1) * panelWidth, height, 0));
            canvas.Restore();
        }
    }

    private static byte[] RenderPng(IReadOnlyList<Plot> panels, int panelWidth, int width, int height)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Could not create a {width} x {height} drawing surface.");
        Draw(surface.Canvas, panels, panelWidth, height);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static byte[] RenderSvg(IReadOnlyList<Plot> panels, int panelWidth, int width, int height)
    {
        using var stream = new MemoryStream();
        using (var managed = new SKManagedWStream(stream))
        using (var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), managed))
        {
            Draw(canvas, panels, panelWidth, height);
        }

        return stream.ToArray();
    }
}
