// Fused LSTM and GRU cells on the CPU: one SIMD pass per batch row turns a step's gate pre-activations into
// activations and the new states, and one pass turns the states' gradients into the gates' gradients.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Element-operations a cell costs per unit (four exponentials and a few products), for the parallel split.</summary>
    private const long CellWorkPerUnit = 64;

    /// <inheritdoc />
    public void LstmCellForward(DeviceBuffer gates, DeviceBuffer h, DeviceBuffer c, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse)
    {
        var (before, after) = StateSlots(t, reverse);
        long states = (long)batch * hidden;
        var rows = new LstmRows
        {
            Gates = Cpu(gates).Pointer + ((long)t * batch * 4 * hidden),
            HIn = Cpu(h).Pointer + (before * states),
            HOut = Cpu(h).Pointer + (after * states),
            CIn = Cpu(c).Pointer + (before * states),
            COut = Cpu(c).Pointer + (after * states),
            Mask = mask is null ? null : Cpu(mask).Pointer + ((long)t * batch),
            Hidden = hidden,
        };
        CpuParallel.For(batch, hidden * CellWorkPerUnit, rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in LstmRows s, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                s.Forward(r);
            }
        });
    }

    /// <inheritdoc />
    public void LstmCellBackward(DeviceBuffer gates, DeviceBuffer c, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dc, DeviceBuffer dgates, int time, int batch, int hidden, int t, bool reverse)
    {
        var (before, after) = StateSlots(t, reverse);
        long states = (long)batch * hidden;
        var rows = new LstmRows
        {
            Gates = Cpu(gates).Pointer + ((long)t * batch * 4 * hidden),
            CIn = Cpu(c).Pointer + (before * states),
            COut = Cpu(c).Pointer + (after * states),
            Mask = mask is null ? null : Cpu(mask).Pointer + ((long)t * batch),
            Dy = Cpu(dy).Pointer + (t * states),
            Dh = Cpu(dh).Pointer,
            Dc = Cpu(dc).Pointer,
            DGates = Cpu(dgates).Pointer + ((long)t * batch * 4 * hidden),
            Hidden = hidden,
        };
        CpuParallel.For(batch, hidden * CellWorkPerUnit, rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in LstmRows s, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                s.Backward(r);
            }
        });
    }

    /// <inheritdoc />
    public void GruCellForward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, int time, int batch, int hidden, int t, bool reverse)
    {
        var (before, after) = StateSlots(t, reverse);
        long states = (long)batch * hidden;
        var rows = new GruRows
        {
            Gates = Cpu(gates).Pointer + ((long)t * batch * 3 * hidden),
            Hh = Cpu(hh).Pointer + ((long)t * batch * 3 * hidden),
            HIn = Cpu(h).Pointer + (before * states),
            HOut = Cpu(h).Pointer + (after * states),
            Mask = mask is null ? null : Cpu(mask).Pointer + ((long)t * batch),
            Hidden = hidden,
        };
        CpuParallel.For(batch, hidden * CellWorkPerUnit, rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in GruRows s, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                s.Forward(r);
            }
        });
    }

    /// <inheritdoc />
    public void GruCellBackward(DeviceBuffer gates, DeviceBuffer hh, DeviceBuffer h, DeviceBuffer? mask, DeviceBuffer dy, DeviceBuffer dh, DeviceBuffer dgates, DeviceBuffer dhh, int time, int batch, int hidden, int t, bool reverse)
    {
        var (before, _) = StateSlots(t, reverse);
        long states = (long)batch * hidden;
        var rows = new GruRows
        {
            Gates = Cpu(gates).Pointer + ((long)t * batch * 3 * hidden),
            Hh = Cpu(hh).Pointer + ((long)t * batch * 3 * hidden),
            HIn = Cpu(h).Pointer + (before * states),
            Mask = mask is null ? null : Cpu(mask).Pointer + ((long)t * batch),
            Dy = Cpu(dy).Pointer + (t * states),
            Dh = Cpu(dh).Pointer,
            DGates = Cpu(dgates).Pointer + ((long)t * batch * 3 * hidden),
            DHh = Cpu(dhh).Pointer + ((long)t * batch * 3 * hidden),
            Hidden = hidden,
        };
        CpuParallel.For(batch, hidden * CellWorkPerUnit, rows, [MethodImpl(MethodImplOptions.AggressiveOptimization)] static (in GruRows s, int r0, int r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                s.Backward(r);
            }
        });
    }

    /// <summary>The state slots a step at time t reads and writes in [time + 1, batch, hidden] state buffers.</summary>
    private static (long Before, long After) StateSlots(int t, bool reverse) => reverse ? (t + 1, t) : (t, t + 1);

    private static void ZeroRow(float* row, int length) => new Span<float>(row, length).Clear();

    /// <summary>One LSTM step on rows of [batch, ...] slices; the pointers are already at the step.</summary>
    private struct LstmRows
    {
        public float* Gates, HIn, HOut, CIn, COut, Mask, Dy, Dh, Dc, DGates;
        public int Hidden;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Forward(int r)
        {
            int hidden = Hidden;
            long at = (long)r * hidden;
            float* hi = HIn + at, ho = HOut + at, ci = CIn + at, co = COut + at;
            if (Mask != null && Mask[r] == 0f)
            {
                new ReadOnlySpan<float>(hi, hidden).CopyTo(new Span<float>(ho, hidden));
                new ReadOnlySpan<float>(ci, hidden).CopyTo(new Span<float>(co, hidden));
                return;
            }

            float* gi = Gates + (4 * at), gf = gi + hidden, gg = gf + hidden, go = gg + hidden;
            SigmoidOp sigmoid = default;
            TanhOp tanh = default;
            int w = Vector<float>.Count, j = 0;
            for (; j <= hidden - w; j += w)
            {
                var i = sigmoid.Apply(Vector.Load(gi + j));
                var f = sigmoid.Apply(Vector.Load(gf + j));
                var g = tanh.Apply(Vector.Load(gg + j));
                var o = sigmoid.Apply(Vector.Load(go + j));
                var cNext = (f * Vector.Load(ci + j)) + (i * g);
                i.Store(gi + j);
                f.Store(gf + j);
                g.Store(gg + j);
                o.Store(go + j);
                cNext.Store(co + j);
                (o * tanh.Apply(cNext)).Store(ho + j);
            }

            for (; j < hidden; j++)
            {
                float i = sigmoid.Apply(gi[j]), f = sigmoid.Apply(gf[j]), g = tanh.Apply(gg[j]), o = sigmoid.Apply(go[j]);
                float cNext = (f * ci[j]) + (i * g);
                (gi[j], gf[j], gg[j], go[j]) = (i, f, g, o);
                co[j] = cNext;
                ho[j] = o * tanh.Apply(cNext);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Backward(int r)
        {
            int hidden = Hidden;
            long at = (long)r * hidden;
            float* ci = CIn + at, co = COut + at, dy = Dy + at, dh = Dh + at, dc = Dc + at;
            float* gi = Gates + (4 * at), gf = gi + hidden, gg = gf + hidden, go = gg + hidden;
            float* di = DGates + (4 * at), df = di + hidden, dg = df + hidden, dout = dg + hidden;
            if (Mask != null && Mask[r] == 0f)
            {
                // The step kept the states: their gradients pass through unchanged (dc as it is).
                for (int k = 0; k < hidden; k++)
                {
                    dh[k] += dy[k];
                }

                ZeroRow(di, 4 * hidden);
                return;
            }

            TanhOp tanh = default;
            var one = Vector<float>.One;
            int w = Vector<float>.Count, j = 0;
            for (; j <= hidden - w; j += w)
            {
                var i = Vector.Load(gi + j);
                var f = Vector.Load(gf + j);
                var g = Vector.Load(gg + j);
                var o = Vector.Load(go + j);
                var dhTotal = Vector.Load(dh + j) + Vector.Load(dy + j);
                var tc = tanh.Apply(Vector.Load(co + j));
                var dcTotal = Vector.Load(dc + j) + (dhTotal * o * (one - (tc * tc)));
                (dcTotal * g * i * (one - i)).Store(di + j);
                (dcTotal * Vector.Load(ci + j) * f * (one - f)).Store(df + j);
                (dcTotal * i * (one - (g * g))).Store(dg + j);
                (dhTotal * tc * o * (one - o)).Store(dout + j);
                (dcTotal * f).Store(dc + j);
                Vector<float>.Zero.Store(dh + j);
            }

            for (; j < hidden; j++)
            {
                float i = gi[j], f = gf[j], g = gg[j], o = go[j];
                float dhTotal = dh[j] + dy[j], tc = tanh.Apply(co[j]);
                float dcTotal = dc[j] + (dhTotal * o * (1f - (tc * tc)));
                di[j] = dcTotal * g * i * (1f - i);
                df[j] = dcTotal * ci[j] * f * (1f - f);
                dg[j] = dcTotal * i * (1f - (g * g));
                dout[j] = dhTotal * tc * o * (1f - o);
                dc[j] = dcTotal * f;
                dh[j] = 0f;
            }
        }
    }

    /// <summary>One GRU step on rows of [batch, ...] slices; the pointers are already at the step.</summary>
    private struct GruRows
    {
        public float* Gates, Hh, HIn, HOut, Mask, Dy, Dh, DGates, DHh;
        public int Hidden;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Forward(int r)
        {
            int hidden = Hidden;
            long at = (long)r * hidden;
            float* hi = HIn + at, ho = HOut + at;
            if (Mask != null && Mask[r] == 0f)
            {
                new ReadOnlySpan<float>(hi, hidden).CopyTo(new Span<float>(ho, hidden));
                return;
            }

            float* gr = Gates + (3 * at), gz = gr + hidden, gn = gz + hidden;
            float* hr = Hh + (3 * at), hz = hr + hidden, hn = hz + hidden;
            SigmoidOp sigmoid = default;
            TanhOp tanh = default;
            int w = Vector<float>.Count, j = 0;
            for (; j <= hidden - w; j += w)
            {
                var reset = sigmoid.Apply(Vector.Load(gr + j) + Vector.Load(hr + j));
                var update = sigmoid.Apply(Vector.Load(gz + j) + Vector.Load(hz + j));
                var n = tanh.Apply(Vector.Load(gn + j) + (reset * Vector.Load(hn + j)));
                reset.Store(gr + j);
                update.Store(gz + j);
                n.Store(gn + j);
                (n + (update * (Vector.Load(hi + j) - n))).Store(ho + j);
            }

            for (; j < hidden; j++)
            {
                float reset = sigmoid.Apply(gr[j] + hr[j]), update = sigmoid.Apply(gz[j] + hz[j]);
                float n = tanh.Apply(gn[j] + (reset * hn[j]));
                (gr[j], gz[j], gn[j]) = (reset, update, n);
                ho[j] = n + (update * (hi[j] - n));
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Backward(int r)
        {
            int hidden = Hidden;
            long at = (long)r * hidden;
            float* hi = HIn + at, dy = Dy + at, dh = Dh + at;
            float* gr = Gates + (3 * at), gz = gr + hidden, gn = gz + hidden, hn = Hh + (3 * at) + (2 * hidden);
            float* dxr = DGates + (3 * at), dxz = dxr + hidden, dxn = dxz + hidden;
            float* dhr = DHh + (3 * at), dhz = dhr + hidden, dhn = dhz + hidden;
            if (Mask != null && Mask[r] == 0f)
            {
                for (int k = 0; k < hidden; k++)
                {
                    dh[k] += dy[k];
                }

                ZeroRow(dxr, 3 * hidden);
                ZeroRow(dhr, 3 * hidden);
                return;
            }

            var one = Vector<float>.One;
            int w = Vector<float>.Count, j = 0;
            for (; j <= hidden - w; j += w)
            {
                var reset = Vector.Load(gr + j);
                var update = Vector.Load(gz + j);
                var n = Vector.Load(gn + j);
                var dhTotal = Vector.Load(dh + j) + Vector.Load(dy + j);
                var dn = dhTotal * (one - update) * (one - (n * n));
                var dr = dn * Vector.Load(hn + j) * reset * (one - reset);
                var dz = dhTotal * (Vector.Load(hi + j) - n) * update * (one - update);
                dr.Store(dxr + j);
                dz.Store(dxz + j);
                dn.Store(dxn + j);
                dr.Store(dhr + j);
                dz.Store(dhz + j);
                (dn * reset).Store(dhn + j);
                (dhTotal * update).Store(dh + j);
            }

            for (; j < hidden; j++)
            {
                float reset = gr[j], update = gz[j], n = gn[j], dhTotal = dh[j] + dy[j];
                float dn = dhTotal * (1f - update) * (1f - (n * n));
                float dr = dn * hn[j] * reset * (1f - reset);
                float dz = dhTotal * (hi[j] - n) * update * (1f - update);
                (dxr[j], dxz[j], dxn[j]) = (dr, dz, dn);
                (dhr[j], dhz[j], dhn[j]) = (dr, dz, dn * reset);
                dh[j] = dhTotal * update;
            }
        }
    }
}
