// Lstm and Gru as one autograd node per sequence: the input projection of all steps is one GEMM, each step is one
// recurrent GEMM and one fused cell, and backward through time runs the cells' backward with one GEMM per step.
using Lepton.Backends;

namespace Lepton;

public sealed partial class Tensor
{
    /// <summary>
    /// The fused LSTM (<paramref name="lstm"/>) or GRU (reset gate after the product) with sigmoid gates and tanh. Buffers
    /// are time-major: gates [time, batch, G * hidden] hold the activations each step's backward needs, the states h (and
    /// c) [time + 1, batch, hidden] every step's input and output state. The result is one tensor [output, h, (c)] whose
    /// pieces are returned as views, so one backward node covers the sequence.
    /// </summary>
    private static Tensor[] RecurFused(
        bool lstm, Tensor input, Tensor weightIh, Tensor weightHh, Tensor? biasIh, Tensor? biasHh, Tensor? h0, Tensor? c0,
        Tensor? mask, bool reverse, Tensor? recurrentDropoutMask)
    {
        int batch = input.shape[0], time = input.shape[1], features = input.shape[2], hidden = weightHh.shape[1];
        int width = (lstm ? 4 : 3) * hidden, stateSize = batch * hidden, outputSize = time * stateSize;
        var device = input.Device;
        var backend = input.Backend;

        // x as [time * batch, features], time-major, for the projection now and dW_ih later.
        var xT = Empty([time, batch, features], device);
        backend.Copy(new StridedView(input.Buffer, input.Offset, [time, batch, features], [input.strides[1], input.strides[0], input.strides[2]]), xT.View);
        var maskT = mask is null ? null : Empty([time, batch], device);
        if (mask is not null)
        {
            backend.Copy(new StridedView(mask.Buffer, mask.Offset, [time, batch], [mask.strides[1], mask.strides[0]]), maskT!.View);
        }

        // gates = x W_ih^T + b (LSTM: b_ih + b_hh; GRU: b_ih, while b_hh goes into the recurrent products hh).
        var gates = Empty([time * batch, width], device);
        var xBias = lstm && biasIh is not null && biasHh is not null ? biasIh + biasHh : lstm ? biasIh ?? biasHh : biasIh;
        using (var wihT = weightIh.Operand(transpose: true))
        {
            float beta = Broadcast(xBias, gates);
            Gemm(backend, new(xT.Buffer, 0, false, features), wihT, time * batch, width, features, beta, gates.Buffer, 0, width);
        }

        var hh = lstm ? null : Empty([time * batch, width], device);
        float hhBeta = lstm ? 1f : Broadcast(biasHh, hh!);
        var h = States(h0, time, batch, hidden, reverse, device);
        var c = lstm ? States(c0, time, batch, hidden, reverse, device) : null;
        var dropped = recurrentDropoutMask?.DenseData();
        var hIn = dropped is null ? null : Empty([time, batch, hidden], device);
        using (var scratch = dropped is null ? null : Empty([batch, hidden], device))
        using (var whhT = weightHh.Operand(transpose: true))
        {
            for (int s = 0; s < time; s++)
            {
                int t = reverse ? time - 1 - s : s;
                var prior = RecurrentInput(backend, h, hIn, dropped, scratch, t, batch, hidden, reverse);
                var target = lstm ? gates : hh!;
                Gemm(backend, prior, whhT, batch, width, hidden, lstm ? 1f : hhBeta, target.Buffer, t * batch * width, width);
                if (lstm)
                {
                    backend.LstmCellForward(gates.Buffer, h.Buffer, c!.Buffer, maskT?.Buffer, time, batch, hidden, t, reverse);
                }
                else
                {
                    backend.GruCellForward(gates.Buffer, hh!.Buffer, h.Buffer, maskT?.Buffer, time, batch, hidden, t, reverse);
                }
            }
        }

        // [output [batch, time, hidden], h, (c)]: the output is each step's new state times the mask.
        var packed = Empty([outputSize + ((lstm ? 2 : 1) * stateSize)], device);
        var stepOutputs = new StridedView(h.Buffer, reverse ? 0 : stateSize, [batch, time, hidden], [hidden, stateSize, 1]);
        if (maskT is null)
        {
            backend.Copy(stepOutputs, StridedView.Dense(packed.Buffer, [batch, time, hidden]));
        }
        else
        {
            backend.Binary(default(MulOp), stepOutputs, new StridedView(maskT.Buffer, 0, [batch, time, hidden], [1, batch, 0]), packed.Buffer, [batch, time, hidden]);
        }

        int last = reverse ? 0 : time;
        backend.Copy(new StridedView(h.Buffer, last * stateSize, [stateSize], [1]), new StridedView(packed.Buffer, outputSize, [stateSize], [1]));
        if (lstm)
        {
            backend.Copy(new StridedView(c!.Buffer, last * stateSize, [stateSize], [1]), new StridedView(packed.Buffer, outputSize + stateSize, [stateSize], [1]));
        }

        Tensor?[] optional = [biasIh, biasHh, h0, lstm ? c0 : null];
        Tensor[] inputs = [input, weightIh, weightHh, .. optional.OfType<Tensor>()];
        Record(packed, lstm ? "LstmBackward" : "GruBackward", inputs, g =>
        {
            var gd = g.DenseData();
            var gb = g.Backend;
            using var dy = Empty([time, batch, hidden], g.Device);
            var outputGrad = new StridedView(gd.Buffer, 0, [time, batch, hidden], [hidden, time * hidden, 1]);
            if (maskT is null)
            {
                gb.Copy(outputGrad, dy.View);
            }
            else
            {
                gb.Binary(default(MulOp), outputGrad, new StridedView(maskT.Buffer, 0, [time, batch, hidden], [batch, 1, 0]), dy.Buffer, [time, batch, hidden]);
            }

            var dh = StateGradient(gd, outputSize, stateSize, batch, hidden);
            var dc = lstm ? StateGradient(gd, outputSize + stateSize, stateSize, batch, hidden) : null;
            using var dgates = Empty([time * batch, width], g.Device);
            using var dhh = lstm ? null : Empty([time * batch, width], g.Device);
            var recurrentGrad = dhh ?? dgates;
            using (var whh = weightHh.Operand(transpose: false))
            using (var scratch = dropped is null ? null : Empty([batch, hidden], g.Device))
            {
                for (int s = time - 1; s >= 0; s--)
                {
                    int t = reverse ? time - 1 - s : s;
                    if (lstm)
                    {
                        gb.LstmCellBackward(gates.Buffer, c!.Buffer, maskT?.Buffer, dy.Buffer, dh.Buffer, dc!.Buffer, dgates.Buffer, time, batch, hidden, t, reverse);
                    }
                    else
                    {
                        gb.GruCellBackward(gates.Buffer, hh!.Buffer, h.Buffer, maskT?.Buffer, dy.Buffer, dh.Buffer, dgates.Buffer, dhh!.Buffer, time, batch, hidden, t, reverse);
                    }

                    if (s > 0 || h0 is { RequiresGrad: true })
                    {
                        RecurrentInputGradient(gb, recurrentGrad, whh, dropped, scratch, dh, t, batch, hidden, width);
                    }
                }
            }

            Tensor? dx = null, dwIh = null, dwHh = null, dbIh = null, dbHh = null;
            if (input.RequiresGrad)
            {
                using var dxT = Empty([time, batch, features], g.Device);
                using (var wih = weightIh.Operand(transpose: false))
                {
                    Gemm(gb, new(dgates.Buffer, 0, false, width), wih, time * batch, features, width, 0f, dxT.Buffer, 0, features);
                }

                dx = Empty([batch, time, features], g.Device);
                gb.Copy(new StridedView(dxT.Buffer, 0, [batch, time, features], [features, batch * features, 1]), dx.View);
            }

            if (weightIh.RequiresGrad)
            {
                dwIh = Empty([width, features], g.Device);
                Gemm(gb, new(dgates.Buffer, 0, true, width), new(xT.Buffer, 0, false, features), width, features, time * batch, 0f, dwIh.Buffer, 0, features);
            }

            if (weightHh.RequiresGrad)
            {
                dwHh = Empty([width, hidden], g.Device);
                var (states, offset) = hIn is null ? (h.Buffer, reverse ? stateSize : 0) : (hIn.Buffer, 0);
                Gemm(gb, new(recurrentGrad.Buffer, 0, true, width), new(states, offset, false, hidden), width, hidden, time * batch, 0f, dwHh.Buffer, 0, hidden);
            }

            if (biasIh is { RequiresGrad: true } || (lstm && biasHh is { RequiresGrad: true }))
            {
                dbIh = Empty([width], g.Device);
                gb.Reduce(ReduceKind.Sum, dgates.Buffer, 1, time * batch, width, dbIh.Buffer);
            }

            if (!lstm && biasHh is { RequiresGrad: true })
            {
                dbHh = Empty([width], g.Device);
                gb.Reduce(ReduceKind.Sum, dhh!.Buffer, 1, time * batch, width, dbHh.Buffer);
            }

            Tensor?[] optionalGrads = [dbIh, lstm ? dbIh : dbHh, h0 is { RequiresGrad: true } ? dh : null, c0 is { RequiresGrad: true } ? dc : null];
            if (optionalGrads[2] is null)
            {
                dh.Dispose();
            }

            if (optionalGrads[3] is null)
            {
                dc?.Dispose();
            }

            var grads = new List<Tensor?> { dx, dwIh, dwHh };
            for (int i = 0; i < optional.Length; i++)
            {
                if (optional[i] is not null)
                {
                    grads.Add(optionalGrads[i]);
                }
            }

            return [.. grads];
        });

        if (packed.GradFn is null)
        {
            foreach (var saved in new[] { xT, maskT, gates, hh, h, c, hIn })
            {
                saved?.Dispose();
            }
        }

        var output = packed.Narrow(0, 0, outputSize).Reshape(batch, time, hidden);
        var hLast = packed.Narrow(0, outputSize, stateSize).Reshape(batch, hidden);
        return lstm ? [output, hLast, packed.Narrow(0, outputSize + stateSize, stateSize).Reshape(batch, hidden)] : [output, hLast];
    }

