// Knowledge distillation: one step's loss against a float64 hand computation, a frozen teacher, alpha = 1
// being plain training, a student that learns a task from its teacher, and the errors users hit.
using Lepton.Nn;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;
using Lepton.Tests.Support;
using Sgd = Lepton.Nn.Optimizers.Sgd;

namespace Lepton.Tests.Nn;

public abstract class DistillerTests : BackendTests
{
    [Fact]
    public void OneStepLossIsTheWeightedSumOfStudentAndSoftenedTeacherLosses()
    {
        const float Alpha = 0.3f, Temperature = 2.5f;
        var (x, y) = ModelTests.Blobs(6, 11);
        var student = Logits(seed: 1);
        var teacher = Logits(seed: 2);
        var s = student.Predict(x).ToArray();
        var t = teacher.Predict(x).ToArray();
        var labels = y.ToArray<int>();

        double hard = 0, soft = 0;
        for (int i = 0; i < 6; i++)
        {
            var sRow = s.AsSpan(i * 3, 3);
            var tRow = t.AsSpan(i * 3, 3);
            hard -= LogSoftmax(sRow, 1)[labels[i]] / 6;
            var pt = LogSoftmax(tRow, Temperature);
            var ps = LogSoftmax(sRow, Temperature);
            for (int c = 0; c < 3; c++)
            {
                double target = Math.Clamp(Math.Exp(pt[c]), 1e-7, 1), prediction = Math.Clamp(Math.Exp(ps[c]), 1e-7, 1);
                soft += target * (Math.Log(target) - Math.Log(prediction)) / 6;
            }
        }

        double expected = (Alpha * hard) + ((1 - Alpha) * soft * Temperature * Temperature);
        var distiller = new Distiller(student, teacher, Alpha, Temperature);
        distiller.Compile(new Sgd(0.1f), new SparseCategoricalCrossentropy(fromLogits: true));
        Assert.Equal(expected, distiller.TrainOnBatch(x, y)["loss"], 5);
    }

    [Fact]
    public void FitTrainsTheStudentAndLeavesTheTeacherAsItWas()
    {
        var (x, y) = ModelTests.Blobs(48, 12);
        var student = Logits(seed: 3);
        var teacher = Logits(seed: 4);
        var teacherBefore = teacher.Weights.Select(w => w.Value.ToArray()).ToArray();
        var studentBefore = student.Weights.Select(w => w.Value.ToArray()).ToArray();
        var distiller = new Distiller(student, teacher) { Output = TextWriter.Null };
        Assert.Equal(student.Weights.Count, distiller.TrainableWeights.Count);
        Assert.DoesNotContain(distiller.Weights, w => teacher.Weights.Contains(w));

        distiller.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(fromLogits: true), null, new SparseCategoricalAccuracy());
        var history = distiller.Fit(x, y, epochs: 2, batchSize: 16, validationSplit: 0.25f, verbose: 0, seed: 5);
        Assert.Equal(2, history["val_sparse_categorical_accuracy"].Count);
        Assert.False(distiller.LastStepReplayed);
        for (int i = 0; i < teacherBefore.Length; i++)
        {
            Assert.Equal(teacherBefore[i], teacher.Weights[i].Value.ToArray());
        }

