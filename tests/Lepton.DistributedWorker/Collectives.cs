// Checks every collective on every element type against values each rank can compute itself.
namespace Lepton.DistributedWorker;

/// <summary>Collectives on one device, checked exactly.</summary>
internal static class Collectives
{
    public static void Run(Distributed dist, Device device)
    {
        int r = dist.Rank, w = dist.WorldSize;
        dist.Barrier();

        // Broadcast from the last rank: every rank ends with its values.
        using (var t = Tensor.Full([5], (float)r, device: device))
        {
            dist.Broadcast(t, root: w - 1);
            Expect(t.ToArray().All(v => v == w - 1), device, "Broadcast float32");
        }

        // Sums of each type: rank r contributes (r + 1) * (i + 1) at i, so the sum is (i + 1) * w(w + 1)/2.
        int total = w * (w + 1) / 2;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.Float16, DType.BFloat16 })
        {
            using var values = (Tensor.Arange(7, DType.Float32, device) + 1f) * (float)(r + 1);
            using var typed = values.CastTo(dtype);
            dist.AllReduce(typed);
            using var back = typed.CastTo(DType.Float32);
            var got = back.ToArray();
            Expect(got.Select((v, i) => v == (i + 1) * total).All(b => b), device, $"AllReduce {dtype.Name()}: [{string.Join(", ", got)}]");
        }

        using (var flags = Tensor.Full([3], r == 0 ? 1f : 0f, device: device))
        using (var bools = flags.CastTo(DType.Bool))
        {
            dist.AllReduce(bools);
            using var back = bools.CastTo(DType.Float32);
            Expect(back.ToArray().All(v => v == 1f), device, "AllReduce bool (logical or)");
        }

        // A narrowed, contiguous view is reduced in place without touching the rest of its storage.
        using (var whole = Tensor.Full([4, 3], 1f, device: device))
        {
            using var row = whole.Narrow(0, 2, 1);
            dist.AllReduce(row);
            var all = whole.ToArray();
            Expect(all.Select((v, i) => v == (i / 3 == 2 ? w : 1)).All(b => b), device, "AllReduce of a narrowed view");
        }

        using (var mine = Tensor.Full([2], (float)r, device: device))
        using (var gathered = dist.AllGather(mine))
        {
            Expect(gathered.ShapeRef.SequenceEqual([w, 2]), device, "AllGather shape");
            Expect(gathered.ToArray().Select((v, i) => v == i / 2).All(b => b), device, "AllGather values");
        }

        // The differentiable sum: the gradient of sum_ranks(x) . c is sum_ranks(c).
        using (var x = Tensor.Full([3], (float)r, device: device))
        {
            x.RequiresGrad = true;
            using var y = dist.SumOverRanks(x);
            Expect(y.ToArray().All(v => v == (w - 1) * w / 2), device, "SumOverRanks forward");
            using var loss = (y * (float)(r + 1)).Sum();
            loss.Backward();
            Expect(x.Grad!.ToArray().All(v => v == total), device, "SumOverRanks backward");
        }

        double[] host = [r, 1];
        dist.AllReduce(host);
        Expect(host[0] == (w - 1) * w / 2.0 && host[1] == w, device, "AllReduce double[]");
    }

    private static void Expect(bool condition, Device device, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"{what} on {device.Name} gave a wrong result");
        }
    }
}
