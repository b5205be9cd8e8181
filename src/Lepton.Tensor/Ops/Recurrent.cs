// Recurrent networks over [batch, time, features] in PyTorch's weight layout: Lstm, Gru and Rnn.
// With sigmoid gates and tanh, Lstm and Gru run fused (RecurrentFused.cs); otherwise each step is composed of ops.
namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>
    /// A long short-term memory layer over a batch-first sequence, in PyTorch's layout (<c>nn.LSTM(batch_first=True)</c>, one
    /// layer, one direction). Gates in the order i, f, g, o: with W = [W_i; W_f; W_g; W_o] and b = b_ih + b_hh,
    /// <c>i = σ(W_ii x + W_hi h + b_i)</c>, <c>f = σ(...)</c>, <c>g = tanh(...)</c>, <c>o = σ(...)</c>,
    /// <c>c' = f ⊙ c + i ⊙ g</c>, <c>h' = o ⊙ tanh(c')</c>. Keras's LSTM uses the same gate order (i, f, c, o) with the
    /// kernel transposed ([I, 4H]) and a single bias.
    /// </summary>
    /// <param name="input">The sequence, [batch, time, inputSize].</param>
    /// <param name="weightIh">Input weights, [4 * hidden, inputSize] (PyTorch's <c>weight_ih_l0</c>).</param>
    /// <param name="weightHh">Recurrent weights, [4 * hidden, hidden] (<c>weight_hh_l0</c>).</param>
    /// <param name="biasIh">Input bias, [4 * hidden], or null.</param>
    /// <param name="biasHh">Recurrent bias, [4 * hidden], or null.</param>
    /// <param name="h0">Initial hidden state, [batch, hidden]; zeros when null.</param>
    /// <param name="c0">Initial cell state, [batch, hidden]; zeros when null.</param>
    /// <param name="mask">Optional [batch, time] float mask: at a step where it is 0 the states carry over unchanged and the output is 0.</param>
    /// <param name="reverse">Run from the last step to the first; outputs stay aligned with the input positions (PyTorch's reverse direction).</param>
    /// <param name="activation">The cell and output activation (tanh when null).</param>
    /// <param name="recurrentActivation">The gate activation (sigmoid when null).</param>
    /// <param name="recurrentDropoutMask">Optional [batch, hidden] factor applied to h before the recurrent product (Keras's recurrent dropout).</param>
    /// <returns>The outputs [batch, time, hidden] and the final states h and c, [batch, hidden] each.</returns>
    /// <example><code>var (y, h, c) = Tensor.Lstm(x, wIh, wHh, bIh, bHh); // x: [2, 5, 3], wIh: [16, 3], wHh: [16, 4]</code></example>
    public static (Tensor Output, Tensor H, Tensor C) Lstm(
        Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null, Tensor? h0 = null, Tensor? c0 = null,
        Tensor? mask = null, bool reverse = false, Func<Tensor, Tensor>? activation = null, Func<Tensor, Tensor>? recurrentActivation = null,
        Tensor? recurrentDropoutMask = null)
    {
        var (batch, hidden) = CheckRecurrent("Lstm", 4, input, weightIh, weightHh, biasIh, biasHh, h0, mask, recurrentDropoutMask);
        CheckState("Lstm", "c0", c0, batch, hidden);
        if (activation is null && recurrentActivation is null && CanFuse(input, [weightIh, weightHh, biasIh, biasHh, h0, c0], mask, recurrentDropoutMask))
        {
            var fused = RecurFused(true, input, weightIh, weightHh, biasIh, biasHh, h0, c0, mask, reverse, recurrentDropoutMask);
            return (fused[0], fused[1], fused[2]);
        }

        return LstmComposed(input, weightIh, weightHh, biasIh, biasHh, h0, c0, mask, reverse, activation, recurrentActivation, recurrentDropoutMask);
    }

    /// <summary>The LSTM composed step by step from existing ops (any activations); the reference the fused path is tested against.</summary>
    internal static (Tensor Output, Tensor H, Tensor C) LstmComposed(
        Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null, Tensor? h0 = null, Tensor? c0 = null,
        Tensor? mask = null, bool reverse = false, Func<Tensor, Tensor>? activation = null, Func<Tensor, Tensor>? recurrentActivation = null,
        Tensor? recurrentDropoutMask = null)
    {
        var (batch, hidden) = CheckRecurrent("Lstm", 4, input, weightIh, weightHh, biasIh, biasHh, h0, mask, recurrentDropoutMask);
        CheckState("Lstm", "c0", c0, batch, hidden);
        var act = activation ?? (t => t.Tanh());
        var gate = recurrentActivation ?? (t => t.Sigmoid());
        var projected = InputProjection(input, weightIh, biasIh is null ? biasHh : biasHh is null ? biasIh : biasIh + biasHh);
        var recurrentT = weightHh.T;
        var (output, h, c) = Recur(projected, h0 ?? Zeros([batch, hidden], device: input.Device), c0 ?? Zeros([batch, hidden], device: input.Device), mask, reverse, (x, hPrev, cPrev) =>
        {
            var gates = x + (recurrentDropoutMask is null ? hPrev : hPrev * recurrentDropoutMask).MatMul(recurrentT);
            var i = gate(gates.Narrow(1, 0, hidden));
            var f = gate(gates.Narrow(1, hidden, hidden));
            var g = act(gates.Narrow(1, 2 * hidden, hidden));
            var o = gate(gates.Narrow(1, 3 * hidden, hidden));
            var cNext = (f * cPrev!) + (i * g);
            return (o * act(cNext), cNext);
        });
        return (output, h, c!);
    }

    /// <summary>
    /// A gated recurrent unit over a batch-first sequence, in PyTorch's layout (<c>nn.GRU(batch_first=True)</c>). Gates in
    /// the order r, z, n: <c>r = σ(W_ir x + b_ir + W_hr h + b_hr)</c>, <c>z = σ(W_iz x + b_iz + W_hz h + b_hz)</c>,
    /// <c>n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))</c>, <c>h' = (1 − z) ⊙ n + z ⊙ h</c>, which is Keras's
    /// <c>reset_after=True</c>. With <paramref name="resetAfter"/> false the reset gate applies before the product,
    /// <c>n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)</c> (Keras's <c>reset_after=False</c>). Keras orders the blocks
    /// z, r, h: swap its first two blocks (and transpose its kernels) to load them here.
    /// </summary>
    /// <param name="input">The sequence, [batch, time, inputSize].</param>
    /// <param name="weightIh">Input weights, [3 * hidden, inputSize] (<c>weight_ih_l0</c>).</param>
    /// <param name="weightHh">Recurrent weights, [3 * hidden, hidden] (<c>weight_hh_l0</c>).</param>
    /// <param name="biasIh">Input bias, [3 * hidden], or null.</param>
    /// <param name="biasHh">Recurrent bias, [3 * hidden], or null.</param>
    /// <param name="h0">Initial hidden state, [batch, hidden]; zeros when null.</param>
    /// <param name="mask">Optional [batch, time] float mask: at a step where it is 0 the state carries over unchanged and the output is 0.</param>
    /// <param name="reverse">Run from the last step to the first; outputs stay aligned with the input positions.</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent product (PyTorch, Keras 2+ default) or before it.</param>
    /// <param name="activation">The candidate activation (tanh when null).</param>
    /// <param name="recurrentActivation">The gate activation (sigmoid when null).</param>
    /// <param name="recurrentDropoutMask">Optional [batch, hidden] factor applied to h before the recurrent products.</param>
    /// <returns>The outputs [batch, time, hidden] and the final state [batch, hidden].</returns>
    /// <example><code>var (y, h) = Tensor.Gru(x, wIh, wHh, bIh, bHh); // wIh: [12, 3], wHh: [12, 4]</code></example>
    public static (Tensor Output, Tensor H) Gru(
        Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null, Tensor? h0 = null, Tensor? mask = null,
        bool reverse = false, bool resetAfter = true, Func<Tensor, Tensor>? activation = null, Func<Tensor, Tensor>? recurrentActivation = null,
        Tensor? recurrentDropoutMask = null)
    {
        CheckRecurrent("Gru", 3, input, weightIh, weightHh, biasIh, biasHh, h0, mask, recurrentDropoutMask);
        if (resetAfter && activation is null && recurrentActivation is null && CanFuse(input, [weightIh, weightHh, biasIh, biasHh, h0], mask, recurrentDropoutMask))
        {
            var fused = RecurFused(false, input, weightIh, weightHh, biasIh, biasHh, h0, null, mask, reverse, recurrentDropoutMask);
            return (fused[0], fused[1]);
        }

        return GruComposed(input, weightIh, weightHh, biasIh, biasHh, h0, mask, reverse, resetAfter, activation, recurrentActivation, recurrentDropoutMask);
    }

    /// <summary>The GRU composed step by step from existing ops (any activations, either reset placement); the fused path's reference.</summary>
    internal static (Tensor Output, Tensor H) GruComposed(
        Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null, Tensor? h0 = null, Tensor? mask = null,
        bool reverse = false, bool resetAfter = true, Func<Tensor, Tensor>? activation = null, Func<Tensor, Tensor>? recurrentActivation = null,
        Tensor? recurrentDropoutMask = null)
    {
        var (batch, hidden) = CheckRecurrent("Gru", 3, input, weightIh, weightHh, biasIh, biasHh, h0, mask, recurrentDropoutMask);
        var act = activation ?? (t => t.Tanh());
        var gate = recurrentActivation ?? (t => t.Sigmoid());
        var projected = InputProjection(input, weightIh, biasIh);
        var recurrentT = weightHh.T;
        var gatesT = weightHh.Narrow(0, 0, 2 * hidden).T;
        var candidateT = weightHh.Narrow(0, 2 * hidden, hidden).T;
        var (output, h, _) = Recur(projected, h0 ?? Zeros([batch, hidden], device: input.Device), null, mask, reverse, (x, hPrev, _) =>
        {
            var hIn = recurrentDropoutMask is null ? hPrev : hPrev * recurrentDropoutMask;
            Tensor r, z, n;
            if (resetAfter)
            {
                var hh = hIn.MatMul(recurrentT);
                if (biasHh is not null)
                {
                    hh += biasHh;
                }

                r = gate(x.Narrow(1, 0, hidden) + hh.Narrow(1, 0, hidden));
                z = gate(x.Narrow(1, hidden, hidden) + hh.Narrow(1, hidden, hidden));
                n = act(x.Narrow(1, 2 * hidden, hidden) + (r * hh.Narrow(1, 2 * hidden, hidden)));
            }
            else
            {
                var hh = hIn.MatMul(gatesT);
                if (biasHh is not null)
                {
                    hh += biasHh.Narrow(0, 0, 2 * hidden);
                }

                r = gate(x.Narrow(1, 0, hidden) + hh.Narrow(1, 0, hidden));
                var hn = (r * hIn).MatMul(candidateT);
                if (biasHh is not null)
                {
                    hn += biasHh.Narrow(0, 2 * hidden, hidden);
                }

                z = gate(x.Narrow(1, hidden, hidden) + hh.Narrow(1, hidden, hidden));
                n = act(x.Narrow(1, 2 * hidden, hidden) + hn);
            }

            return (n + (z * (hPrev - n)), null);
        });
        return (output, h);
    }

    /// <summary>
    /// An Elman recurrent layer over a batch-first sequence, in PyTorch's layout (<c>nn.RNN(batch_first=True)</c>):
    /// <c>h' = tanh(W_ih x + b_ih + W_hh h + b_hh)</c>. Keras's SimpleRNN is the same with its kernel transposed and one bias.
    /// </summary>
    /// <param name="input">The sequence, [batch, time, inputSize].</param>
    /// <param name="weightIh">Input weights, [hidden, inputSize].</param>
    /// <param name="weightHh">Recurrent weights, [hidden, hidden].</param>
    /// <param name="biasIh">Input bias, [hidden], or null.</param>
    /// <param name="biasHh">Recurrent bias, [hidden], or null.</param>
    /// <param name="h0">Initial state, [batch, hidden]; zeros when null.</param>
    /// <param name="mask">Optional [batch, time] float mask: at a step where it is 0 the state carries over unchanged and the output is 0.</param>
    /// <param name="reverse">Run from the last step to the first; outputs stay aligned with the input positions.</param>
    /// <param name="activation">The activation (tanh when null).</param>
    /// <param name="recurrentDropoutMask">Optional [batch, hidden] factor applied to h before the recurrent product.</param>
    /// <returns>The outputs [batch, time, hidden] and the final state [batch, hidden].</returns>
    /// <example><code>var (y, h) = Tensor.Rnn(x, wIh, wHh, bIh, bHh, activation: t => t.Relu());</code></example>
    public static (Tensor Output, Tensor H) Rnn(
        Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null, Tensor? h0 = null, Tensor? mask = null,
        bool reverse = false, Func<Tensor, Tensor>? activation = null, Tensor? recurrentDropoutMask = null)
    {
        var (batch, hidden) = CheckRecurrent("Rnn", 1, input, weightIh, weightHh, biasIh, biasHh, h0, mask, recurrentDropoutMask);
        var act = activation ?? (t => t.Tanh());
        var projected = InputProjection(input, weightIh, biasIh is null ? biasHh : biasHh is null ? biasIh : biasIh + biasHh);
        var recurrentT = weightHh.T;
        var (output, h, _) = Recur(projected, h0 ?? Zeros([batch, hidden], device: input.Device), null, mask, reverse, (x, hPrev, _) =>
            (act(x + (recurrentDropoutMask is null ? hPrev : hPrev * recurrentDropoutMask).MatMul(recurrentT)), null));
        return (output, h);
    }

    /// <summary>x [B, T, I] times W_ih^T plus the bias, as one product over all B * T steps: [B, T, G * H].</summary>
    private static Tensor InputProjection(Tensor input, Tensor weightIh, Tensor? bias)
    {
        int batch = input.shape[0], time = input.shape[1];
        var projected = input.Reshape(batch * time, input.shape[2]).MatMul(weightIh.T);
        if (bias is not null)
        {
            projected += bias;
        }

        return projected.Reshape(batch, time, weightIh.shape[0]);
    }

    /// <summary>Runs <paramref name="step"/> over the time axis, holding masked steps; outputs are stacked in input order.</summary>
    private static (Tensor Output, Tensor H, Tensor? C) Recur(
        Tensor projected, Tensor h, Tensor? c, Tensor? mask, bool reverse, Func<Tensor, Tensor, Tensor?, (Tensor H, Tensor? C)> step)
    {
        int time = projected.shape[1];
        var outputs = new Tensor[time];
        for (int s = 0; s < time; s++)
        {
            int t = reverse ? time - 1 - s : s;
            var (hNext, cNext) = step(projected.Select(1, t), h, c);
            if (mask is null)
            {
                (h, c, outputs[t]) = (hNext, cNext, hNext);
                continue;
            }

            var keep = mask.Narrow(1, t, 1);
            outputs[t] = hNext * keep;
            h = Where(keep, hNext, h);
            c = cNext is null ? null : Where(keep, cNext, c!);
        }

        return (Stack(outputs, 1), h, c);
    }

    /// <summary>Whether the fused kernels can run: float32 operands on the input's device, and no gradient wanted for a mask.</summary>
    private static bool CanFuse(Tensor input, Tensor?[] operands, Tensor? mask, Tensor? recurrentDropoutMask)
    {
        foreach (var t in (Tensor?[])[.. operands, mask, recurrentDropoutMask])
        {
            if (t is not null && (t.DType != DType.Float32 || t.Device != input.Device))
            {
                return false;
            }
        }

        bool grads = Autograd.GradMode.IsEnabled;
        return !(grads && (mask is { RequiresGrad: true } || recurrentDropoutMask is { RequiresGrad: true }));
    }

    private static (int Batch, int Hidden) CheckRecurrent(
        string op, int gates, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh, Tensor? h0, Tensor? mask, Tensor? recurrentDropoutMask)
    {
        input.CheckFloat(op);
        if (input.Rank != 3 || input.shape[1] == 0)
        {
            throw new ArgumentException($"{op}: the input must be [batch, time, features] with at least one step, got {Shapes.Format(input.shape)}.");
        }

        int hidden = weightHh.Rank == 2 ? weightHh.shape[1] : -1;
        if (weightIh.Rank != 2 || weightHh.Rank != 2 || weightIh.shape[0] != gates * hidden || weightHh.shape[0] != gates * hidden || weightIh.shape[1] != input.shape[2])
        {
            throw new ArgumentException(
                $"{op}: weights must be weightIh [{gates} * hidden, {input.shape[2]}] and weightHh [{gates} * hidden, hidden] for input {Shapes.Format(input.shape)}, got {Shapes.Format(weightIh.shape)} and {Shapes.Format(weightHh.shape)}.");
        }

        foreach (var (name, bias) in new[] { ("biasIh", biasIh), ("biasHh", biasHh) })
        {
            if (bias is not null && (bias.Rank != 1 || bias.shape[0] != gates * hidden))
            {
                throw new ArgumentException($"{op}: {name} must be [{gates * hidden}], got {Shapes.Format(bias.shape)}.");
            }
        }

        int batch = input.shape[0];
        if (mask is not null && (mask.Rank != 2 || mask.shape[0] != batch || mask.shape[1] != input.shape[1]))
        {
            throw new ArgumentException($"{op}: the mask must be [batch, time] = [{batch}, {input.shape[1]}] for input {Shapes.Format(input.shape)}, got {Shapes.Format(mask.shape)}.");
        }

        CheckState(op, "h0", h0, batch, hidden);
        CheckState(op, "recurrentDropoutMask", recurrentDropoutMask, batch, hidden);
        return (batch, hidden);
    }

    private static void CheckState(string op, string name, Tensor? state, int batch, int hidden)
    {
        if (state is not null && (state.Rank != 2 || state.shape[0] != batch || state.shape[1] != hidden))
        {
            throw new ArgumentException($"{op}: {name} must be [batch, hidden] = [{batch}, {hidden}], got {Shapes.Format(state.shape)}.");
        }
    }
}
