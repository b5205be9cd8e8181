// Keras's GRU layer on Tensor.Gru, with weights in PyTorch's layout and gate order r, z, n; reset_after
// (the default, as Keras 2+) keeps an input and a recurrent bias, stored as one [2, 3 * units] weight.
namespace Lepton.Nn.Layers;

/// <summary>
/// Gated recurrent unit (Keras's GRU). <c>kernel</c> is PyTorch's <c>weight_ih</c> [3 * units, features] and
/// <c>recurrent_kernel</c> is <c>weight_hh</c> [3 * units, units], gates in PyTorch's order r, z, n; Keras stores them
/// transposed and in the order z, r, h. With resetAfter the <c>bias</c> is [2, 3 * units]: row 0 is <c>bias_ih</c>,
/// row 1 <c>bias_hh</c> (Keras's layout); without it the bias is [3 * units] on the input side only.
/// </summary>
/// <example><code>var encoder = new GRU(64, returnSequences: true, dropout: 0.1f, seed: 1);</code></example>
public sealed class GRU : RecurrentLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">The state size.</param>
    /// <param name="activation">Candidate activation (Keras name).</param>
    /// <param name="recurrentActivation">Gate activation (Keras name).</param>
    /// <param name="useBias">Whether biases are added.</param>
    /// <param name="returnSequences">Return every step's output [batch, time, units] instead of the last one.</param>
    /// <param name="returnState">Let <see cref="RecurrentLayer.CallWithState"/> return the final state after the output.</param>
    /// <param name="goBackwards">Read the sequence backwards (and return the sequence reversed).</param>
    /// <param name="dropout">Fraction of the input features dropped while training (one mask for all steps).</param>
    /// <param name="recurrentDropout">Fraction of the state dropped before the recurrent products while training.</param>
    /// <param name="kernelInitializer">Initializer of the input kernel.</param>
    /// <param name="recurrentInitializer">Initializer of the recurrent kernel (orthogonal, as Keras).</param>
    /// <param name="biasInitializer">Initializer of the bias.</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (PyTorch's and Keras 2+'s convention).</param>
    /// <param name="seed">Seed of the initializers and of the dropout masks.</param>
    /// <param name="inputShape">Per-example input shape [time, features], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    public GRU(
        int units, string activation = "tanh", string recurrentActivation = "sigmoid", bool useBias = true, bool returnSequences = false,
        bool returnState = false, bool goBackwards = false, float dropout = 0f, float recurrentDropout = 0f, string kernelInitializer = "glorot_uniform",
        string recurrentInitializer = "orthogonal", string biasInitializer = "zeros", bool resetAfter = true, ulong? seed = null,
        int[]? inputShape = null, string? name = null)
        : base(units, 3, new RecurrentOptions(activation, recurrentActivation, useBias, returnSequences, returnState, goBackwards, dropout, recurrentDropout, kernelInitializer, recurrentInitializer, biasInitializer, seed), inputShape, name)
    {
        ResetAfter = resetAfter;
        BuildIfDeclared();
    }

    /// <summary>Whether the reset gate applies after the recurrent product.</summary>
    public bool ResetAfter { get; }

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["recurrent_activation"] = Options.RecurrentActivation;
        config["reset_after"] = ResetAfter;
        return config;
    }

    private protected override Weight? CreateBias() =>
        Options.UseBias && ResetAfter ? AddWeight("bias", [2, 3 * Units], Initializer.FromName(Options.BiasInitializer, Options.Seed)) : base.CreateBias();

    private protected override (Tensor Output, Tensor[] States) Recur(Tensor x, Tensor?[] initial, Tensor? mask, bool reverse, Tensor? recurrentDropoutMask)
    {
        var bias = Bias?.Value;
        var (biasIh, biasHh) = bias is null ? (null, null) : ResetAfter ? (bias.Select(0, 0), bias.Select(0, 1)) : (bias, (Tensor?)null);
        var (output, h) = Tensor.Gru(x, Kernel.Value, RecurrentKernel.Value, biasIh, biasHh, initial[0], mask, reverse, ResetAfter, Activation, RecurrentActivation, recurrentDropoutMask);
        return (output, [h]);
    }
}
