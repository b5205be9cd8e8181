// The typed primitives (FillBits, CopyElements, Cast, Where, TypedBinary, TypedReduce) run at the IBackend
// level on the CPU backend and on ILGPU's CPU accelerator for every element type and op, compared bit for bit.
using Lepton.Backends;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(IlgpuCpuCollection.Name)]
public sealed class TypedKernelParityTests
{
    private static readonly TypedBinaryOp[] Ops = Enum.GetValues<TypedBinaryOp>();

    public static TheoryData<DType> AllTypes => [.. DTypeExtensions.All];

    public static TheoryData<DType> ComputeTypes => [.. DTypeExtensions.All.Where(t => !t.IsHalf())];

    public static TheoryData<int> ElementSizes => [1, 2, 4, 8];

    private static IBackend Cpu => Device.Cpu.Backend;

    private static IBackend Gpu => Device.IlgpuCpu.Backend;

    [Theory]
    [MemberData(nameof(ElementSizes))]
    public void FillBitsSetsTheSameBytes(int size)
    {
        using var y = BufferPair.Blank(Cpu, Gpu, 64);
        foreach (var b in new[] { y.Cpu, y.Other })
        {
            b.FillBits(b == y.Cpu ? y.OnCpu : y.OnOther, size, offset: 3, count: 5, 0x1122334455667788UL);
            b.FillBits(b == y.Cpu ? y.OnCpu : y.OnOther, size, offset: 2, count: 0, 0UL);
        }

        y.AssertSame(size, $"FillBits size {size}");
        var bytes = y.ReadOther();
        Assert.Equal(0x88, bytes[3 * size]);
        Assert.Equal(0xA5, bytes[(8 * size) % 64]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpu.FillBits(y.OnOther, size, 64 / size, 1, 0));
    }

    [Theory]
    [MemberData(nameof(ElementSizes))]
    public void CopyElementsCopiesStridedBroadcastAndDenseViews(int size)
    {
        var rng = new Random(size);
        var data = new byte[30 * size];
        rng.NextBytes(data);
        using var src = BufferPair.Of(Cpu, Gpu, data);
        using var dst = BufferPair.Blank(Cpu, Gpu, 40 * size);
        (int Offset, int[] Shape, int[] Strides, int DstOffset)[] cases =
        [
            (1, [4, 6], [1, 4], 2), // transposed source
            (3, [3, 2, 5], [5, 0, 1], 1), // broadcast source
            (0, [29], [1], 5), // dense: a device copy
        ];
        foreach (var (offset, shape, strides, dstOffset) in cases)
        {
            var dstStrides = Shapes.ContiguousStrides(shape);
            Cpu.CopyElements(new StridedView(src.OnCpu, offset, shape, strides, size), new StridedView(dst.OnCpu, dstOffset, shape, dstStrides, size));
            Gpu.CopyElements(new StridedView(src.OnOther, offset, shape, strides, size), new StridedView(dst.OnOther, dstOffset, shape, dstStrides, size));
            dst.AssertSame(size, $"CopyElements size {size} shape [{string.Join(",", shape)}]");
        }
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void CastToEveryTypeMatchesBitForBit(DType from)
    {
        var rng = new Random((int)from);
        const int n = 96;
        using var src = BufferPair.Of(Cpu, Gpu, TypedData.Values(from, n, rng));
        foreach (var to in DTypeExtensions.All)
        {
            using var dst = BufferPair.Blank(Cpu, Gpu, n * to.Size());
            var dense = new StridedView(src.OnCpu, 0, [n], [1], from.Size());
            Cpu.Cast(dense, from, dst.OnCpu, to);
            Gpu.Cast(new StridedView(src.OnOther, 0, [n], [1], from.Size()), from, dst.OnOther, to);
            dst.AssertSame(to.Size(), $"Cast {from.Name()} -> {to.Name()} (dense)");

            // [8, 11] read transposed from a [11, 8] block at offset 3.
            Cpu.Cast(new StridedView(src.OnCpu, 3, [8, 11], [1, 8], from.Size()), from, dst.OnCpu, to);
            Gpu.Cast(new StridedView(src.OnOther, 3, [8, 11], [1, 8], from.Size()), from, dst.OnOther, to);
            dst.AssertSame(to.Size(), $"Cast {from.Name()} -> {to.Name()} (strided)");
        }
    }

    [Fact]
    public void CastOfEveryHalfValueMatches()
    {
        var halves = new ushort[65536];
        for (int i = 0; i < halves.Length; i++)
        {
            halves[i] = (ushort)i;
        }

        using var src = BufferPair.Of(Cpu, Gpu, TypedData.Bytes<ushort>(halves));
        foreach (var from in new[] { DType.Float16, DType.BFloat16 })
        {
            foreach (var to in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int32, DType.Int8, DType.Bool })
            {
                using var dst = BufferPair.Blank(Cpu, Gpu, halves.Length * to.Size());
                Cpu.Cast(StridedView.Dense(src.OnCpu, [halves.Length], 2), from, dst.OnCpu, to);
                Gpu.Cast(StridedView.Dense(src.OnOther, [halves.Length], 2), from, dst.OnOther, to);
                dst.AssertSame(to.Size(), $"Cast {from.Name()} -> {to.Name()} of every 16-bit pattern");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ElementSizes))]
    public void WhereSelectsWithABoolConditionAndBroadcasting(int size)
    {
        var rng = new Random(10 + size);
        var a = new byte[60 * size];
        var b = new byte[size];
        rng.NextBytes(a);
        rng.NextBytes(b);
        var cond = new byte[15];
        for (int i = 0; i < cond.Length; i++)
        {
            cond[i] = (byte)(rng.Next(3) == 0 ? 0 : rng.Next(1, 256)); // any non-zero byte is true
        }

        using var c = BufferPair.Of(Cpu, Gpu, cond);
        using var av = BufferPair.Of(Cpu, Gpu, a);
        using var bv = BufferPair.Of(Cpu, Gpu, b);
        using var y = BufferPair.Blank(Cpu, Gpu, 3 * 4 * 5 * size);
        int[] shape = [3, 4, 5];
        foreach (var (backend, cb, ab, bb, yb) in new[] { (Cpu, c.OnCpu, av.OnCpu, bv.OnCpu, y.OnCpu), (Gpu, c.OnOther, av.OnOther, bv.OnOther, y.OnOther) })
        {
            backend.Where(new StridedView(cb, 0, shape, [5, 0, 1], 1), new StridedView(ab, 0, shape, [20, 5, 1], size), new StridedView(bb, 0, shape, [0, 0, 0], size), yb, shape);
        }

        y.AssertSame(size, $"Where size {size}");
    }

