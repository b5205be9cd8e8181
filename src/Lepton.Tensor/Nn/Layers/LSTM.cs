// Keras's LSTM layer on Tensor.Lstm: gates i, f, c, o (PyTorch's i, f, g, o), kernels in PyTorch's
// [4 * units, features] layout, one bias [4 * units] whose forget block starts at 1 (unit_forget_bias).
namespace Lepton.Nn.Layers;

/// <summary>
/// Long short-term memory (Keras's LSTM). <c>kernel</c> is PyTorch's <c>weight_ih</c> [4 * units, features],
/// <c>recurrent_kernel</c> is <c>weight_hh</c> [4 * units, units]; Keras's kernel [features, 4 * units] is its transpose,
/// in the same gate order. The single <c>bias</c> [4 * units] plays <c>bias_ih + bias_hh</c>.
/// </summary>
/// <example><code>
/// var model = new Sequential([new Embedding(1000, 16, maskZero: true), new LSTM(32), new Dense(1)]);
/// var outs = new LSTM(8, returnSequences: true, returnState: true).CallWithState([x, h0, c0]); // output, h, c
/// </code></example>
public sealed class LSTM : RecurrentLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="units">The state size.</param>
    /// <param name="activation">Cell and output activation (Keras name).</param>
    /// <param name="recurrentActivation">Gate activation (Keras name).</param>
    /// <param name="useBias">Whether a bias is added.</param>
    /// <param name="returnSequences">Return every step's output [batch, time, units] instead of the last one.</param>
    /// <param name="returnState">Let <see cref="RecurrentLayer.CallWithState"/> return the final h and c after the output.</param>
    /// <param name="goBackwards">Read the sequence backwards (and return the sequence reversed).</param>
    /// <param name="dropout">Fraction of the input features dropped while training (one mask for all steps).</param>
    /// <param name="recurrentDropout">Fraction of the state dropped before the recurrent product while training.</param>
    /// <param name="kernelInitializer">Initializer of the input kernel.</param>
    /// <param name="recurrentInitializer">Initializer of the recurrent kernel (orthogonal, as Keras).</param>
    /// <param name="biasInitializer">Initializer of the bias.</param>
    /// <param name="unitForgetBias">Start the forget gate's bias at 1, as Keras does.</param>
    /// <param name="seed">Seed of the initializers and of the dropout masks.</param>
    /// <param name="inputShape">Per-example input shape [time, features], to build at once.</param>
    /// <param name="name">The layer's name.</param>
    public LSTM(
        int units, string activation = "tanh", string recurrentActivation = "sigmoid", bool useBias = true, bool returnSequences = false,
        bool returnState = false, bool goBackwards = false, float dropout = 0f, float recurrentDropout = 0f, string kernelInitializer = "glorot_uniform",
        string recurrentInitializer = "orthogonal", string biasInitializer = "zeros", bool unitForgetBias = true, ulong? seed = null,
        int[]? inputShape = null, string? name = null)
        : base(units, 4, new RecurrentOptions(activation, recurrentActivation, useBias, returnSequences, returnState, goBackwards, dropout, recurrentDropout, kernelInitializer, recurrentInitializer, biasInitializer, seed), inputShape, name)
    {
        UnitForgetBias = unitForgetBias;
        BuildIfDeclared();
    }

    /// <summary>Whether the forget gate's bias starts at 1.</summary>
    public bool UnitForgetBias { get; }

    internal override int StateCount => 2;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["recurrent_activation"] = Options.RecurrentActivation;
        config["unit_forget_bias"] = UnitForgetBias;
        return config;
    }

    private protected override Weight? CreateBias()
    {
        var bias = base.CreateBias();
        if (bias is not null && UnitForgetBias)
        {
            var values = bias.Value.ToArray();
            Array.Fill(values, 1f, Units, Units);
            bias.Assign(Tensor.FromArray(values, [values.Length], device: bias.Value.Device));
        }

        return bias;
    }

    private protected override (Tensor Output, Tensor[] States) Recur(Tensor x, Tensor?[] initial, Tensor? mask, bool reverse, Tensor? recurrentDropoutMask)
    {
        var (output, h, c) = Tensor.Lstm(x, Kernel.Value, RecurrentKernel.Value, Bias?.Value, null, initial[0], initial[1], mask, reverse, Activation, RecurrentActivation, recurrentDropoutMask);
        return (output, [h, c]);
    }
}