        Assert.Contains(Enumerable.Range(0, studentBefore.Length), i => !studentBefore[i].SequenceEqual(student.Weights[i].Value.ToArray()));
    }

    [Fact]
    public void WithAlphaOneDistillingIsTrainingTheStudentAlone()
    {
        var (x, y) = ModelTests.Blobs(40, 13);
        var alone = Logits(seed: 6);
        alone.RunEagerly = true;
        alone.Output = TextWriter.Null;
        alone.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(fromLogits: true));
        alone.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0, seed: 7);

        var student = Logits(seed: 6);
        var distiller = new Distiller(student, Logits(seed: 8), alpha: 1f) { Output = TextWriter.Null };
        distiller.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(fromLogits: true));
        distiller.Fit(x, y, epochs: 2, batchSize: 16, verbose: 0, seed: 7);
        for (int i = 0; i < alone.Weights.Count; i++)
        {
            var expected = alone.Weights[i].Value.ToArray();
            var actual = student.Weights[i].Value.ToArray();
            for (int j = 0; j < expected.Length; j++)
            {
                Assert.Equal(expected[j], actual[j], 1e-6f);
            }
        }
    }

    [Fact]
    public void BadTeachersAndSettingsAreRejectedNamingWhatIsWrong()
    {
        var student = Logits(seed: 1);
        var wide = new Sequential([new InputLayer([4]), new Dense(5, seed: 2)], name: "wide_teacher") { Device = Device };
        var atCompile = new Distiller(student, wide);
        var e = Assert.Throws<ArgumentException>(() => atCompile.Compile(new Sgd(), new SparseCategoricalCrossentropy(fromLogits: true)));
        Assert.Contains($"the teacher wide_teacher outputs [5] per example but the student {student.Name} outputs [3]", e.Message);

        // Not built: the first batch finds out, before any weight changes.
        var lazy = new Distiller(new Sequential([new Dense(3, seed: 3)], name: "lazy_student") { Device = Device }, new Sequential([new Dense(2, seed: 4)], name: "lazy_teacher") { Device = Device });
        lazy.Compile(new Sgd(), new SparseCategoricalCrossentropy(fromLogits: true));
        var (x, y) = ModelTests.Blobs(8, 1);
        e = Assert.Throws<ArgumentException>(() => lazy.Fit(x, y, verbose: 0));
        Assert.Contains("the teacher lazy_teacher outputs [2] per example but the student lazy_student outputs [3]", e.Message);

        foreach (float alpha in new[] { -0.1f, 1.5f, float.NaN })
        {
            Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new Distiller(student, Logits(seed: 2), alpha: alpha)).ParamName);
        }

        foreach (float temperature in new[] { 0f, -1f, float.NaN, float.PositiveInfinity })
        {
            Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => new Distiller(student, Logits(seed: 2), temperature: temperature)).ParamName);
        }

        e = Assert.Throws<ArgumentException>(() => new Distiller(student, student));
        Assert.Contains("the teacher and the student are the same model", e.Message);

        var elsewhere = Device == Device.Cpu ? Device.IlgpuCpu : Device.Cpu;
        e = Assert.Throws<ArgumentException>(() => new Distiller(new Sequential([new Dense(3)]) { Device = Device }, new Sequential([new Dense(3)]) { Device = elsewhere }));
        Assert.Contains("put both on one device", e.Message);

        var distiller = new Distiller(student, Logits(seed: 2));
        var saving = Assert.Throws<NotSupportedException>(() => distiller.Save(Path.Combine(Path.GetTempPath(), "distiller.lepton")));
        Assert.Contains("distiller.Student.Save(path)", saving.Message);

        distiller.Compile(new Sgd(), new SparseCategoricalCrossentropy(fromLogits: true));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => distiller.Fit(x, y, verbose: 0, cancellationToken: cancelled.Token));
    }

    /// <summary>A small built classifier of the 4-D blobs into 3 classes that outputs logits.</summary>
    protected Sequential Logits(ulong seed) =>
        new([new InputLayer([4]), new Dense(8, activation: "relu", seed: seed), new Dense(3, seed: seed + 100UL)]) { Device = Device };

    private static double[] LogSoftmax(ReadOnlySpan<float> logits, double temperature)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float v in logits)
        {
            max = Math.Max(max, v / temperature);
        }

        foreach (float v in logits)
        {
            sum += Math.Exp((v / temperature) - max);
        }

        var result = new double[logits.Length];
        for (int i = 0; i < logits.Length; i++)
        {
            result[i] = (logits[i] / temperature) - max - Math.Log(sum);
        }

        return result;
    }
}

public sealed class DistillerTestsCpu : DistillerTests
{
    protected override Device Device => Device.Cpu;

    // A few hundred steps: on the CPU backend only, as ILGPU's CPU emulator takes seconds for them; the steps
    // themselves run on every backend in the tests above.
    [Fact]
    public void StudentLearnsTheTeachersTaskAndIsWhatEvaluateAndPredictRun()
    {
        var (x, y) = ModelTests.Blobs(180, 14);
        var (xTest, yTest) = ModelTests.Blobs(60, 15);
        var teacher = new Sequential([new InputLayer([4]), new Dense(16, activation: "relu", seed: 9), new Dense(3, seed: 10)]) { Device = Device, Output = TextWriter.Null };
        teacher.Compile(new Adam(0.02f), new SparseCategoricalCrossentropy(fromLogits: true), new SparseCategoricalAccuracy());
        teacher.Fit(x, y, epochs: 6, batchSize: 32, verbose: 0, seed: 16);

        var student = Logits(seed: 11);
        var distiller = new Distiller(student, teacher, alpha: 0.1f, temperature: 3f) { Output = TextWriter.Null };
        distiller.Compile(new Adam(0.05f), new SparseCategoricalCrossentropy(fromLogits: true), new KLDivergence(), new SparseCategoricalAccuracy());
        var history = distiller.Fit(x, y, epochs: 6, batchSize: 32, validationData: (xTest, yTest), verbose: 0, seed: 17);
        Assert.True(history["val_sparse_categorical_accuracy"][^1] > 0.9, $"val accuracy {history["val_sparse_categorical_accuracy"][^1]}");

        // Evaluate reports the student's loss on the labels; Predict gives the student's logits.
        var result = distiller.Evaluate(xTest, yTest, batchSize: 64);
        var logits = distiller.Predict(xTest);
        Assert.Equal(student.Predict(xTest).ToArray(), logits.ToArray());
        double studentLoss = new SparseCategoricalCrossentropy(fromLogits: true).Compute(yTest.To(Device), logits).Item();
        Assert.Equal(studentLoss, result["loss"], 4);
        Assert.True(result["sparse_categorical_accuracy"] > 0.9);
    }
}

[Collection(IlgpuCpuCollection.Name)]
public sealed class DistillerTestsIlgpuCpu : DistillerTests
{
    protected override Device Device => Device.IlgpuCpu;
}
