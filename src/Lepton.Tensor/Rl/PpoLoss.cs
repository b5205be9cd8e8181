// The pieces of PPO's objective as tensor compositions, so autograd gives their gradients: the clipped
// surrogate, the entropy of a categorical policy, and the log-probabilities of taken actions.
namespace Lepton.Rl;

/// <summary>PPO's loss terms.</summary>
public static class PpoLoss
{
    /// <summary>
    /// The clipped surrogate policy loss -mean(min(r A, clip(r, 1 - c, 1 + c) A)) with r = exp(logProbs - oldLogProbs).
    /// </summary>
    /// <param name="logProbs">[B] log-probabilities of the taken actions under the current policy (with gradient).</param>
    /// <param name="oldLogProbs">[B] the same under the policy that collected the data (constants).</param>
    /// <param name="advantages">[B] advantage estimates (constants).</param>
    /// <param name="clipRange">c, above 0.</param>
    /// <returns>The scalar loss to minimize.</returns>
    /// <example><code>var loss = PpoLoss.ClippedSurrogate(logp, oldLogp, adv, 0.2f);</code></example>
    public static Tensor ClippedSurrogate(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, float clipRange)
    {
        if (!(clipRange > 0f) || float.IsInfinity(clipRange))
        {
            throw new ArgumentOutOfRangeException(nameof(clipRange), clipRange, $"PpoLoss: clipRange must be finite and above 0, got {clipRange}.");
        }

        if (logProbs.Rank != 1 || !Shapes.SameShape(logProbs.ShapeRef, oldLogProbs.ShapeRef) || !Shapes.SameShape(logProbs.ShapeRef, advantages.ShapeRef))
        {
            throw new ArgumentException(
                $"PpoLoss: logProbs {Shapes.Format(logProbs.ShapeRef)}, oldLogProbs {Shapes.Format(oldLogProbs.ShapeRef)} and advantages {Shapes.Format(advantages.ShapeRef)} must all be [B].");
        }

        var ratio = (logProbs - oldLogProbs).Exp();
        var unclipped = ratio * advantages;
        var clipped = ratio.Clamp(1f - clipRange, 1f + clipRange) * advantages;
        return -Tensor.Minimum(unclipped, clipped).Mean();
    }

    /// <summary>Log-probabilities of <paramref name="actions"/> under categorical <paramref name="logits"/>.</summary>
    /// <param name="logits">[B, A] unnormalized scores.</param>
    /// <param name="actions">[B] int32 actions.</param>
    /// <returns>[B] log-probabilities and the [B, A] log-softmax they were picked from.</returns>
    /// <example><code>var (logp, all) = PpoLoss.LogProbabilities(policy.Call(x), actions);</code></example>
    public static (Tensor LogProbs, Tensor AllLogProbs) LogProbabilities(Tensor logits, Tensor actions)
    {
        var all = logits.LogSoftmax(1);
        return (all.Gather(1, actions.Unsqueeze(1)).Squeeze(1), all);
    }

    /// <summary>The mean entropy of categorical distributions given as log-probabilities.</summary>
    /// <param name="allLogProbs">[B, A] log-probabilities.</param>
    /// <returns>The scalar mean of -sum_a p log p.</returns>
    /// <example><code>var entropy = PpoLoss.Entropy(all);</code></example>
    public static Tensor Entropy(Tensor allLogProbs) => -(allLogProbs.Exp() * allLogProbs).Sum(1).Mean();
}
