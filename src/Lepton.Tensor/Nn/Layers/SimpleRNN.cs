// Keras's SimpleRNN layer on Tensor.Rnn: h' = activation(W x + U h + b), kernels in PyTorch's
// [units, features] and [units, units] layout.
namespace Lepton.Nn.Layers;

/// <summary>
/// A fully connected recurrent layer (Keras's SimpleRNN). <c>kernel</c> [units, features] is PyTorch's
/// <c>weight_ih</c> (Keras's kernel transposed), <c>recurrent_kernel</c> [units, units] is <c>weight_hh</c>, <c>bias</c> [units].
/// </summary>
/// <example><code>var rnn = new SimpleRNN(16, returnSequences: true);</code></example>
public sealed class SimpleRNN : RecurrentLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">The state size.</param>
    /// <param name="activation">The activation (Keras name).</param>
    /// <param name="useBias">Whether a bias is added.</param>
    /// <param name="returnSequences">Return every step's output [batch, time, units] instead of the last one.</param>
    /// <param name="returnState">Let <see cref="RecurrentLayer.CallWithState"/> return the final state after the output.</param>
    /// <param name="goBackwards">Read the sequence backwards (and return the sequence reversed).</param>
    /// <param name="dropout">Fraction of the input features dropped while training (one mask for all steps).</param>
    /// <param name="recurrentDropout">Fraction of the state dropped before the recurrent product while training.</param>
    /// <param name="kernelInitializer">Initializer of the input kernel.</param>
    /// <param name="recurrentInitializer">Initializer of the recurrent kernel (orthogonal, as Keras).</param>
    /// <param name="biasInitializer">Initializer of the bias.</param>
    /// <param name="seed">Seed of the initializers and of the dropout masks.</param>
    /// <param name="inputShape">Per-example input shape [time, features], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    public SimpleRNN(
        int units, string activation = "tanh", bool useBias = true, bool returnSequences = false, bool returnState = false, bool goBackwards = false,
        float dropout = 0f, float recurrentDropout = 0f, string kernelInitializer = "glorot_uniform", string recurrentInitializer = "orthogonal",
        string biasInitializer = "zeros", ulong? seed = null, int[]? inputShape = null, string? name = null)
        : base(units, 1, new RecurrentOptions(activation, "sigmoid", useBias, returnSequences, returnState, goBackwards, dropout, recurrentDropout, kernelInitializer, recurrentInitializer, biasInitializer, seed), inputShape, name)
    {
        BuildIfDeclared();
    }

    private protected override (Tensor Output, Tensor[] States) Recur(Tensor x, Tensor?[] initial, Tensor? mask, bool reverse, Tensor? recurrentDropoutMask)
    {
        var (output, h) = Tensor.Rnn(x, Kernel.Value, RecurrentKernel.Value, Bias?.Value, null, initial[0], mask, reverse, Activation, recurrentDropoutMask);
        return (output, [h]);
    }
}
