// The device API: naming, LEPTON_DEVICE, moving tensors and models, and errors for absent devices and
// exhausted memory.
using Lepton.Backends.Ilgpu;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;

namespace Lepton.Tests;

[Collection(IlgpuCpuCollection.Name)]
public sealed class DeviceTests
{
    [Fact]
    public void NamesParseToDevices()
    {
        Assert.Same(Device.Cpu, Device.Parse("cpu"));
        Assert.Same(Device.IlgpuCpu, Device.Parse(" ILGPU-CPU "));
        Assert.Equal("ilgpu-cpu", Device.IlgpuCpu.Name);
        var e = Assert.Throws<ArgumentException>(() => Device.Parse("tpu:0"));
        Assert.Contains("tpu:0", e.Message);
        Assert.Contains("cuda:N", e.Message);
    }

    [Fact]
    public void EnvironmentVariableChoosesTheDefault()
    {
        Assert.Same(Device.Cpu, Device.Choose("cpu"));
        Assert.Same(Device.IlgpuCpu, Device.Choose("ilgpu-cpu"));
        Assert.Same(Device.CudaDeviceCount > 0 ? Device.Cuda(0) : Device.Cpu, Device.Choose(null));
        var e = Assert.Throws<InvalidOperationException>(() => Device.Choose("vulkan"));
        Assert.Contains("LEPTON_DEVICE=vulkan", e.Message);
    }

    [Fact]
    public void AnAbsentCudaDeviceSaysWhatThereIs()
    {
        int count = Device.CudaDeviceCount;
        var e = Assert.Throws<InvalidOperationException>(() => Device.Cuda(count + 3));
        Assert.Contains($"cuda:{count + 3}", e.Message);
        Assert.Contains(count == 0 ? "no CUDA device is available" : $"this machine has {count}", e.Message);

        // The library stays usable afterwards.
        Assert.Equal(6f, Tensor.FromArray([1f, 2f, 3f], [3], device: Device.Default).Sum().Item());
    }

    [Fact]
    public void MixingDevicesInOneOpNamesBoth()
    {
        using var a = Tensor.Ones([2, 2], device: Device.Cpu);
        using var b = Tensor.Ones([2, 2], device: Device.IlgpuCpu);
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("cpu", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
        e = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Contains("MatMul", e.Message);
    }

    [Fact]
    public void ToMovesValuesAndGradientsBetweenDevices()
    {
        var x = Tensor.FromArray([1f, -2f, 3f, 4f], [2, 2], device: Device.Cpu).RequiresGrad_();
        var onGpu = x.To(Device.IlgpuCpu);
        Assert.Equal(Device.IlgpuCpu, onGpu.Device);
        var loss = (onGpu * onGpu).Sum();
        loss.Backward();
        Assert.Equal(Device.Cpu, x.Grad!.Device);
        Assert.Equal(new[] { 2f, -4f, 6f, 8f }, x.Grad.ToArray());
        Assert.Equal(x.ToArray(), onGpu.To(Device.Cpu).ToArray());
    }

    [Fact]
    public void ExhaustedDeviceMemoryIsReportedAndRecoverable()
    {
        using var backend = IlgpuDevices.CreateCpu("ilgpu-cpu-limited");
        var device = new Device("ilgpu-cpu-limited", backend);
        backend.MemoryLimit = 1 << 20;
        using var small = Tensor.Ones([1000], device: device);
        var e = Assert.Throws<OutOfMemoryException>(() => Tensor.Ones([1 << 20], device: device));
        Assert.Contains("ilgpu-cpu-limited", e.Message);
        Assert.Contains("4.0 MiB (4194304 bytes)", e.Message);
        Assert.Contains("limit 1.0 MiB", e.Message);

        // Still usable: existing tensors keep their values, and a raised limit lets the allocation through.
        Assert.Equal(1000f, small.Sum().Item());
        backend.MemoryLimit = 8 << 20;
        using var big = Tensor.Ones([1 << 20], device: device);
        Assert.Equal(1 << 20, big.Sum().Item());
    }

    [Fact]
    public void AModelMovesToADeviceWithItsWeightsAndOptimizerState()
    {
        var (x, y) = (Tensor.RandN([8, 3], new Generator(1)), Tensor.FromArray([0, 1, 0, 1, 1, 0, 1, 0], [8]));
        var model = new Sequential([new InputLayer([3]), new Dense(2, seed: 1)]) { Output = TextWriter.Null };
        model.Compile(new Adam(0.1f), "sparse_categorical_crossentropy");
        model.TrainOnBatch(x, y);
        float[] before = model.Weights[0].Value.ToArray();

        model.Device = Device.IlgpuCpu;
        Assert.All(model.Layers, l => Assert.Equal(Device.IlgpuCpu, l.Device));
        Assert.All(model.Weights, w => Assert.Equal(Device.IlgpuCpu, w.Value.Device));
        Assert.Equal(before, model.Weights[0].Value.ToArray());
        Assert.All(model.Optimizer!.StateTensors(), s => Assert.Equal(Device.IlgpuCpu, s.Value.Device));

        // Training goes on there (the data loader follows the model's device).
        model.Fit(x, y, epochs: 2, batchSize: 4, verbose: 0);
        Assert.NotEqual(before, model.Weights[0].Value.ToArray());
        using var p = model.Predict(x);
        Assert.Equal(Device.IlgpuCpu, p.Device);
    }

    [Fact]
    public void TrainingStepsDoNotWaitForTheDevice()
    {
        // Reads back per epoch (history, progress) are fine; per step there must be none, gradient clipping
        // included, so an epoch of 12 batches reads back exactly as often as one of 3, whose last steps
        // replay a captured step.
        long ReadBacksFor(int samples)
        {
            using var backend = IlgpuDevices.CreateCpu("ilgpu-cpu-counted");
            var device = new Device("ilgpu-cpu-counted", backend);
            var x = Tensor.RandN([samples, 6], new Generator(1));
            var y = Tensor.FromArray([.. Enumerable.Range(0, samples).Select(i => i % 3)], [samples]);
            using var model = new Sequential(
            [
                new InputLayer([6]), new Dense(8, activation: "relu", seed: 1), new BatchNormalization(), new Dropout(0.2f, seed: 2), new Dense(3, seed: 3),
            ]) { Device = device, Output = TextWriter.Null };
            model.Compile(new Adam(0.01f) { ClipNorm = 1f, GlobalClipNorm = 2f }, "sparse_categorical_crossentropy", "accuracy");
            model.Fit(x, y, epochs: 1, batchSize: 4, verbose: 0);
            Assert.True(model.LastStepReplayed);
            return backend.ReadBacks;
        }

        Assert.Equal(ReadBacksFor(12), ReadBacksFor(48));
    }

    [Fact]
    public void SeveralThreadsCanUseOneDevice()
    {
        // Kernels compile once under a lock, buffers come from one pool, and every call binds the
        // accelerator to its thread (CUDA contexts are per thread): results must not depend on the thread.
        var sums = new float[8];
        Parallel.For(0, sums.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var scope = Tensor.NewScope();
            var x = Tensor.Arange(0, 100 + i, device: Device.IlgpuCpu);
            sums[i] = ((x * 2f) + 1f).Sum().Item();
        });

        Assert.Equal(Enumerable.Range(0, sums.Length).Select(i => (float)((100 + i) * (100 + i))), sums);
    }
}
