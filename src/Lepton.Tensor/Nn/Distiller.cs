// Knowledge distillation as a model: a student learns from the labels and from a frozen teacher's
// temperature-softened outputs (Hinton et al. 2015; Keras's Distiller example), through the usual Fit.
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

/// <summary>
/// Trains a student model on the labels and on a trained teacher's softened predictions. Each training step runs the
/// teacher in inference mode without gradients and minimizes
/// <c>alpha * studentLoss(y, s) + (1 - alpha) * distillationLoss(softmax(t / T), softmax(s / T)) * T^2</c>, where
/// <c>s</c> and <c>t</c> are the student's and the teacher's outputs, which must be logits (no final softmax) of the
/// same shape, and T is the temperature (the T^2 keeps the soft term's gradients on the scale of the hard one's).
/// The teacher's weights are not the Distiller's and never change. Metrics are computed on the student's outputs;
/// Evaluate, TestOnBatch and Predict run the student alone, and Evaluate reports the student loss.
/// The Distiller is not saved: keep what it trained with <c>distiller.Student.Save(path)</c>. Setting its
/// <see cref="Layer.Device"/> moves both models; disposing it disposes the student (not the teacher).
/// </summary>
/// <example><code>
/// var distiller = new Distiller(student, teacher, alpha: 0.1f, temperature: 10f);
/// distiller.Compile(new Adam(1e-3f), new SparseCategoricalCrossentropy(fromLogits: true), new KLDivergence(), new SparseCategoricalAccuracy());
/// distiller.Fit(x, y, epochs: 3);
/// distiller.Student.Save("student.lepton");
/// </code></example>
public sealed class Distiller : Model
{
    private Loss? distillationLoss;

    /// <summary>Creates a distiller that trains <paramref name="student"/> to follow <paramref name="teacher"/>.</summary>
    /// <param name="student">The model to train; it outputs logits.</param>
    /// <param name="teacher">The trained model to learn from, on the student's device; it outputs logits of the student's shape.</param>
    /// <param name="alpha">Weight of the student loss on the labels, in [0, 1]; the distillation loss gets 1 - alpha.</param>
    /// <param name="temperature">Divides both models' logits before the softmax; above 1 softens them. Positive.</param>
    /// <param name="name">The model's name (<c>distiller</c>, numbered, by default).</param>
    /// <example><code>var distiller = new Distiller(student, teacher, alpha: 0.1f, temperature: 3f);</code></example>
    public Distiller(Model student, Model teacher, float alpha = 0.1f, float temperature = 3f, string? name = null)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (ReferenceEquals(student, teacher))
        {
            throw new ArgumentException($"{Name}: the teacher and the student are the same model ({student.Name}); distill from a separately trained teacher.", nameof(teacher));
        }

        if (!(alpha is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"{Name}: alpha weighs the student loss against the distillation loss and must be in [0, 1].");
        }

