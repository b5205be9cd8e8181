// Fused LSTM and GRU cells: one thread per (batch row, unit), grid-stride, over one time step's slices
// (the host passes sub-views already at the step). Gate derivatives come from the saved activations.
namespace Lepton.Kernels;

/// <summary>Recurrent cell kernels; the host reference is the CPU backend's cells (CpuBackend.Recurrent.cs).</summary>
public static class RecurrentKernels
{
    /// <summary>
    /// LSTM step: gates [B, 4H] pre-activations in, i, f, g, o out (in place); hIn, cIn [B, H] -> hOut, cOut [B, H] (=),
    /// c' = f c + i g, h' = o act(c'); rows with mask[b] == 0 copy the states (mask read when hasMask != 0).
    /// </summary>
    public static void LstmCellForward<TGate, TAct>(
        ArrayView<float> gates, ArrayView<float> hIn, ArrayView<float> cIn, ArrayView<float> hOut, ArrayView<float> cOut,
        ArrayView<float> mask, int batch, int hidden, int hasMask, TGate gate, TAct act)
        where TGate : struct, IScalarUnary
        where TAct : struct, IScalarUnary
    {
        long total = (long)batch * hidden;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long r = e / hidden, j = e % hidden;
            if (hasMask != 0 && mask[r] == 0f)
            {
                hOut[e] = hIn[e];
                cOut[e] = cIn[e];
                continue;
            }

            long g0 = (r * 4 * hidden) + j;
            float i = gate.Apply(gates[g0]), f = gate.Apply(gates[g0 + hidden]);
            float g = act.Apply(gates[g0 + (2 * hidden)]), o = gate.Apply(gates[g0 + (3 * hidden)]);
            float c = (f * cIn[e]) + (i * g);
            gates[g0] = i;
            gates[g0 + hidden] = f;
            gates[g0 + (2 * hidden)] = g;
            gates[g0 + (3 * hidden)] = o;
            cOut[e] = c;
            hOut[e] = o * act.Apply(c);
        }
    }

    /// <summary>
    /// LSTM step backward (sigmoid gates, tanh-like act with act' = 1 - y^2): gates [B, 4H] activations, cIn, cOut [B, H],
    /// dy [B, H] (times the mask) -> dgates [B, 4H] (=); dh, dc [B, H] in place: the step's states' gradients in, the
    /// previous states' gradients (but the W_hh path) out.
    /// </summary>
    public static void LstmCellBackward<TAct>(
        ArrayView<float> gates, ArrayView<float> cIn, ArrayView<float> cOut, ArrayView<float> mask, ArrayView<float> dy,
        ArrayView<float> dh, ArrayView<float> dc, ArrayView<float> dgates, int batch, int hidden, int hasMask, TAct act)
        where TAct : struct, IScalarUnary
    {
        long total = (long)batch * hidden;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long r = e / hidden, j = e % hidden, g0 = (r * 4 * hidden) + j;
            if (hasMask != 0 && mask[r] == 0f)
            {
                dh[e] += dy[e];
                for (int k = 0; k < 4; k++)
                {
                    dgates[g0 + (k * hidden)] = 0f;
                }

                continue;
            }

            float i = gates[g0], f = gates[g0 + hidden], g = gates[g0 + (2 * hidden)], o = gates[g0 + (3 * hidden)];
            float dhTotal = dh[e] + dy[e], tc = act.Apply(cOut[e]);
            float dcTotal = dc[e] + (dhTotal * o * (1f - (tc * tc)));
            dgates[g0] = dcTotal * g * i * (1f - i);
            dgates[g0 + hidden] = dcTotal * cIn[e] * f * (1f - f);
            dgates[g0 + (2 * hidden)] = dcTotal * i * (1f - (g * g));
            dgates[g0 + (3 * hidden)] = dhTotal * tc * o * (1f - o);
            dc[e] = dcTotal * f;
            dh[e] = 0f;
        }
    }

    /// <summary>
    /// GRU step (reset after the product): gates [B, 3H] x-side pre-activations in, r, z, n out (in place); hh [B, 3H]
    /// the recurrent products; hIn [B, H] -> hOut [B, H] (=), h' = n + z (h - n); masked rows copy the state.
    /// </summary>
    public static void GruCellForward<TGate, TAct>(
        ArrayView<float> gates, ArrayView<float> hh, ArrayView<float> hIn, ArrayView<float> hOut, ArrayView<float> mask,
        int batch, int hidden, int hasMask, TGate gate, TAct act)
        where TGate : struct, IScalarUnary
        where TAct : struct, IScalarUnary
    {
        long total = (long)batch * hidden;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long r = e / hidden, j = e % hidden;
            if (hasMask != 0 && mask[r] == 0f)
            {
                hOut[e] = hIn[e];
                continue;
            }

            long g0 = (r * 3 * hidden) + j;
            float reset = gate.Apply(gates[g0] + hh[g0]);
            float update = gate.Apply(gates[g0 + hidden] + hh[g0 + hidden]);
            float n = act.Apply(gates[g0 + (2 * hidden)] + (reset * hh[g0 + (2 * hidden)]));
            gates[g0] = reset;
            gates[g0 + hidden] = update;
            gates[g0 + (2 * hidden)] = n;
            hOut[e] = n + (update * (hIn[e] - n));
        }
    }

    /// <summary>
    /// GRU step backward: gates [B, 3H] activations, hh [B, 3H], hIn [B, H], dy [B, H] -> dgates, dhh [B, 3H] (=): the
    /// gradients of the x side and of hh; dh [B, H] in place as in <see cref="LstmCellBackward{TAct}"/>.
    /// </summary>
    public static void GruCellBackward(
        ArrayView<float> gates, ArrayView<float> hh, ArrayView<float> hIn, ArrayView<float> mask, ArrayView<float> dy,
        ArrayView<float> dh, ArrayView<float> dgates, ArrayView<float> dhh, int batch, int hidden, int hasMask)
    {
        long total = (long)batch * hidden;
        for (long e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            long r = e / hidden, j = e % hidden, g0 = (r * 3 * hidden) + j;
            if (hasMask != 0 && mask[r] == 0f)
            {
                dh[e] += dy[e];
                for (int k = 0; k < 3; k++)
                {
                    dgates[g0 + (k * hidden)] = 0f;
                    dhh[g0 + (k * hidden)] = 0f;
                }

                continue;
            }

            float reset = gates[g0], update = gates[g0 + hidden], n = gates[g0 + (2 * hidden)], dhTotal = dh[e] + dy[e];
            float dn = dhTotal * (1f - update) * (1f - (n * n));
            float dr = dn * hh[g0 + (2 * hidden)] * reset * (1f - reset);
            float dz = dhTotal * (hIn[e] - n) * update * (1f - update);
            dgates[g0] = dr;
            dgates[g0 + hidden] = dz;
            dgates[g0 + (2 * hidden)] = dn;
            dhh[g0] = dr;
            dhh[g0 + hidden] = dz;
            dhh[g0 + (2 * hidden)] = dn * reset;
            dh[e] = dhTotal * update;
        }
    }
}
