// How Pruning.Channels ranks the filters of a convolution: the smallest-ranked are removed.
namespace Lepton.Nn;

/// <summary>How <see cref="Pruning.Channels"/> ranks a convolution's filters; the lowest-ranked are removed.</summary>
/// <example><code>var small = Pruning.Channels(model, 0.5, ChannelCriterion.BnScale);</code></example>
public enum ChannelCriterion
{
    /// <summary>The sum of the absolute values of the filter's weights (Li et al., "Pruning Filters for Efficient ConvNets").</summary>
    L1,

    /// <summary>The Euclidean norm of the filter's weights.</summary>
    L2,

    /// <summary>The absolute scale (gamma) of the batch normalization applied to the channel ("network slimming").</summary>
    BnScale,
}
