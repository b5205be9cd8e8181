// Real element types through the public API on every backend: exact round trips of every type, wrapping integer
// arithmetic, truncating integer division, the promotion table, casts (saturating from floating to integer,
// nearest-even to 16-bit floats), bool comparisons and masks, int64 arg-extremes, and files keeping each type.
using FsCheck;
using FsCheck.Fluent;
using Lepton.IO;
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Tests.Support;

namespace Lepton.Tests;

public abstract class ElementTypeTests : BackendTests
{
    [Fact]
    public void EveryTypeRoundTripsExactly()
    {
        Assert.Equal(new[] { 0.1f, -3e38f, float.NaN, float.Epsilon }, Tensor.FromArray(new[] { 0.1f, -3e38f, float.NaN, float.Epsilon }, [4], device: Device).ToArray<float>());
        Assert.Equal(new[] { 0.1, double.MaxValue, -double.Epsilon }, Tensor.FromArray(new[] { 0.1, double.MaxValue, -double.Epsilon }, [3], Device).ToArray<double>());
        Assert.Equal(new[] { (Half)0.1, Half.MaxValue, Half.Epsilon }, Tensor.FromArray(new[] { (Half)0.1, Half.MaxValue, Half.Epsilon }, [3], Device).ToArray<Half>());
        Assert.Equal(new[] { long.MinValue, (1L << 53) + 1, long.MaxValue }, Tensor.FromArray(new[] { long.MinValue, (1L << 53) + 1, long.MaxValue }, [3], Device).ToArray<long>());
        Assert.Equal(new[] { 16777217, 123456789, int.MinValue }, Tensor.FromArray(new[] { 16777217, 123456789, int.MinValue }, [3], Device).ToArray<int>());
        Assert.Equal(new short[] { short.MinValue, -1, short.MaxValue }, Tensor.FromArray(new short[] { short.MinValue, -1, short.MaxValue }, [3], Device).ToArray<short>());
        Assert.Equal(new sbyte[] { -128, 0, 127 }, Tensor.FromArray(new sbyte[] { -128, 0, 127 }, [3], Device).ToArray<sbyte>());
        Assert.Equal(new byte[] { 0, 200, 255 }, Tensor.FromArray(new byte[] { 0, 200, 255 }, [3], Device).ToArray<byte>());
        Assert.Equal(new[] { true, false, true }, Tensor.FromArray(new[] { true, false, true }, [3], Device).ToArray<bool>());

        var bf16 = Tensor.FromArray(new[] { 1f, 1.00390625f, 3.0e38f }, [3], DType.BFloat16, Device);
        Assert.Equal(DType.BFloat16, bf16.DType);
        Assert.Equal(new[] { 1f, 1f, BitConverter.UInt32BitsToSingle(0x7F620000) }, bf16.ToArray());

        var grid = Tensor.FromArray(new long[,] { { 1, 2 }, { 3, 1L << 40 } }, Device);
        Assert.Equal(DType.Int64, grid.DType);
        Assert.Equal(new[] { 2, 2 }, grid.Shape);
        Assert.Equal(1L << 40, grid.ToArray<long>()[3]);
        Assert.Equal(DType.Bool, Tensor.FromArray(new bool[,] { { true }, { false } }, Device).DType);
        Assert.Equal(DType.Float64, Tensor.FromArray(new double[,,] { { { 1 } } }, Device).DType);
    }

    [Fact]
    public void IntegersAbove2To24StayExactThroughArithmetic()
    {
        var big = Tensor.FromArray(new[] { 16777217, 123456789 }, [2], Device);
        Assert.Equal(new[] { 16777218, 123456790 }, (big + 1).ToArray<int>());
        Assert.Equal(new[] { 33554434, 246913578 }, (big * 2).ToArray<int>());
        Assert.Equal(123456789, big.Max().Item<int>());
        Assert.Equal(16777217L + 123456789L, big.Sum().Item<long>());
        Assert.Equal(DType.Int64, big.Sum().DType);
        var huge = Tensor.FromArray(new[] { (1L << 62) + 3 }, [1], Device);
        Assert.Equal((1L << 62) + 4, (huge + 1).Item<long>());
    }

