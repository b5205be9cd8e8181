// The CPU backend's kernels allocate nothing once warmed up, on one thread and on several: every path a
// training or inference step takes (each GEMM path, the element-wise loops, every convolution and pooling
// path, softmax cross-entropy, bias + activation and the optimizer update), measured call by call.
using Lepton.Backends;
using Lepton.Backends.Cpu;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(GlobalCpuSettingsCollection.Name)]
public sealed class CpuAllocationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void KernelsAllocateNothingOnceWarm(int threads) => ConvolutionThreadTests.WithThreads(threads, () =>
    {
        foreach (var (name, call) in Calls())
        {
            for (int i = 0; i < 3; i++)
            {
                call();
            }

            // The least of three calls: a one-off allocation elsewhere in the runtime (a type load) can land in
            // one of them, a kernel's own allocation lands in every one.
            long least = long.MaxValue;
            for (int i = 0; i < 3; i++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                call();
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            Assert.True(least == 0, $"{name} allocated {least} bytes per call on {threads} thread(s).");
        }
    });

    private static List<(string Name, Action Call)> Calls()
    {
        var cpu = (CpuBackend)Device.Cpu.Backend;
        var calls = new List<(string, Action)>();
        DeviceBuffer Random(int length, ulong seed)
        {
            var buffer = cpu.Allocate(length);
            cpu.RandomNormal(buffer, length, seed, 0, 0f, 1f);
            return buffer;
        }

        DeviceBuffer Zeros(int length)
        {
            var buffer = cpu.Allocate(length);
            cpu.Fill(buffer, 0, length, 0f);
            return buffer;
        }

        // GEMM: packed (row split and panel split), a few rows, a few rows over a B of 1 MB or more, dot products, batched.
        var a = Random(512 * 512, 1);
        var b = Random(512 * 1024, 2);
        var c = Zeros(512 * 1024);
        calls.Add(("packed GEMM 512^3", () => cpu.Gemm(new GemmArgs(false, false, 512, 512, 512, 1f, a, 0, 512, 0, b, 0, 512, 0, 0f, c, 0, 512, 0))));
        calls.Add(("packed GEMM 128^3", () => cpu.Gemm(new GemmArgs(false, false, 128, 128, 128, 1f, a, 0, 128, 0, b, 0, 128, 0, 0f, c, 0, 128, 0))));
        calls.Add(("transposed packed GEMM", () => cpu.Gemm(new GemmArgs(true, true, 96, 64, 256, 1f, a, 0, 96, 0, b, 0, 256, 0, 1f, c, 0, 64, 0))));
        calls.Add(("one-row GEMM", () => cpu.Gemm(new GemmArgs(false, false, 1, 128, 512, 1f, a, 0, 512, 0, b, 0, 128, 0, 0f, c, 0, 128, 0))));
        calls.Add(("one-row GEMM over 2 MB", () => cpu.Gemm(new GemmArgs(false, false, 1, 1024, 512, 1f, a, 0, 512, 0, b, 0, 1024, 0, 0f, c, 0, 1024, 0))));
        calls.Add(("few-row GEMM, B transposed", () => cpu.Gemm(new GemmArgs(false, true, 4, 512, 512, 1f, a, 0, 512, 0, b, 0, 512, 0, 0f, c, 0, 512, 0))));
        calls.Add(("dot-product GEMM", () => cpu.Gemm(new GemmArgs(false, true, 32, 27, 4096, 1f, a, 0, 4096, 0, b, 0, 4096, 0, 0f, c, 0, 27, 0))));
        calls.Add(("batched GEMM", () => cpu.Gemm(new GemmArgs(false, false, 16, 16, 16, 1f, a, 0, 16, 256, b, 0, 16, 256, 0f, c, 0, 16, 256, 64))));

        // Element-wise, copies, reductions and softmax.
        int n = 64 * 1024;
        var x = Random(n, 3);
        var y = Zeros(n);
        var dy = Random(n, 4);
        var dx = Zeros(n);
        int[] matrix = [256, 256];
        var rows = new StridedView(x, 0, matrix, [256, 1]);
        var column = new StridedView(dy, 0, matrix, [1, 0]);
        var transposed = new StridedView(x, 0, matrix, [1, 256]);
        var dense = new StridedView(y, 0, matrix, [256, 1]);
        calls.Add(("unary", () => cpu.Unary(default(ReluOp), x, y, n)));
        calls.Add(("unary backward", () => cpu.UnaryBackward(default(TanhOp), x, y, dy, dx, n)));
        calls.Add(("binary, one row", () => cpu.Binary(default(AddOp), rows, rows, y, matrix)));
        calls.Add(("binary, broadcast column", () => cpu.Binary(default(MulOp), rows, column, y, matrix)));
        calls.Add(("where", () => cpu.Where(column, rows, transposed, y, matrix)));
        calls.Add(("strided copy", () => cpu.Copy(transposed, dense)));
        calls.Add(("row reduction", () => cpu.Reduce(ReduceKind.Sum, x, 256, 256, 1, y)));
        calls.Add(("column reduction", () => cpu.Reduce(ReduceKind.Max, x, 16, 64, 64, y)));
        calls.Add(("softmax", () => cpu.Softmax(x, y, 256, 256, log: true)));
        calls.Add(("softmax backward", () => cpu.SoftmaxBackward(y, dy, dx, 256, 256, log: false)));
        var labels = Zeros(256);
        var loss = Zeros(256);
        calls.Add(("softmax cross-entropy", () => cpu.SoftmaxCrossEntropy(x, labels, 256, 10, 0.1f, loss, y)));
        calls.Add(("softmax cross-entropy backward", () => cpu.SoftmaxCrossEntropyBackward(y, labels, loss, 256, 10, 0.1f, dx)));
        var bias = Random(256, 5);
        var biasGrad = Zeros(256);
        calls.Add(("bias + ReLU over rows", () => cpu.BiasActivation(default(ReluOp), x, bias, 256, 256, 1, y)));
        calls.Add(("bias + ReLU backward over planes", () => cpu.BiasActivationBackward(default(ReluOp), x, bias, y, dy, 4, 64, 256, dx, biasGrad)));
        calls.Add(("bias + tanh backward over rows", () => cpu.BiasActivationBackward(default(TanhOp), x, bias, y, dy, 256, 256, 1, dx, biasGrad)));
        var m = Zeros(n);
        var v = Zeros(n);
        calls.Add(("Adam update", () => cpu.OptimizerStep(new OptimizerUpdate(OptimizerRule.Adam, 1e-3f), y, dy, m, v, n)));
        var index = Zeros(n);
        calls.Add(("gather", () => cpu.Gather(x, 64, 16, 64, index, 16, y, true)));
        calls.Add(("index add", () => cpu.IndexAdd(x, 64, 16, 64, index, 16, y, true)));
        calls.Add(("batch-norm statistics", () => cpu.BatchNormStatistics(x, 16, 16, 256, m, v)));

        // Recurrent cells over 64 rows of 128 units at step 1 of 3 (with a mask), forward and backward.
        var gates = Random(3 * 64 * 512, 21);
        var states = Random(4 * 64 * 128, 22);
        var cells = Random(4 * 64 * 128, 23);
        var stepMask = Zeros(3 * 64);
        cpu.Fill(stepMask, 0, 100, 1f);
        var stepGrad = Random(3 * 64 * 128, 24);
        var gatesGrad = Zeros(3 * 64 * 512);
        var hhGrad = Zeros(3 * 64 * 512);
        calls.Add(("LSTM cell", () => cpu.LstmCellForward(gates, states, cells, stepMask, 3, 64, 128, 1, false)));
        calls.Add(("LSTM cell backward", () => cpu.LstmCellBackward(gates, cells, stepMask, stepGrad, x, y, gatesGrad, 3, 64, 128, 1, false)));
        calls.Add(("GRU cell", () => cpu.GruCellForward(gates, gatesGrad, states, null, 3, 64, 128, 1, true)));
        calls.Add(("GRU cell backward", () => cpu.GruCellBackward(gates, gatesGrad, states, stepMask, stepGrad, x, hhGrad, dx, 3, 64, 128, 1, true)));

        // Convolutions: the direct first layer (plain and pooled, and its filter gradient), a batch of late layers in
        // chunks of images (plain and pooled, both gradients), one padded layer per image, and batch-1 transposed products.
        AddConvolution(calls, cpu, "direct", new Conv2dGeometry(4, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), Random, Zeros);
        AddConvolution(calls, cpu, "chunked", new Conv2dGeometry(4, 8, 15, 15, 16, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), Random, Zeros);
        AddConvolution(calls, cpu, "per-image", new Conv2dGeometry(2, 4, 20, 20, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), Random, Zeros);
        AddConvolution(calls, cpu, "batch-1 transposed", new Conv2dGeometry(1, 32, 15, 15, 64, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1), Random, Zeros);
        return calls;
    }

    private static void AddConvolution(
        List<(string, Action)> calls, CpuBackend cpu, string name, Conv2dGeometry g, Func<int, ulong, DeviceBuffer> random, Func<int, DeviceBuffer> zeros)
    {
        var pool = new Pool2dGeometry(g.N, g.K, g.P, g.Q, 2, 2, 2, 2, 0, 0, 0, 0);
        var x = random(g.N * g.C * g.H * g.W, 11);
        var w = random(g.K * g.C * g.R * g.S, 12);
        var bias = random(g.K, 13);
        var y = zeros(g.N * g.K * g.P * g.Q);
        var dy = random(g.N * g.K * g.P * g.Q, 14);
        var dx = zeros(g.N * g.C * g.H * g.W);
        var dw = zeros(g.K * g.C * g.R * g.S);
        var pooled = zeros(g.N * g.K * pool.P * pool.Q);
        var indices = zeros(g.N * g.K * pool.P * pool.Q);
        var pooledGrad = random(g.N * g.K * pool.P * pool.Q, 15);
        var average = pool with { KernelH = 3, KernelW = 3, PadTop = 1, PadBottom = 1, PadLeft = 1, PadRight = 1 };
        var averaged = zeros(g.N * g.K * average.P * average.Q);
        calls.Add(($"{name} convolution", () => cpu.Conv2dForward(g, x, w, y)));
        calls.Add(($"{name} convolution + bias + ReLU", () => cpu.Conv2dBiasReluForward(g, x, w, bias, y)));
        calls.Add(($"{name} convolution data gradient", () => cpu.Conv2dBackwardData(g, dy, w, dx)));
        calls.Add(($"{name} convolution filter gradient", () => cpu.Conv2dBackwardFilter(g, x, dy, dw)));
        calls.Add(($"{name} max pooling", () => cpu.MaxPool2dForward(pool, y, pooled, indices)));
        calls.Add(($"{name} max pooling backward", () => cpu.MaxPool2dBackward(pool, pooledGrad, indices, y)));
        calls.Add(($"{name} average pooling", () => cpu.AvgPool2dForward(average, false, y, averaged)));
        if (cpu.SupportsConv2dBiasReluMaxPool(g, pool))
        {
            calls.Add(($"{name} convolution + max pooling", () => cpu.Conv2dBiasReluMaxPoolForward(g, pool, x, w, bias, pooled, indices)));
        }

        var pooledDx = g.C == 1 ? null : dx;
        if (cpu.SupportsConv2dPooledBackward(g, pool, pooledDx is not null, dw: true))
        {
            calls.Add(($"{name} pooled convolution gradients", () => cpu.Conv2dPooledBackward(g, pool, x, w, pooledGrad, indices, pooledDx, dw)));
        }
    }
}
