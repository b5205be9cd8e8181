// Gradient checking: the library's backward (float32) is compared with central finite differences
// of the float64 reference forward. The scalar checked is sum(y * r) with fixed random weights r,
// so every output element's gradient path is exercised.
namespace Lepton.Tests.Support;

public static class GradCheck
{
    public static void Run(
        Device device,
        Nd[] inputs,
        Func<Tensor[], Tensor> op,
        Func<Nd[], Nd> reference,
        double atol = 2e-3,
        double rtol = 2e-3,
        bool[]? differentiable = null,
        double eps = 1e-6)
    {
        var tensors = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            var values = Array.ConvertAll(inputs[i].Data, v => (float)v);
            tensors[i] = Tensor.FromArray(values, inputs[i].Shape, device: device);
            if (differentiable is null || differentiable[i])
            {
                tensors[i].RequiresGrad = true;
            }
        }

        // Round the inputs to float32 so both sides see the same values.
        var rounded = new Nd[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            rounded[i] = Nd.From(tensors[i]);
        }

        var y = op(tensors);
        var expectedY = reference(rounded);
        Assert.Equal(expectedY.Shape, y.Shape);
        var rng = new Random(12345);
        var weights = new double[expectedY.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = (rng.NextDouble() * 2) - 1;
        }

        var r = Tensor.FromArray(Array.ConvertAll(weights, w => (float)w), y.Shape, device: device);
        (y * r).Sum().Backward();

        for (int i = 0; i < inputs.Length; i++)
        {
            if (!tensors[i].RequiresGrad)
            {
                continue;
            }

            var numeric = new double[rounded[i].Length];
            for (int k = 0; k < numeric.Length; k++)
            {
                double saved = rounded[i].Data[k];
                double h = eps * Math.Max(1, Math.Abs(saved));
                rounded[i].Data[k] = saved + h;
                double plus = Dot(reference(rounded).Data, weights);
                rounded[i].Data[k] = saved - h;
                double minus = Dot(reference(rounded).Data, weights);
                rounded[i].Data[k] = saved;
                numeric[k] = (plus - minus) / (2 * h);
            }

            var grad = tensors[i].Grad ?? throw new Xunit.Sdk.XunitException($"input {i} received no gradient");
            Assert.Equal(inputs[i].Shape, grad.Shape);
            Check.Close(numeric, grad.ToArray(), atol, rtol, $"gradient of input {i}");
        }
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }
}
