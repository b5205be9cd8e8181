// Comparing a tensor with a float64 reference: on failure the message gives the op, the shapes,
// the worst element and the max absolute and relative differences (tinygrad's helper_test_op idea).
namespace Lepton.Tests.Support;

public static class Check
{
    public static void Close(Nd expected, Tensor actual, double atol = 1e-5, double rtol = 1e-4, string what = "")
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Close(expected.Data, actual.ToArray(), atol, rtol, $"{what} shape [{string.Join(", ", expected.Shape)}]");
    }

    public static void Close(double[] expected, float[] actual, double atol, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxAbs = 0, maxRel = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a))
            {
                continue;
            }

            if (double.IsInfinity(e) && e == a)
            {
                continue;
            }

            double abs = Math.Abs(e - a);
            double rel = abs / Math.Max(Math.Abs(e), 1e-30);
            if (double.IsNaN(abs) || abs > atol + (rtol * Math.Abs(e)))
            {
                if (worst < 0 || abs > Math.Abs(expected[worst] - actual[worst]))
                {
                    worst = i;
                }
            }

            maxAbs = Math.Max(maxAbs, abs);
            maxRel = Math.Max(maxRel, rel);
        }

        if (worst >= 0)
        {
            Assert.Fail($"{what}: element {worst} expected {expected[worst]:G9}, got {actual[worst]:G9}; max abs diff {maxAbs:G3}, max rel diff {maxRel:G3} (atol {atol}, rtol {rtol}).");
        }
    }
}
