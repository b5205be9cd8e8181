// PPO's clipped surrogate: value and gradient with respect to the logits against a float64 reference
// (analytic derivative of the active branch of the min, checked by central differences), on a batch that
// exercises both clip edges and both signs of the advantage.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class PpoLossTests
{
    private static readonly double[,] Logits = { { 0.2, -0.5, 1.0 }, { 1.5, 0.3, -0.2 }, { -1.0, 0.4, 0.0 }, { 0.7, 0.7, -0.3 }, { -0.2, 1.2, 0.5 } };
    private static readonly int[] Actions = [2, 0, 1, 1, 0];
    private static readonly double[] OldLogProbs = [-1.2, -0.3, -1.5, -0.35, -2.6]; // ratios about 1.99, 0.91, 2.34, 0.60, 1.91
    private static readonly double[] Advantages = [1.0, 0.8, -0.6, -1.2, 0.4];
    private const double Clip = 0.2;

    [Fact]
    public void ClippedSurrogateValueAndGradientMatchTheReference()
    {
        int batch = Actions.Length, actions = 3;
        var logits = Tensor.FromArray(Flat(Logits), [batch, actions]);
        logits.RequiresGrad = true;
        var (logProbs, _) = PpoLoss.LogProbabilities(logits, Tensor.FromArray(Actions, [batch]));
        var loss = PpoLoss.ClippedSurrogate(logProbs, Tensor.FromArray(Array.ConvertAll(OldLogProbs, v => (float)v), [batch]), Tensor.FromArray(Array.ConvertAll(Advantages, v => (float)v), [batch]), (float)Clip);
        loss.Backward();

        var (expectedLoss, expectedGrad) = Reference(Logits);
        Assert.Equal(expectedLoss, loss.Item(), 5);
        var grad = logits.Grad!.ToArray();
        for (int i = 0; i < grad.Length; i++)
        {
            Assert.Equal(expectedGrad[i], grad[i], 5);
        }

        // The batch covers every branch: clipped above with A > 0, clipped below with A < 0, and unclipped ones.
        var ratios = Enumerable.Range(0, batch).Select(i => Math.Exp(LogProb(Logits, i) - OldLogProbs[i])).ToArray();
        Assert.Contains(ratios.Zip(Advantages), r => r.First > 1 + Clip && r.Second > 0);
        Assert.Contains(ratios.Zip(Advantages), r => r.First < 1 - Clip && r.Second < 0);
        Assert.Contains(ratios, r => r > 1 - Clip && r < 1 + Clip);

        // The analytic reference agrees with central differences of the float64 loss.
        for (int i = 0; i < batch; i++)
        {
            for (int a = 0; a < actions; a++)
            {
                var plus = (double[,])Logits.Clone();
                var minus = (double[,])Logits.Clone();
                plus[i, a] += 1e-6;
                minus[i, a] -= 1e-6;
                Assert.Equal(expectedGrad[(i * actions) + a], (Reference(plus).Loss - Reference(minus).Loss) / 2e-6, 8);
            }
        }
    }

    [Fact]
    public void EntropyOfAUniformPolicyIsLogA()
    {
        var all = Tensor.Zeros([2, 4]).LogSoftmax(1);
        Assert.Equal(Math.Log(4), PpoLoss.Entropy(all).Item(), 6);
        Assert.Contains("clipRange", Assert.Throws<ArgumentOutOfRangeException>(() => PpoLoss.ClippedSurrogate(all.Sum(1), all.Sum(1), all.Sum(1), 0f)).Message);
        Assert.Contains("[2, 4]", Assert.Throws<ArgumentException>(() => PpoLoss.ClippedSurrogate(all, all, all, 0.2f)).Message);
    }

    /// <summary>-mean(min(r A, clip(r) A)) and its gradient: where the unclipped term is the smaller, d/dz = -A r (1[a] - p) / B.</summary>
    private static (double Loss, double[] Grad) Reference(double[,] logits)
    {
        int batch = logits.GetLength(0), actions = logits.GetLength(1);
        double loss = 0;
        var grad = new double[batch * actions];
        for (int i = 0; i < batch; i++)
        {
            double r = Math.Exp(LogProb(logits, i) - OldLogProbs[i]);
            double unclipped = r * Advantages[i], clipped = Math.Clamp(r, 1 - Clip, 1 + Clip) * Advantages[i];
            loss -= Math.Min(unclipped, clipped) / batch;
            if (unclipped <= clipped)
            {
                for (int a = 0; a < actions; a++)
                {
                    double p = Math.Exp(logits[i, a] - LogSumExp(logits, i));
                    grad[(i * actions) + a] = -Advantages[i] * r * ((a == Actions[i] ? 1 : 0) - p) / batch;
                }
            }
        }

        return (loss, grad);
    }

    private static double LogProb(double[,] logits, int i) => logits[i, Actions[i]] - LogSumExp(logits, i);

    private static double LogSumExp(double[,] logits, int i)
    {
        double sum = 0;
        for (int a = 0; a < logits.GetLength(1); a++)
        {
            sum += Math.Exp(logits[i, a]);
        }

        return Math.Log(sum);
    }

    private static float[] Flat(double[,] values) => [.. values.Cast<double>().Select(v => (float)v)];
}