    /// <summary>Fills every row of <paramref name="rows"/> [n, width] with <paramref name="bias"/>; returns the GEMM beta that adds to it.</summary>
    private static float Broadcast(Tensor? bias, Tensor rows)
    {
        if (bias is null)
        {
            return 0f;
        }

        rows.Backend.Copy(new StridedView(bias.Buffer, bias.Offset, rows.shape, [0, bias.strides[0]]), rows.View);
        return 1f;
    }

    /// <summary>[time + 1, batch, hidden] states with the initial state (zeros when null) in the slot the first step reads.</summary>
    private static Tensor States(Tensor? initial, int time, int batch, int hidden, bool reverse, Device device)
    {
        var states = Empty([time + 1, batch, hidden], device);
        int first = (reverse ? time : 0) * batch * hidden;
        if (initial is null)
        {
            states.Backend.Fill(states.Buffer, first, batch * hidden, 0f);
        }
        else
        {
            states.Backend.Copy(initial.View, new StridedView(states.Buffer, first, [batch, hidden], [hidden, 1]));
        }

        return states;
    }

    /// <summary>The GEMM operand of step t's recurrent product: the state it reads, or with a dropout mask that state times
    /// the mask, kept in hIn [time, batch, hidden] for dW_hh.</summary>
    private static GemmOperand RecurrentInput(IBackend backend, Tensor h, Tensor? hIn, Tensor? dropped, Tensor? scratch, int t, int batch, int hidden, bool reverse)
    {
        int stateSize = batch * hidden, before = (reverse ? t + 1 : t) * stateSize;
        if (hIn is null)
        {
            return new(h.Buffer, before, false, hidden);
        }

        int[] shape = [batch, hidden];
        backend.Binary(default(MulOp), new StridedView(h.Buffer, before, shape, [hidden, 1]), dropped!.View, scratch!.Buffer, shape);
        backend.Copy(scratch.View, new StridedView(hIn.Buffer, t * stateSize, shape, [hidden, 1]));
        return new(hIn.Buffer, t * stateSize, false, hidden);
    }

