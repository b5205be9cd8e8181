// The image formats plots are saved in: PNG for viewing anywhere, SVG for sharp zooming and for
// pages that embed the figure.
namespace Lepton.Plotting;

/// <summary>The file format of a saved plot.</summary>
/// <example><code>new PlotHistory("runs/history.svg", PlotFormat.Svg)</code></example>
public enum PlotFormat
{
    /// <summary>A PNG bitmap.</summary>
    Png,

    /// <summary>An SVG vector image (text stays text).</summary>
    Svg,
}
