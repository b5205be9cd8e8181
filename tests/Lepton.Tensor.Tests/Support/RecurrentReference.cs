// Float64 reference of the recurrent functions, written from the equations with plain loops: LSTM
// (i, f, g, o), GRU (r, z, n, reset after or before) and the Elman RNN, with masks and reverse order.
namespace Lepton.Tests.Support;

public enum Cell
{
    Rnn,
    Lstm,
    Gru,
    GruResetBefore,
}

public static class RecurrentReference
{
    public static int Gates(Cell cell) => cell switch { Cell.Lstm => 4, Cell.Rnn => 1, _ => 3 };

    /// <summary>
    /// x [B, T, I], wIh [G*H, I], wHh [G*H, H], biases [G*H] or null, h0/c0 [B, H] or null, mask [B, T] or null.
    /// Returns outputs [B, T, H] (aligned with the input), the final h and the final c [B, H] (c only for the LSTM).
    /// </summary>
    public static (Nd Output, Nd H, Nd C) Run(Cell cell, Nd x, Nd wIh, Nd wHh, Nd? bIh, Nd? bHh, Nd? h0 = null, Nd? c0 = null, Nd? mask = null, bool reverse = false)
    {
        int batch = x.Shape[0], time = x.Shape[1], inputs = x.Shape[2], hidden = wHh.Shape[1], gates = Gates(cell);
        var output = new double[batch * time * hidden];
        var hOut = new double[batch * hidden];
        var cOut = new double[batch * hidden];
        for (int b = 0; b < batch; b++)
        {
            var h = new double[hidden];
            var c = new double[hidden];
            for (int j = 0; j < hidden; j++)
            {
                h[j] = h0 is null ? 0 : h0[b, j];
                c[j] = c0 is null ? 0 : c0[b, j];
            }

            for (int s = 0; s < time; s++)
            {
                int t = reverse ? time - 1 - s : s;
                var xi = new double[gates * hidden];
                var hh = new double[gates * hidden];
                for (int g = 0; g < gates * hidden; g++)
                {
                    xi[g] = bIh is null ? 0 : bIh.Data[g];
                    for (int i = 0; i < inputs; i++)
                    {
                        xi[g] += wIh[g, i] * x[b, t, i];
                    }

                    hh[g] = bHh is null ? 0 : bHh.Data[g];
                    for (int k = 0; k < hidden; k++)
                    {
                        hh[g] += wHh[g, k] * h[k];
                    }
                }

                var hNext = new double[hidden];
                var cNext = new double[hidden];
                for (int j = 0; j < hidden; j++)
                {
                    switch (cell)
                    {
                        case Cell.Rnn:
                            hNext[j] = Math.Tanh(xi[j] + hh[j]);
                            break;
                        case Cell.Lstm:
                            double ig = Sigmoid(xi[j] + hh[j]), fg = Sigmoid(xi[hidden + j] + hh[hidden + j]);
                            double gg = Math.Tanh(xi[(2 * hidden) + j] + hh[(2 * hidden) + j]), og = Sigmoid(xi[(3 * hidden) + j] + hh[(3 * hidden) + j]);
                            cNext[j] = (fg * c[j]) + (ig * gg);
                            hNext[j] = og * Math.Tanh(cNext[j]);
                            break;
                        default:
                            double r = Sigmoid(xi[j] + hh[j]), z = Sigmoid(xi[hidden + j] + hh[hidden + j]);
                            double candidate;
                            if (cell == Cell.Gru)
                            {
                                candidate = xi[(2 * hidden) + j] + (r * hh[(2 * hidden) + j]);
                            }
                            else
                            {
                                // n = tanh(W_in x + b_in + W_hn (r * h) + b_hn): r depends on the unit of the product.
                                candidate = xi[(2 * hidden) + j] + (bHh is null ? 0 : bHh.Data[(2 * hidden) + j]);
                                for (int k = 0; k < hidden; k++)
                                {
                                    candidate += wHh[(2 * hidden) + j, k] * ResetGate(k) * h[k];
                                }
                            }

                            double n = Math.Tanh(candidate);
                            hNext[j] = ((1 - z) * n) + (z * h[j]);
                            break;
                    }
                }

                double keep = mask is null ? 1 : mask[b, t];
                for (int j = 0; j < hidden; j++)
                {
                    output[(((b * time) + t) * hidden) + j] = keep != 0 ? hNext[j] : 0;
                    if (keep != 0)
                    {
                        h[j] = hNext[j];
                        c[j] = cNext[j];
                    }
                }

                double ResetGate(int k) => Sigmoid(xi[k] + hh[k]);
            }

            Array.Copy(h, 0, hOut, b * hidden, hidden);
            Array.Copy(c, 0, cOut, b * hidden, hidden);
        }

        return (new Nd(output, [batch, time, hidden]), new Nd(hOut, [batch, hidden]), new Nd(cOut, [batch, hidden]));
    }

    /// <summary>Outputs, final h and (for the LSTM) final c flattened into one vector, for gradient checks.</summary>
    public static Nd Flat(Cell cell, (Nd Output, Nd H, Nd C) r) =>
        new([.. r.Output.Data, .. r.H.Data, .. cell == Cell.Lstm ? r.C.Data : []], [r.Output.Length + r.H.Length + (cell == Cell.Lstm ? r.C.Length : 0)]);

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
}
