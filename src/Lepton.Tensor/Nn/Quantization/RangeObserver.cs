// What calibration records of one activation: its smallest and largest value, then (for Percentile and Mse) a
// histogram over that range, from which the chosen method picks the range to quantize over.
namespace Lepton.Nn.Quantization;

/// <summary>The observations of one activation edge.</summary>
internal sealed class RangeObserver
{
    private float min = float.PositiveInfinity, max = float.NegativeInfinity;
    private long[]? histogram;
    private float lo, width;

    /// <summary>Whether any finite value was seen.</summary>
    public bool Seen => min <= max;

    /// <summary>Widens the range to hold <paramref name="values"/> (NaN and infinities are ignored).</summary>
    public void AddToRange(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                min = MathF.Min(min, v);
                max = MathF.Max(max, v);
            }
        }
    }

    /// <summary>Starts a histogram of <see cref="Calibration.Bins"/> bins over the range seen, widened to hold 0.</summary>
    public void StartHistogram()
    {
        if (!Seen)
        {
            return;
        }

        lo = MathF.Min(min, 0f);
        float hi = MathF.Max(max, 0f);
        width = (hi - lo) / Calibration.Bins;
        histogram = new long[Calibration.Bins];
    }

    /// <summary>Counts <paramref name="values"/> into the histogram (values outside the first pass's range go to the end bins).</summary>
    public void AddToHistogram(ReadOnlySpan<float> values)
    {
        if (histogram is null || !(width > 0f))
        {
            return;
        }

        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                histogram[Math.Clamp((int)((v - lo) / width), 0, Calibration.Bins - 1)]++;
            }
        }
    }

    /// <summary>The range to quantize over, by <paramref name="options"/>'s method.</summary>
    public (float Min, float Max) Range(QuantizationOptions options)
    {
        if (histogram is null || !(width > 0f) || options.Method == CalibrationMethod.MinMax)
        {
            return (min, max);
        }

        return options.Method == CalibrationMethod.Percentile ? PercentileRange(options.Percentile) : MseRange();
    }

    /// <summary>The lower edge of the bin where the (100 - p)% point falls and the upper edge of the bin of the p% point.</summary>
    private (float, float) PercentileRange(double percentile)
    {
        long[] bins = histogram!;
        long count = bins.Sum();
        double tail = count * (1 - (percentile / 100));
        int first = 0, last = Calibration.Bins - 1;
        for (long below = 0; first < last && below + bins[first] <= tail; first++)
        {
            below += bins[first];
        }

        for (long above = 0; last > first && above + bins[last] <= tail; last--)
        {
            above += bins[last];
        }

        return (MathF.Max(min, lo + (first * width)), MathF.Min(max, lo + ((last + 1) * width)));
    }

    /// <summary>
    /// The range of least expected squared error: a common shrink of both ends, then each end alone, over 200 steps
    /// each; inside the grid a value costs step^2 / 12 (rounding), outside its distance to the grid's edge squared.
    /// </summary>
    private (float, float) MseRange()
    {
        const int steps = 200;
        float bestLo = min, bestHi = max;
        double best = Error(bestLo, bestHi);
        void Try(float a, float b)
        {
            double e = Error(a, b);
            if (e < best)
            {
                (best, bestLo, bestHi) = (e, a, b);
            }
        }

        for (int t = 1; t < steps; t++)
        {
            float f = (float)t / steps;
            Try(min * f, max * f);
        }

        float keptLo = bestLo, keptHi = bestHi;
        for (int t = 1; t < steps; t++)
        {
            float f = (float)t / steps;
            Try(keptLo, keptHi * f);
        }

        keptHi = bestHi;
        for (int t = 1; t < steps; t++)
        {
            float f = (float)t / steps;
            Try(keptLo * f, keptHi);
        }

        return (bestLo, bestHi);
    }

    private double Error(float a, float b)
    {
        var p = QuantParams.FromRange(MathF.Min(a, b), MathF.Max(a, b));
        double step = p.Scale, low = -p.ZeroPoint * step, high = (255 - p.ZeroPoint) * step;
        double rounding = step * step / 12, error = 0;
        for (int i = 0; i < Calibration.Bins; i++)
        {
            long n = histogram![i];
            if (n == 0)
            {
                continue;
            }

            double c = lo + ((i + 0.5) * width);
            double d = c < low ? c - low : c > high ? c - high : 0;
            error += n * (d == 0 ? rounding : d * d);
        }

        return error;
    }
}