    [Theory]
    [MemberData(nameof(ComputeTypes))]
    public void TypedBinaryMatchesForEveryOpWithBroadcastingAndEdgePairs(DType type)
    {
        var rng = new Random(20 + (int)type);
        int size = type.Size();
        var aData = TypedData.Values(type, 15, rng);
        var bData = TypedData.Values(type, 22, rng);
        var edges = TypedData.Edges(type);
        int k = TypedData.EdgeCount(type);
        foreach (var op in Ops)
        {
            bool divides = op is TypedBinaryOp.Div or TypedBinaryOp.Remainder && !type.IsFloatingPoint();
            using var a = BufferPair.Of(Cpu, Gpu, aData);
            using var b = BufferPair.Of(Cpu, Gpu, divides ? TypedData.NonZero(type, bData) : bData);
            using var e = BufferPair.Of(Cpu, Gpu, edges);
            using var eb = BufferPair.Of(Cpu, Gpu, divides ? TypedData.NonZero(type, edges) : edges);
            int ySize = op.ResultType(type).Size();
            using var y = BufferPair.Blank(Cpu, Gpu, Math.Max(60, k * k) * ySize);

            // [3, 4, 5] from a [3, 1, 5] and a [1, 4, 5] at offset 2; then every pair of edge values as [k, k].
            var views = new (int[] Shape, int Ao, int[] As, int Bo, int[] Bs, bool Edge)[]
            {
                ([3, 4, 5], 0, [5, 0, 1], 2, [0, 5, 1], false),
                ([k, k], 0, [1, 0], 0, [0, 1], true),
            };
            foreach (var v in views)
            {
                var cpuError = Record.Exception(() => Cpu.TypedBinary(op, type, View(v.Edge ? e.OnCpu : a.OnCpu, v.Ao, v.Shape, v.As, size), View(v.Edge ? eb.OnCpu : b.OnCpu, v.Bo, v.Shape, v.Bs, size), y.OnCpu, v.Shape));
                var gpuError = Record.Exception(() => Gpu.TypedBinary(op, type, View(v.Edge ? e.OnOther : a.OnOther, v.Ao, v.Shape, v.As, size), View(v.Edge ? eb.OnOther : b.OnOther, v.Bo, v.Shape, v.Bs, size), y.OnOther, v.Shape));
                Assert.Equal(cpuError?.GetType(), gpuError?.GetType());
                if (cpuError is not null)
                {
                    Assert.IsType<NotSupportedException>(cpuError);
                    break;
                }

                y.AssertSame(ySize, $"TypedBinary {op} {type.Name()} {(v.Edge ? "edge pairs" : "broadcast")}", type.IsFloatingPoint() && !op.IsComparison() ? type : null);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ComputeTypes))]
    public void TypedReduceMatchesForEveryKind(DType type)
    {
        var rng = new Random(40 + (int)type);
        int size = type.Size();
        foreach (var (outer, axis, inner) in new[] { (3, 7, 4), (1, 40, 1), (2, 1, 3) })
        {
            // Few distinct values, so that ties and repeated NaNs test which index wins.
            var choices = TypedData.Values(type, 6, rng);
            var x = new byte[outer * axis * inner * size];
            for (int i = 0; i < x.Length / size; i++)
            {
                Array.Copy(choices, rng.Next(6) * size, x, i * size, size);
            }

            var random = TypedData.Values(type, x.Length / size, rng);
            foreach (var data in new[] { x, random })
            {
                using var xb = BufferPair.Of(Cpu, Gpu, data);
                foreach (var kind in Enum.GetValues<ReduceKind>())
                {
                    foreach (bool last in new[] { false, true })
                    {
                        int ySize = kind is ReduceKind.Max or ReduceKind.Min ? size : 8;
                        using var y = BufferPair.Blank(Cpu, Gpu, outer * inner * ySize);
                        Cpu.TypedReduce(kind, type, xb.OnCpu, outer, axis, inner, y.OnCpu, last);
                        Gpu.TypedReduce(kind, type, xb.OnOther, outer, axis, inner, y.OnOther, last);
                        y.AssertSame(ySize, $"TypedReduce {kind} {type.Name()} [{outer},{axis},{inner}] last={last}", type.IsFloatingPoint() && kind == ReduceKind.Sum ? type : null);
                    }
                }
            }
        }

        using var empty = BufferPair.Blank(Cpu, Gpu, 64);
        Assert.Throws<ArgumentException>(() => Gpu.TypedReduce(ReduceKind.Max, type, empty.OnOther, 2, 0, 3, empty.OnOther));
        Assert.Throws<ArgumentException>(() => Gpu.TypedReduce(ReduceKind.ArgMin, type, empty.OnOther, 2, 0, 3, empty.OnOther));
    }