    /// <summary>dh += the gradient of step t's recurrent product with respect to the state it read: dgates[t] W_hh (times the dropout mask).</summary>
    private static void RecurrentInputGradient(
        IBackend backend, Tensor dgates, in GemmOperand weightHh, Tensor? dropped, Tensor? scratch, Tensor dh, int t, int batch, int hidden, int width)
    {
        var stepGrad = new GemmOperand(dgates.Buffer, t * batch * width, false, width);
        if (dropped is null)
        {
            Gemm(backend, stepGrad, weightHh, batch, hidden, width, 1f, dh.Buffer, 0, hidden);
            return;
        }

        int[] shape = [batch, hidden];
        Gemm(backend, stepGrad, weightHh, batch, hidden, width, 0f, scratch!.Buffer, 0, hidden);
        backend.Binary(default(MulOp), scratch.View, dropped.View, scratch.Buffer, shape);
        backend.Binary(default(AddOp), dh.View, scratch.View, dh.Buffer, shape);
    }

    /// <summary>A [batch, hidden] copy of the state gradient at <paramref name="offset"/> of the packed result's gradient.</summary>
    private static Tensor StateGradient(Tensor packedGrad, int offset, int stateSize, int batch, int hidden)
    {
        var grad = Empty([batch, hidden], packedGrad.Device);
        packedGrad.Backend.Copy(new StridedView(packedGrad.Buffer, offset, [stateSize], [1]), StridedView.Dense(grad.Buffer, [stateSize]));
        return grad;
    }

    /// <summary>c[offsetC..] (m x n, row stride ldc) = op(a) op(b) + beta c.</summary>
    private static void Gemm(IBackend backend, in GemmOperand a, in GemmOperand b, int m, int n, int k, float beta, DeviceBuffer c, int offsetC, int ldc) =>
        backend.Gemm(new GemmArgs(a.Transposed, b.Transposed, m, n, k, 1f, a.Buffer, a.Offset, a.Ld, 0, b.Buffer, b.Offset, b.Ld, 0, beta, c, offsetC, ldc, 0));

    /// <summary>How GEMM reads this matrix or its transpose (<see cref="GemmMatrix"/>); disposing it frees any copy made.</summary>
    private GemmOperand Operand(bool transpose)
    {
        var (buffer, offset, transposed, ld, copy) = GemmMatrix(transpose);
        return new(buffer, offset, transposed, ld, copy);
    }

    /// <summary>A matrix as GEMM reads it: buffer, offset, stored transposed, leading dimension, and the copy to free if one was made.</summary>
    private readonly record struct GemmOperand(DeviceBuffer Buffer, int Offset, bool Transposed, int Ld, Tensor? Copy = null) : IDisposable
    {
        public void Dispose() => Copy?.Dispose();
    }
}
