// Small hand-built models for the end-to-end and memory tests: parameters as leaf tensors and a
// plain SGD step, so these tests depend on nothing above the Tensor API.
namespace Lepton.Tests.Support;

public sealed class TinyMlp(Device device, int inputs, int hidden, int outputs, ulong seed)
{
    private readonly Generator generator = new(seed);

    public Tensor W1 { get; } = Init(device, [inputs, hidden], inputs, seed);

    public Tensor B1 { get; } = Tensor.Zeros([hidden], device: device).RequiresGrad_();

    public Tensor W2 { get; } = Init(device, [hidden, outputs], hidden, seed + 1);

    public Tensor B2 { get; } = Tensor.Zeros([outputs], device: device).RequiresGrad_();

    public Tensor[] Parameters => [W1, B1, W2, B2];

    public Generator Generator => generator;

    public Tensor Forward(Tensor x) => ((x.MatMul(W1) + B1).Tanh().MatMul(W2)) + B2;

    public static Tensor Init(Device device, int[] shape, int fanIn, ulong seed) =>
        (Tensor.RandN(shape, new Generator(seed), device) * (1f / MathF.Sqrt(fanIn))).RequiresGrad_();
}

public static class Sgd
{
    public static void Step(Tensor[] parameters, float learningRate)
    {
        using (Tensor.NoGrad())
        {
            foreach (var p in parameters)
            {
                p.Add_(p.Grad!, -learningRate);
                p.ZeroGrad();
            }
        }
    }
}