    [Fact]
    public void IntegerArithmeticWrapsAndDivisionTruncatesTowardZero()
    {
        var a = Tensor.FromArray(new sbyte[] { 100, -100, 127, -128 }, [4], Device);
        var b = Tensor.FromArray(new sbyte[] { 100, -100, 1, -1 }, [4], Device);
        Assert.Equal(new sbyte[] { -56, 56, -128, 127 }, (a + b).ToArray<sbyte>());
        Assert.Equal(new sbyte[] { 16, 16, 127, -128 }, (a * b).ToArray<sbyte>());
        Assert.Equal(DType.Int8, (a + b).DType);

        var max = Tensor.FromArray(new[] { int.MaxValue, int.MinValue }, [2], Device);
        Assert.Equal(new[] { int.MinValue, int.MaxValue }, (max + Tensor.FromArray(new[] { 1, -1 }, [2], Device)).ToArray<int>());

        var n = Tensor.FromArray(new[] { 7, -7, 7, -7, int.MinValue }, [5], Device);
        var d = Tensor.FromArray(new[] { 2, 2, -2, -2, -1 }, [5], Device);
        Assert.Equal(new[] { 3, -3, -3, 3, int.MinValue }, (n / d).ToArray<int>());
        Assert.Equal(new[] { 1, -1, 1, -1, 0 }, (n % d).ToArray<int>());
        Assert.Equal(DType.Int32, (n / d).DType);

        var zero = Assert.Throws<DivideByZeroException>(() => n / Tensor.FromArray(new[] { 1, 0, 1, 1, 1 }, [5], Device));
        Assert.StartsWith("Div: integer division by zero (int32 divisor [5])", zero.Message);
    }

    [Fact]
    public void PromotionFollowsPyTorchsTable()
    {
        Assert.Equal(DType.Float32, DType.Int8.Promote(DType.Float32));
        Assert.Equal(DType.Int64, DType.Int32.Promote(DType.Int64));
        Assert.Equal(DType.Int32, DType.Bool.Promote(DType.Int32));
        Assert.Equal(DType.Int16, DType.UInt8.Promote(DType.Int8));
        Assert.Equal(DType.Float32, DType.Float16.Promote(DType.BFloat16));
        Assert.Equal(DType.Float64, DType.Float64.Promote(DType.Float16));
        Assert.Equal(DType.Float16, DType.Float16.Promote(DType.Int64));

        var i8 = Tensor.FromArray(new sbyte[] { 1, 2 }, [2], Device);
        var f32 = Tensor.FromArray([0.5f, 0.25f], [2], device: Device);
        Assert.Equal(DType.Float32, (i8 + f32).DType);
        Assert.Equal(new[] { 1.5f, 2.25f }, (i8 + f32).ToArray());
        Assert.Equal(DType.Int64, (Tensor.FromArray(new[] { 1, 2 }, [2], Device) + Tensor.FromArray(new[] { 1L, 2L }, [2], Device)).DType);
        Assert.Equal(DType.Int32, (Tensor.FromArray(new[] { true, false }, [2], Device) + Tensor.FromArray(new[] { 3, 4 }, [2], Device)).DType);

        // A scalar does not widen a tensor of its kind; a floating scalar makes an integer tensor float32.
        Assert.Equal(DType.Int8, (i8 + 3).DType);
        Assert.Equal(DType.Float32, (i8 * 0.5f).DType);
        var half = Tensor.FromArray(new[] { (Half)1, (Half)3 }, [2], Device);
        Assert.Equal(DType.Float16, (half * 0.5f).DType);
        Assert.Equal(new[] { (Half)0.5, (Half)1.5 }, (half * 0.5f).ToArray<Half>());
        Assert.Equal(DType.Int64, (Tensor.FromArray(new[] { true }, [1], Device) + 1).DType);
    }

