// The fusion pass: a ReLU convolution whose output only a non-overlapping max pooling reads (and
// the ReLU's backward) runs as the backend's fused convolution + pooling, and its backward masks the
// pooled gradient (ReLU's mask at each window's winner is the pooled value's sign) and takes the
// convolution's gradients from it, without the full-size output or gradient. The forward gives the
// same bits; the bias gradient is summed over the pooled gradient instead of the full-size one, so it
// equals the unfused one up to float rounding.
using Lepton.Backends;

namespace Lepton.Capture;

/// <summary>Fuses convolution + bias + ReLU + max pooling, forward and backward, in a captured step.</summary>
internal static class ConvPoolFusion
{
    /// <summary>Rewrites every group it can; returns how many. New buffers go to <paramref name="owned"/>.</summary>
    public static int Apply(List<CapturedCall> calls, IFusedKernels kernels, BufferPool pool, List<DeviceBuffer> owned)
    {
        var ownedSet = new HashSet<DeviceBuffer>(owned, ReferenceEqualityComparer.Instance);
        int groups = 0;
        for (int i = 0; i < calls.Count; i++)
        {
            if (calls[i] is { Kind: CallKind.Conv2dBiasRelu } && TryFuse(calls, i, kernels, pool, owned, ownedSet))
            {
                groups++;
            }
        }

        calls.RemoveAll(c => c is null);
        return groups;
    }