    [Fact]
    public void SixteenBitFloatsHaveNoArithmeticKernels()
    {
        using var a = BufferPair.Blank(Cpu, Gpu, 16);
        var v = new StridedView(a.OnOther, 0, [2], [1], 2);
        Assert.Throws<NotSupportedException>(() => Gpu.TypedBinary(TypedBinaryOp.Add, DType.Float16, v, v, a.OnOther, [2]));
        Assert.Throws<NotSupportedException>(() => Gpu.TypedReduce(ReduceKind.Sum, DType.BFloat16, a.OnOther, 1, 2, 1, a.OnOther));
    }

    [Fact]
    public void ExactValuesOnIlgpu()
    {
        Assert.Equal([(sbyte)-56], Binary<sbyte>(TypedBinaryOp.Add, DType.Int8, [100], [100]));
        Assert.Equal([16777217, 16777218], Binary<int>(TypedBinaryOp.Add, DType.Int32, [16777216, 16777217], [1, 1]));
        Assert.Equal([int.MinValue, 0, -3, 3], Binary<int>(TypedBinaryOp.Div, DType.Int32, [int.MinValue, 0, 7, -7], [-1, 5, -2, -2]));
        Assert.Equal([0, 1, -1], Binary<int>(TypedBinaryOp.Remainder, DType.Int32, [int.MinValue, 7, -7], [-1, -2, 2]));
        Assert.Equal([long.MinValue], Binary<long>(TypedBinaryOp.Sub, DType.Int64, [long.MaxValue], [-1]));
        Assert.Equal([(byte)1, 0, 1], Binary<float, byte>(TypedBinaryOp.NotEqual, DType.Float32, [float.NaN, 1f, 0f], [float.NaN, 1f, -1f]));
        Assert.True(float.IsNaN(Binary<float>(TypedBinaryOp.Maximum, DType.Float32, [1f], [float.NaN])[0]));

        Assert.Equal([(sbyte)127, -128, 0, 2, -2], Cast<float, sbyte>(DType.Float32, DType.Int8, [1e10f, -1e10f, float.NaN, 2.9f, -2.9f]));
        Assert.Equal([16777217L, -1L], Cast<int, long>(DType.Int32, DType.Int64, [16777217, -1]));
        Assert.Equal([16777216f], Cast<int, float>(DType.Int32, DType.Float32, [16777217]));
        Assert.Equal([(sbyte)-56, 0], Cast<int, sbyte>(DType.Int32, DType.Int8, [200, 256]));
        Assert.Equal([(byte)1, 1, 0], Cast<float, byte>(DType.Float32, DType.Bool, [float.NaN, -0.5f, -0f]));
        Assert.Equal([(ushort)0x7C00, 0x7BFF, 0x0000, 0x0001, 0x3C00], Cast<float, ushort>(DType.Float32, DType.Float16, [65520f, 65519f, MathF.Pow(2, -25), 1.5f * MathF.Pow(2, -25), 1f]));
        Assert.Equal([(ushort)0x3F80, 0x3F80, 0x3F82], Cast<float, ushort>(DType.Float32, DType.BFloat16, [1f, 1.00390625f, 1.01171875f]));

        Assert.Equal([128L], Reduce<sbyte, long>(ReduceKind.Sum, DType.Int8, [127, 1]));
        Assert.Equal([1L], Reduce<float, long>(ReduceKind.ArgMax, DType.Float32, [1f, float.NaN, 3f]));
        Assert.Equal([2L], Reduce<float, long>(ReduceKind.ArgMin, DType.Float32, [1f, 3f, 1f], last: true));
        Assert.Equal([16777218f], Reduce<float, float>(ReduceKind.Sum, DType.Float32, [16777216f, 1f, 1f]));
    }

