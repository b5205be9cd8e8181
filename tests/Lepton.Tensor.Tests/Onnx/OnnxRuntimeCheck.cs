// Runs an ONNX file in ONNX Runtime (the reference) and compares outputs with ours, reporting the
// worst element when they differ.
using Lepton.Nn;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Lepton.Tests.Onnx;

internal static class OnnxRuntimeCheck
{
    /// <summary>The first output of the ONNX file at <paramref name="path"/> on one float or int input.</summary>
    public static float[] Run(string path, Tensor input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        string name = session.InputMetadata.Keys.First();
        var dims = input.Shape;
        NamedOnnxValue value = input.DType switch
        {
            DType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(input.ToArray<int>(), dims)),
            DType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(input.ToArray<long>(), dims)),
            _ => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(input.ToArray(), dims)),
        };
        using var results = session.Run([value]);
        return [.. results.First().AsTensor<float>()];
    }

    /// <summary>Asserts |actual - expected| &lt;= tolerance * max(1, |expected|) element-wise.</summary>
    public static void Close(float[] expected, float[] actual, float tolerance = 1e-5f, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double allowed = tolerance * Math.Max(1.0, Math.Abs(expected[i]));
            double excess = Math.Abs(actual[i] - expected[i]) - allowed;
            if (!(excess <= 0) && (worst < 0 || excess > worstExcess))
            {
                worst = i;
                worstExcess = excess;
            }
        }

        Assert.True(worst < 0, worst < 0 ? "" : $"{what}: element {worst} is {actual[worst]}, expected {expected[worst]} (tolerance {tolerance} relative).");
    }

    /// <summary>Exports <paramref name="model"/>, runs the file in ONNX Runtime and checks it matches our prediction.</summary>
    public static string ExportAndCompare(Model model, Tensor x, string folder, int opset = 17, float tolerance = 1e-5f)
    {
        string path = Path.Combine(folder, $"{model.Name}-{opset}.onnx");
        model.ExportOnnx(path, opset);
        Close(model.Predict(x).ToArray(), Run(path, x), tolerance, model.Name);
        return path;
    }
}