    private static bool TryFuse(List<CapturedCall> calls, int f, IFusedKernels kernels, BufferPool pool, List<DeviceBuffer> owned, HashSet<DeviceBuffer> ownedSet)
    {
        var conv = calls[f];
        var g = (Conv2dGeometry)conv.Args!;
        DeviceBuffer x = conv.Buffers[0]!, w = conv.Buffers[1]!, y = conv.Buffers[3]!;
        DeviceBuffer? bias = conv.Buffers[2];
        if (!ownedSet.Contains(y))
        {
            return false;
        }

        // y: written here, pooled once, and read by ReLU's backward (as its input and output), nothing else.
        int m = -1, back = -1;
        for (int i = f + 1; i < calls.Count; i++)
        {
            if (calls[i] is not { } c || !c.Touches(y))
            {
                continue;
            }

            if (c.Kind == CallKind.MaxPool2dForward && m < 0 && ReferenceEquals(c.Buffers[0], y))
            {
                m = i;
            }
            else if (c.Kind == CallKind.ReluBiasBackward && back < 0 && ReferenceEquals(c.Buffers[0], y) && ReferenceEquals(c.Buffers[2], y) &&
                     c.Buffers[1] is null && !ReferenceEquals(c.Buffers[3], y) && !ReferenceEquals(c.Buffers[4], y))
            {
                back = i;
            }
            else
            {
                return false;
            }
        }

        if (m < 0 || back < m)
        {
            return false;
        }

        var pg = (Pool2dGeometry)calls[m]!.Args!;
        DeviceBuffer pooled = calls[m]!.Buffers[1]!, indices = calls[m]!.Buffers[2]!;
        var (outer, channels, inner) = ((int, int, int))calls[back]!.Args!;
        if (pg.KernelH != pg.StrideH || pg.KernelW != pg.StrideW || outer != g.N || channels != g.K || inner != g.P * g.Q ||
            !kernels.SupportsConv2dBiasReluMaxPool(g, pg) || Written(calls, pooled, m, calls.Count) || Written(calls, indices, m, calls.Count))
        {
            return false;
        }

        var relu = calls[back]!;
        DeviceBuffer dy = relu.Buffers[3]!, dz = relu.Buffers[4]!;
        DeviceBuffer? dbias = relu.Buffers[5];
        if (!ownedSet.Contains(dy) || !ownedSet.Contains(dz))
        {
            return false;
        }

        // dy: written by the pooling's backward from the pooled gradient, read by ReLU's backward alone.
        int mb = -1;
        for (int i = 0; i < calls.Count; i++)
        {
            if (i == back || calls[i] is not { } c || !c.Touches(dy))
            {
                continue;
            }

            if (c.Kind != CallKind.MaxPool2dBackward || mb >= 0 || !ReferenceEquals(c.Buffers[2], dy) || !ReferenceEquals(c.Buffers[1], indices) ||
                (Pool2dGeometry)c.Args! != pg)
            {
                return false;
            }

            mb = i;
        }

        // dz: written by ReLU's backward, read only by this convolution's gradients.
        int data = -1, filter = -1;
        for (int i = 0; i < calls.Count; i++)
        {
            if (i == back || calls[i] is not { } c || !c.Touches(dz))
            {
                continue;
            }

            if (i < back || c.Args is not Conv2dGeometry cg || cg != g)
            {
                return false;
            }

            if (c.Kind == CallKind.Conv2dBackwardData && data < 0 && ReferenceEquals(c.Buffers[0], dz) && ReferenceEquals(c.Buffers[1], w))
            {
                data = i;
            }
            else if (c.Kind == CallKind.Conv2dBackwardFilter && filter < 0 && ReferenceEquals(c.Buffers[1], dz) && ReferenceEquals(c.Buffers[0], x))
            {
                filter = i;
            }
            else
            {
                return false;
            }
        }

        if (mb < 0 || mb > back)
        {
            return false;
        }

        // The fused backward reads the pooled gradient where ReLU's backward ran, not where the pooling's did.
        DeviceBuffer pooledGrad = calls[mb]!.Buffers[0]!;
        if (Written(calls, pooledGrad, mb, back))
        {
            return false;
        }

        var masked = pool.RentBytes(pooled.ByteLength);
        owned.Add(masked);
        ownedSet.Add(masked);

        calls[f] = new CapturedCall(
            nameof(IFusedKernels.Conv2dBiasReluMaxPoolForward), CallKind.Other, [x, w, bias, pooled, indices], 0b11000,
            (b, s) => ((IFusedKernels)b).Conv2dBiasReluMaxPoolForward(g, pg, s[0]!, s[1]!, s[2], s[3]!, s[4]!), g);
        calls[m] = null!;
        calls[mb] = null!;
        int pooledInner = pg.P * pg.Q;
        calls[back] = new CapturedCall(
            nameof(IBackend.BiasActivationBackward), CallKind.Other, [pooled, pooledGrad, masked, dbias], 0b1100,
            (b, s) => b.BiasActivationBackward(default(ReluOp), s[0]!, null, s[0]!, s[1]!, pg.N, pg.C, pooledInner, s[2]!, s[3]));

        DeviceBuffer? dx = data >= 0 ? calls[data]!.Buffers[2] : null;
        DeviceBuffer? dw = filter >= 0 ? calls[filter]!.Buffers[2] : null;
        if ((dx is not null || dw is not null) && kernels.SupportsConv2dPooledBackward(g, pg, dx is not null, dw is not null))
        {
            int first = data >= 0 && (filter < 0 || data < filter) ? data : filter;
            int other = first == data ? filter : data;
            calls[first] = new CapturedCall(
                nameof(IFusedKernels.Conv2dPooledBackward), CallKind.Other, [x, w, masked, indices, dx, dw], 0b110000,
                (b, s) => ((IFusedKernels)b).Conv2dPooledBackward(g, pg, s[0]!, s[1]!, s[2]!, s[3]!, s[4], s[5]), g);
            if (other >= 0)
            {
                calls[other] = null!;
            }
        }
        else
        {
            // The full-size gradient from the masked pooled one, then the convolution's gradients as recorded.
            calls.Insert(back + 1, new CapturedCall(
                nameof(IBackend.MaxPool2dBackward), CallKind.Other, [masked, indices, dz], 0b100,
                (b, s) => b.MaxPool2dBackward(pg, s[0]!, s[1]!, s[2]!)));
        }

        return true;
    }

    /// <summary>Whether a call after <paramref name="index"/> and before <paramref name="end"/> writes <paramref name="buffer"/>.</summary>
    private static bool Written(List<CapturedCall> calls, DeviceBuffer buffer, int index, int end)
    {
        for (int i = index + 1; i < end; i++)
        {
            if (calls[i] is not { } c)
            {
                continue;
            }

            for (int s = 0; s < c.Buffers.Length; s++)
            {
                if (ReferenceEquals(c.Buffers[s], buffer) && c.WritesSlot(s))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