    private static StridedView View(DeviceBuffer buffer, int offset, int[] shape, int[] strides, int size) => new(buffer, offset, shape, strides, size);

    private static T[] Binary<T>(TypedBinaryOp op, DType type, T[] a, T[] b)
        where T : unmanaged => Binary<T, T>(op, type, a, b);

    private static TR[] Binary<T, TR>(TypedBinaryOp op, DType type, T[] a, T[] b)
        where T : unmanaged
        where TR : unmanaged
    {
        using var ab = BufferPair.Of(Cpu, Gpu, TypedData.Bytes<T>(a));
        using var bb = BufferPair.Of(Cpu, Gpu, TypedData.Bytes<T>(b));
        using var y = BufferPair.Blank(Cpu, Gpu, a.Length * op.ResultType(type).Size());
        Gpu.TypedBinary(op, type, StridedView.Dense(ab.OnOther, [a.Length], type.Size()), StridedView.Dense(bb.OnOther, [a.Length], type.Size()), y.OnOther, [a.Length]);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, TR>(y.ReadOther()).ToArray();
    }

    private static TTo[] Cast<TFrom, TTo>(DType from, DType to, TFrom[] x)
        where TFrom : unmanaged
        where TTo : unmanaged
    {
        using var xb = BufferPair.Of(Cpu, Gpu, TypedData.Bytes<TFrom>(x));
        using var y = BufferPair.Blank(Cpu, Gpu, x.Length * to.Size());
        Gpu.Cast(StridedView.Dense(xb.OnOther, [x.Length], from.Size()), from, y.OnOther, to);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, TTo>(y.ReadOther()).ToArray();
    }

    private static TR[] Reduce<T, TR>(ReduceKind kind, DType type, T[] x, bool last = false)
        where T : unmanaged
        where TR : unmanaged
    {
        using var xb = BufferPair.Of(Cpu, Gpu, TypedData.Bytes<T>(x));
        using var y = BufferPair.Blank(Cpu, Gpu, 8);
        Gpu.TypedReduce(kind, type, xb.OnOther, 1, x.Length, 1, y.OnOther, last);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, TR>(y.ReadOther()).ToArray()[..1];
    }
}