    [Fact]
    public void MixingTypesWithoutAMeaningFailsNamingTheOpAndBothTypes()
    {
        var flags = Tensor.FromArray(new[] { true, false }, [2], Device);
        var e = Assert.Throws<ArgumentException>(() => flags - flags);
        Assert.StartsWith("Sub: not defined for bool (operands bool [2] and bool [2])", e.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f], [1], device: Device) & Tensor.FromArray(new[] { 1 }, [1], Device));
        Assert.StartsWith("And: needs bool or integer tensors, got float32 [1] and int32 [1]", e.Message);
        var grad = Assert.Throws<InvalidOperationException>(() => Tensor.FromArray(new[] { 1, 2 }, [2], Device).RequiresGrad_());
        Assert.Contains("int32 [2]", grad.Message);
        e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new[] { 1L }, [1], Device).Exp());
        Assert.StartsWith("Exp expects a float32 tensor, got int64 with shape [1]", e.Message);
    }

    [Fact]
    public void CastsSaturateFromFloatsWrapBetweenIntegersAndRoundHalvesToNearestEven()
    {
        var f = Tensor.FromArray([1e10f, -1e10f, float.NaN, 2.9f, -2.9f, 127.5f], [6], device: Device);
        Assert.Equal(new sbyte[] { 127, -128, 0, 2, -2, 127 }, f.To(DType.Int8).ToArray<sbyte>());
        Assert.Equal(new byte[] { 255, 0, 0, 2, 0, 127 }, f.To(DType.UInt8).ToArray<byte>());
        Assert.Equal(new[] { int.MaxValue, int.MinValue, 0, 2, -2, 127 }, f.Cast(DType.Int32).ToArray<int>());
        Assert.Equal(new[] { long.MaxValue, long.MinValue }, Tensor.FromArray(new[] { 1e30, -1e30 }, [2], Device).To(DType.Int64).ToArray<long>());

        var wide = Tensor.FromArray(new[] { 300L, -129L, (1L << 32) + 5 }, [3], Device);
        Assert.Equal(new sbyte[] { 44, 127, 5 }, wide.To(DType.Int8).ToArray<sbyte>());
        Assert.Equal(new[] { 300, -129, 5 }, wide.To(DType.Int32).ToArray<int>());
        Assert.Equal(new[] { true, true, true }, wide.To(DType.Bool).ToArray<bool>());
        Assert.Equal(new[] { true, false, true }, Tensor.FromArray([float.NaN, 0f, -0.1f], [3], device: Device).To(DType.Bool).ToArray<bool>());

        // Ties round to even: 1 + 2^-11 is halfway between two halves, 1 + 3 * 2^-11 rounds up.
        var ties = Tensor.FromArray([1f + MathF.Pow(2, -11), 1f + (3 * MathF.Pow(2, -11)), 65520f, 1e-8f], [4], device: Device);
        Assert.Equal(new[] { (Half)1, (Half)(1 + (4 * MathF.Pow(2, -11))), Half.PositiveInfinity, (Half)0 }, ties.To(DType.Float16).ToArray<Half>());
        var bf = Tensor.FromArray([1f + MathF.Pow(2, -8), 1f + (3 * MathF.Pow(2, -8))], [2], device: Device).To(DType.BFloat16);
        Assert.Equal(new[] { 1f, 1f + MathF.Pow(2, -6) }, bf.ToArray());
    }

    [Fact]
    public void CastsMatchAFloat64ReferenceOnRandomValues()
    {
        var gen = Gen.Choose(-1_000_000, 1_000_000).Select(v => v / 37.0).ArrayOf().Where(a => a.Length > 0);
        Prop.ForAll(gen.ToArbitrary(), values =>
        {
            var x = Tensor.FromArray(values, [values.Length], Device);
            Assert.Equal(values.Select(v => (float)v).ToArray(), x.To(DType.Float32).ToArray());
            Assert.Equal(values.Select(v => (Half)v).ToArray(), x.To(DType.Float16).ToArray<Half>());
            Assert.Equal(values.Select(v => (int)Math.Truncate(v)).ToArray(), x.To(DType.Int32).ToArray<int>());
            Assert.Equal(values.Select(v => unchecked((short)(int)Math.Truncate(v))).ToArray(), x.To(DType.Int32).To(DType.Int16).ToArray<short>());
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ComparisonsReturnBoolAndMasksSelect()
    {
        var x = Tensor.FromArray([-1f, 0f, 2f, float.NaN], [4], device: Device);
        var positive = x > 0f;
        Assert.Equal(DType.Bool, positive.DType);
        Assert.Equal(new[] { false, false, true, false }, positive.ToArray<bool>());
        Assert.Equal(new[] { true, true, true, false }, x.Eq(x).ToArray<bool>());
        Assert.Equal(new[] { 0f, 0f, 2f, 0f }, Tensor.Where(positive, x, Tensor.Zeros([], device: Device)).ToArray());
        Assert.Equal(1L, positive.Sum().Item<long>());
        Assert.Equal(new[] { 0f, 0f, 1f, 0f }, (positive * 1f).ToArray());
        Assert.Equal(new[] { true, false, true, false }, (positive | (x < 0f)).ToArray<bool>());

        var big = Tensor.FromArray(new[] { 16777217, 16777216 }, [2], Device);
        Assert.Equal(new[] { true, false }, (big > 16777216).ToArray<bool>());
        var where = Tensor.Where(big > 16777216, big, Tensor.FromArray(new[] { 1L << 40 }, [1], Device));
        Assert.Equal(DType.Int64, where.DType);
        Assert.Equal(new[] { 16777217L, 1L << 40 }, where.ToArray<long>());
    }

    [Fact]
    public void ArgExtremesAreInt64AndReductionsKeepTypes()
    {
        var x = Tensor.FromArray(new long[] { 5, 1L << 40, -3, 1L << 40 }, [2, 2], Device);
        Assert.Equal(DType.Int64, x.ArgMax(1).DType);
        Assert.Equal(new[] { 1L, 1L }, x.ArgMax(1).ToArray<long>());
        Assert.Equal(new[] { 0L, 0L }, x.ArgMin(1).ToArray<long>());
        Assert.Equal((1L << 40) * 2 + 2, x.Sum().Item<long>());
        Assert.Equal(new[] { 1L << 40, 1L << 40 }, x.Max(1).ToArray<long>());
        Assert.Equal(DType.Int64, x.Max(1).DType);

        var h = Tensor.FromArray(new[] { (Half)1, (Half)(-2), (Half)3 }, [3], Device);
        Assert.Equal(DType.Float16, h.Sum().DType);
        Assert.Equal((Half)2, h.Sum().Item<Half>());
        Assert.Equal(2L, h.ArgMax().Item<long>());
        Assert.Equal(new[] { (Half)(2.0 / 3) }, new[] { h.Mean().Item<Half>() });
        Assert.Equal(0.3, Tensor.FromArray(new[] { 0.1, 0.2, 0.6 }, [3], Device).Mean().Item<double>(), 15);
        var mean = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new[] { 1, 2 }, [2], Device).Mean());
        Assert.StartsWith("Mean: needs a floating tensor, got int32 [2]", mean.Message);
    }

    [Fact]
    public void SixteenBitFloatsComputeInFloat32AndGradientsFlow()
    {
        var w = Tensor.FromArray([0.5f, -1.25f, 2f, 0.75f], [2, 2], DType.BFloat16, Device).RequiresGrad_();
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], [2, 2], device: Device);
        var y = x.MatMul(w);
        Assert.Equal(DType.Float32, y.DType);
        Assert.Equal(new[] { 4.5f, 0.25f, 9.5f, -0.75f }, y.ToArray());
        y.Sum().Backward();
        Assert.Equal(DType.BFloat16, w.Grad!.DType);
        Assert.Equal(new[] { 4f, 4f, 6f, 6f }, w.Grad.ToArray());

        var h = Tensor.FromArray(new[] { (Half)0.5, (Half)(-1) }, [2], Device).RequiresGrad_();
        var s = (h * h).Relu().Sum();
        Assert.Equal(DType.Float16, s.DType);
        s.Backward();
        Assert.Equal(new[] { (Half)1, (Half)(-2) }, h.Grad!.ToArray<Half>());
    }

    [Fact]
    public void ConcatAndIndexingKeepTypes()
    {
        var a = Tensor.FromArray(new[] { 1L << 40 }, [1], Device);
        var b = Tensor.FromArray(new[] { 7 }, [1], Device);
        var joined = Tensor.Concat([a, b]);
        Assert.Equal(DType.Int64, joined.DType);
        Assert.Equal(new[] { 1L << 40, 7L }, joined.ToArray<long>());
        var flags = Tensor.FromArray(new[] { true, false, true, true }, [2, 2], Device);
        Assert.Equal(new[] { true, true, false, true }, flags.T.Contiguous().ToArray<bool>());
        Assert.Equal(new[] { false, true }, flags.IndexSelect(1, Tensor.FromArray(new[] { 1 }, [1], Device)).ToArray<bool>());
    }

    [Fact]
    public void SafeTensorsAndModelFilesKeepEveryType()
    {
        string dir = Directory.CreateTempSubdirectory("lepton-types").FullName;
        try
        {
            var tensors = new List<(string, Tensor)>
            {
                ("f64", Tensor.FromArray(new[] { 0.1, -2.5 }, [2], Device)),
                ("f32", Tensor.FromArray([0.1f, 3f], [1, 2], device: Device)),
                ("f16", Tensor.FromArray(new[] { (Half)0.1 }, [1], Device)),
                ("bf16", Tensor.FromArray([0.1f, 1e30f], [2], DType.BFloat16, Device)),
                ("i64", Tensor.FromArray(new[] { long.MinValue, 1L << 40 }, [2], Device)),
                ("i32", Tensor.FromArray(new[] { 16777217 }, [1], Device)),
                ("i16", Tensor.FromArray(new short[] { -300 }, [1], Device)),
                ("i8", Tensor.FromArray(new sbyte[] { -7, 9, 100 }, [3], Device)),
                ("u8", Tensor.FromArray(new byte[] { 255 }, [1], Device)),
                ("bool", Tensor.FromArray(new[] { true, false, true }, [3], Device)),
            };
            string path = Path.Combine(dir, "all.safetensors");
            SafeTensors.Save(path, tensors);
            var loaded = SafeTensors.Load(path, Device);
            foreach (var (name, t) in tensors)
            {
                Assert.Equal(t.DType, loaded[name].DType);
                Assert.Equal(t.Shape, loaded[name].Shape);
                Assert.Equal(t.DenseBytes(), loaded[name].DenseBytes());
            }

            var model = new Sequential([new InputLayer([3]), new Dense(4, activation: "relu", seed: 1), new Dense(2, seed: 2)]);
            var x = Tensor.FromArray([0.5f, -1f, 2f, 1f, 0f, -0.5f], [2, 3], device: Device);
            model.Device = Device;
            var before = model.Predict(x).ToArray();
            long bytes32 = model.Weights.Sum(w => (long)w.Value.Numel * w.Value.DType.Size());
            model.CastWeights(DType.BFloat16);
            Assert.All(model.Weights, w => Assert.Equal(DType.BFloat16, w.Value.DType));
            Assert.Equal(bytes32 / 2, model.Weights.Sum(w => (long)w.Value.Numel * w.Value.DType.Size()));
            var bf16 = model.Predict(x);
            Assert.Equal(DType.Float32, bf16.DType);
            Support.Check.Close(Array.ConvertAll(before, v => (double)v), bf16.ToArray(), 0.05, 0.05, "bfloat16 weights");
            string file = Path.Combine(dir, "model.lepton");
            model.Save(file);
            var back = Model.Load(file, Device);
            Assert.All(back.Weights, w => Assert.Equal(DType.BFloat16, w.Value.DType));
            Assert.Equal(bf16.ToArray(), back.Predict(x).ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Int64LabelsTrainAndScoreLikeInt32Ones()
    {
        var (x, y) = Nn.ModelTests.Blobs(48, 3);
        x = x.To(Device);
        Dictionary<string, double> Run(Tensor labels)
        {
            var model = new Sequential([new InputLayer([4]), new Dense(8, activation: "relu", seed: 1), new Dense(3, seed: 2)]) { Device = Device };
            model.Compile(new Lepton.Nn.Optimizers.Adam(0.05f), new SparseCategoricalCrossentropy(fromLogits: true), new Accuracy());
            model.Fit(x, labels, batchSize: 16, epochs: 3, shuffle: false, verbose: 0);
            return model.Evaluate(x, labels);
        }

        var int32 = Run(y.To(Device));
        var int64 = Run(y.To(DType.Int64).To(Device));
        Assert.Equal(int32["loss"], int64["loss"], 5);
        Assert.Equal(int32["accuracy"], int64["accuracy"]);
        Assert.True(int64["accuracy"] > 0.5, $"accuracy {int64["accuracy"]}");
        Assert.Equal(new[] { 0L, 1L, 2L }, Tensor.Arange(3, DType.Int64, Device).ToArray<long>());
    }

    [Fact]
    public void GradientsTakeTheirInputsTypeWhateverTheOpMixed()
    {
        var x = Tensor.FromArray([-1f, 2f], [2], device: Device).RequiresGrad_();
        (x.Relu() + Tensor.FromArray(new[] { 0.0, 0.0 }, [2], Device)).Sum().Backward();
        Assert.Equal(DType.Float32, x.Grad!.DType);
        Assert.Equal(new[] { 0f, 1f }, x.Grad.ToArray());

        var w = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], [3, 2], DType.BFloat16, Device).RequiresGrad_();
        w[1].Sum().Backward();
        Assert.Equal(DType.BFloat16, w.Grad!.DType);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f, 0f, 0f }, w.Grad.ToArray());
    }

    [Fact]
    public void ScalarsKeepTheirValueAndMustFitIntegerResults()
    {
        var half = Tensor.FromArray(new[] { (Half)60000 }, [1], Device);
        Assert.Equal((Half)0.6, (half / 100000f).Item<Half>());
        Assert.Equal(DType.Float16, (half / 100000f).DType);
        Assert.True((Tensor.FromArray(new byte[] { 200 }, [1], Device) < 256L).Item<bool>());
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray(new sbyte[] { 1 }, [1], Device) + 300L);
        Assert.StartsWith("Add: the scalar 300 does not fit int8", e.Message);
        Assert.Equal(0.5f, (Tensor.FromArray([2.5f], [1], device: Device) % Tensor.FromArray([-1f], [1], device: Device)).Item());
        Assert.Equal(new[] { 0.5, -0.5 }, (Tensor.FromArray(new[] { 2.5, -2.5 }, [2], Device) % Tensor.FromArray(new[] { -1.0, 1.0 }, [2], Device)).ToArray<double>());
    }

    [Fact]
    public void BatchNormalizationPredictsWithSixteenBitStatistics()
    {
        var model = new Sequential([new InputLayer([3]), new Dense(4, seed: 1), new BatchNormalization(), new Dense(2, seed: 2)]) { Device = Device };
        model.Compile(new Lepton.Nn.Optimizers.Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
        var x = Tensor.FromArray([0.5f, -1f, 2f, 1f, 0f, -0.5f, 3f, 1f, 1f], [3, 3], device: Device);
        model.TrainOnBatch(x, Tensor.FromArray(new[] { 1, 0, 1 }, [3], Device));
        var expected = model.Predict(x).ToArray();
        model.CastWeights(DType.BFloat16);
        Assert.All(model.Weights, w => Assert.Equal(DType.BFloat16, w.Value.DType));
        Support.Check.Close(Array.ConvertAll(expected, v => (double)v), model.Predict(x).ToArray(), 0.05, 0.05, "bfloat16 batch norm");
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros([3, 4], device: Device).BatchNorm(model.Weights[4].Value, model.Weights[5].Value, training: true));
        Assert.StartsWith("BatchNorm: training updates float32 running statistics", e.Message);
    }

    [Fact]
    public void SixteenBitWeightsPredictButDoNotTrain()
    {
        var model = new Sequential([new InputLayer([3]), new Dense(4, activation: "relu", seed: 1), new Dense(2, seed: 2)]) { Device = Device };
        model.Compile(new Lepton.Nn.Optimizers.Adam(0.01f), new SparseCategoricalCrossentropy(fromLogits: true));
        model.CastWeights(DType.Float16);
        var x = Tensor.FromArray([0.5f, -1f, 2f], [1, 3], device: Device);
        Assert.Equal(DType.Float32, model.Predict(x).DType);
        var e = Assert.Throws<InvalidOperationException>(() => model.TrainOnBatch(x, Tensor.FromArray(new[] { 1 }, [1], Device)));
        Assert.Contains("is float16; training updates float32 weights", e.Message);
        model.CastWeights(DType.Float32);
        model.TrainOnBatch(x, Tensor.FromArray(new[] { 1 }, [1], Device));
        Assert.Throws<ArgumentException>(() => model.CastWeights(DType.Float64));
    }

    [Fact]
    public void TextShowsValuesInTheirType()
    {
        Assert.Equal("tensor([16777217,       -5], dtype=int32)", Tensor.FromArray(new[] { 16777217, -5 }, [2], Device).ToString());
        Assert.Equal("tensor([ True, False], dtype=bool)", Tensor.FromArray(new[] { true, false }, [2], Device).ToString());
        Assert.Equal("tensor([9223372036854775807], dtype=int64)", Tensor.FromArray(new[] { long.MaxValue }, [1], Device).ToString());
        Assert.Equal("tensor([0.5000, 1.2500], dtype=float16)", Tensor.FromArray(new[] { (Half)0.5, (Half)1.25 }, [2], Device).ToString());
    }
}

public sealed class ElementTypeTestsCpu : ElementTypeTests
{
    protected override Device Device => Device.Cpu;
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class ElementTypeTestsIlgpuCpu : ElementTypeTests
{
    protected override Device Device => Device.IlgpuCpu;
}