        if (!(temperature > 0f) || float.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"{Name}: temperature divides the logits and must be a positive finite number.");
        }

        if (student.Device != teacher.Device)
        {
            throw new ArgumentException(
                $"{Name}: the student {student.Name} is on {student.Device} but the teacher {teacher.Name} is on {teacher.Device}; put both on one device first.",
                nameof(teacher));
        }

        Student = student;
        Teacher = teacher;
        Alpha = alpha;
        Temperature = temperature;
        Device = student.Device;
    }

    /// <summary>The model being trained.</summary>
    public Model Student { get; }

    /// <summary>The model learned from; run in inference mode and never updated.</summary>
    public Model Teacher { get; }

    /// <summary>Weight of the student loss; the distillation loss gets 1 - Alpha.</summary>
    public float Alpha { get; }

    /// <summary>The softmax temperature applied to both models' logits for the distillation loss.</summary>
    public float Temperature { get; }

    /// <summary>The loss between the teacher's and the student's softened distributions (<see cref="KLDivergence"/> by default).</summary>
    public Loss DistillationLoss => distillationLoss ??= new KLDivergence();

    /// <summary>The student alone: its weights are the Distiller's, the teacher's are not.</summary>
    public override IReadOnlyList<Layer> Layers => [Student];

    /// <summary>Configures distillation: the optimizer, the student's loss on the labels, the soft loss and the metrics.</summary>
    /// <remarks>
    /// When both models are built, their output shapes are checked here; otherwise on the first batch.
    /// </remarks>
    /// <param name="optimizer">Updates the student's weights.</param>
    /// <param name="studentLoss">The student's loss on the labels, taking its logits (e.g. <c>fromLogits: true</c>); Evaluate reports it.</param>
    /// <param name="distillationLoss">Compares the teacher's softened probabilities (targets) with the student's; null for <see cref="KLDivergence"/>.</param>
    /// <param name="metrics">Metrics computed on the student's outputs.</param>
    /// <example><code>distiller.Compile(new Adam(), new SparseCategoricalCrossentropy(fromLogits: true), null, new SparseCategoricalAccuracy());</code></example>
    public void Compile(Optimizer optimizer, Loss studentLoss, Loss? distillationLoss = null, params Metric[] metrics)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(studentLoss);
        if (KnownOutputShape(Student) is { } s && KnownOutputShape(Teacher) is { } t)
        {
            CheckOutputShapes(s, t);
        }

        this.distillationLoss = distillationLoss;
        Compile(optimizer, studentLoss, metrics);
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        // Builds both models from one zero example, so the student's weights exist before the first step's optimizer
        // sees them, and a teacher whose outputs do not fit the student's is reported before any training.
        using var scope = Tensor.NewScope();
        using var noGrad = Tensor.NoGrad();
        var input = Tensor.Zeros([1, .. inputShapes[0]], BuiltInputType, Device);
        var student = Student.Call(input, training: false);
        var teacher = Teacher.Call(input, training: false);
        CheckOutputShapes(student.ShapeRef[1..], teacher.ShapeRef[1..]);
    }

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training) => Student.Call(input, training);

    /// <inheritdoc />
    protected override Tensor ComputeTrainingLoss(Tensor x, Tensor y, Tensor prediction)
    {
        if (Student.Device != Device || Teacher.Device != Device)
        {
            throw new InvalidOperationException(
                $"{Name}: the student {Student.Name} is on {Student.Device} and the teacher {Teacher.Name} on {Teacher.Device}, but the distiller " +
                $"trains on {Device}; set distiller.Device to move both.");
        }

        Tensor teacherLogits;
        using (Tensor.NoGrad())
        {
            teacherLogits = Teacher.Call(x, training: false);
        }

        CheckOutputShapes(prediction.ShapeRef[1..], teacherLogits.ShapeRef[1..]);
        var studentLoss = Loss!.Compute(y, prediction);
        float t = Temperature;
        var soft = DistillationLoss.Compute((teacherLogits / t).Softmax(-1), (prediction / t).Softmax(-1));
        return (studentLoss * Alpha) + (soft * ((1f - Alpha) * t * t));
    }

    /// <inheritdoc />
    private protected override void OnDeviceChanged(Device newDevice)
    {
        base.OnDeviceChanged(newDevice);
        Teacher.Device = newDevice;
    }

    /// <summary>The per-example output shape of a model, where it is known without data (built, or given its input shape).</summary>
    private static int[]? KnownOutputShape(Model model)
    {
        if (model.OutputShape is { } known)
        {
            return known;
        }

        if (model.GraphOutputs is { Count: > 0 } outputs)
        {
            return outputs[0].Shape;
        }

        var input = model.Built ? model.InputShape : (model as Sequential)?.DeclaredShape;
        return input is null ? null : model.InferOutput([input], [model.Built ? model.BuiltInputType : model.DeclaredInputType]).Shape;
    }

    private void CheckOutputShapes(int[] student, int[] teacher)
    {
        if (!Shapes.SameShape(student, teacher))
        {
            throw new ArgumentException(
                $"{Name}: the teacher {Teacher.Name} outputs {Shapes.Format(teacher)} per example but the student {Student.Name} outputs " +
                $"{Shapes.Format(student)}; both must output logits of the same shape.");
        }
    }
}
