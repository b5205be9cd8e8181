// Parity of the fused recurrent cells: LSTM and GRU steps forward and backward, in both directions, with and
// without a mask, on a hidden size that is not a multiple of any vector or group width.
using Lepton.Backends;

namespace Lepton.Tests.Support;

public sealed partial class ParityChecks
{
    public void RecurrentCells()
    {
        var rng = new Random(29);
        const int time = 3, batch = 5, hidden = 11, t = 1, n = batch * hidden;
        float[] mask = [.. Enumerable.Range(0, time * batch).Select(i => i % 4 == 1 ? 0f : 1f)];
        float[] NaNs(int count) => Enumerable.Repeat(float.NaN, count).ToArray();
        foreach (bool reverse in new[] { false, true })
        {
            foreach (bool masked in new[] { false, true })
            {
                string what = $"{(reverse ? "reverse" : "forward")}{(masked ? ", masked" : "")}";
                DeviceBuffer? Mask(DeviceBuffer[] i) => masked ? i[0] : null;

                // LSTM: pre-activations and the states before the step in; activations and the states after it out.
                float[] gates = [.. Values(rng, time * 4 * n).Select(v => v * 3f)], h = Values(rng, (time + 1) * n), c = Values(rng, (time + 1) * n);
                void LstmStep(IBackend b, DeviceBuffer[] i, DeviceBuffer[] o) => b.LstmCellForward(o[0], o[1], o[2], Mask(i), time, batch, hidden, t, reverse);
                Parity([mask], [gates, h, c], LstmStep, Elementwise, $"lstm cell, {what}");
                var after = Run(Cpu, [mask], [gates, h, c], LstmStep);
                float[] dy = Values(rng, time * n), dh = Values(rng, n), dc = Values(rng, n);
                Parity([mask, after[0], after[2], dy], [dh, dc, NaNs(time * 4 * n)], (b, i, o) =>
                    b.LstmCellBackward(i[1], i[2], Mask(i), i[3], o[0], o[1], o[2], time, batch, hidden, t, reverse), Elementwise, $"lstm cell backward, {what}");

                // GRU: x-side pre-activations in place, the recurrent products hh beside them.
                float[] xGates = [.. Values(rng, time * 3 * n).Select(v => v * 3f)], hh = Values(rng, time * 3 * n);
                void GruStep(IBackend b, DeviceBuffer[] i, DeviceBuffer[] o) => b.GruCellForward(o[0], i[1], o[1], Mask(i), time, batch, hidden, t, reverse);
                Parity([mask, hh], [xGates, h], GruStep, Elementwise, $"gru cell, {what}");
                var gruAfter = Run(Cpu, [mask, hh], [xGates, h], GruStep);
                Parity([mask, gruAfter[0], hh, gruAfter[1], dy], [dh, NaNs(time * 3 * n), NaNs(time * 3 * n)], (b, i, o) =>
                    b.GruCellBackward(i[1], i[2], i[3], Mask(i), i[4], o[0], o[1], o[2], time, batch, hidden, t, reverse), Elementwise, $"gru cell backward, {what}");
            }
        }
    }
}
