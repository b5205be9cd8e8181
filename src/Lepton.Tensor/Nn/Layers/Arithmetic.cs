// Element-wise add, subtract, multiply or divide with broadcasting: of two inputs, or of one input and
// a stored constant (a weight, trainable or not). ONNX's Add/Sub/Mul/Div import to this layer.
namespace Lepton.Nn.Layers;

/// <summary>
/// Element-wise arithmetic with NumPy broadcasting (shapes count the batch dimension): <c>a op b</c> of two inputs, or of
/// the input and a stored constant.
/// </summary>
/// <example><code>
/// var difference = new Arithmetic("subtract").Apply(a, b);
/// var scaled = new Arithmetic("multiply", constantShape: [1, 3, 1, 1]).Apply(image); // a learnable per-channel scale
/// </code></example>
public sealed class Arithmetic : Layer
{
    /// <summary>The operations the layer applies.</summary>
    public static readonly string[] Operations = ["add", "subtract", "multiply", "divide"];

    private Weight? constant;

    /// <summary>Creates the layer.</summary>
    /// <param name="operation">One of <see cref="Operations"/>.</param>
    /// <param name="constantShape">The shape of a stored constant operand (broadcast against the batch, e.g. [1, C, 1, 1]);
    /// null for a layer of two inputs.</param>
    /// <param name="constantFirst">Whether the constant is the left operand (<c>c - x</c>) rather than the right (<c>x - c</c>).</param>
    /// <param name="trainableConstant">Whether the optimizer updates the constant.</param>
    /// <param name="name">The layer's name.</param>
    public Arithmetic(string operation, int[]? constantShape = null, bool constantFirst = false, bool trainableConstant = true, string? name = null)
        : base(name)
    {
        Operation = Operations.Contains(operation.ToLowerInvariant())
            ? operation.ToLowerInvariant()
            : throw new ArgumentException($"{Name} (Arithmetic): unknown operation '{operation}'; use one of {string.Join(", ", Operations)}.", nameof(operation));
        if (constantShape is not null && constantShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"{Name} (Arithmetic): constantShape {Shapes.Format(constantShape)} must hold positive sizes.", nameof(constantShape));
        }

        ConstantShape = constantShape is null ? null : (int[])constantShape.Clone();
        ConstantFirst = constantFirst;
        TrainableConstant = trainableConstant;
    }

    /// <summary>add, subtract, multiply or divide.</summary>
    public string Operation { get; }

    /// <summary>The stored operand's shape, or null when the layer takes two inputs.</summary>
    public int[]? ConstantShape { get; }

    /// <summary>Whether the constant is the left operand.</summary>
    public bool ConstantFirst { get; }

    /// <summary>Whether the optimizer updates the constant.</summary>
    public bool TrainableConstant { get; }

    /// <summary>The stored operand, or null when the layer takes two inputs.</summary>
    public Weight? Constant => constant;

    /// <inheritdoc />
    public override Dictionary<string, object?> GetConfig()
    {
        var config = base.GetConfig();
        config["operation"] = Operation;
        config["constant_shape"] = ConstantShape;
        config["constant_first"] = ConstantFirst;
        config["trainable_constant"] = TrainableConstant;
        return config;
    }

    /// <inheritdoc />
    protected override void Build(IReadOnlyList<int[]> inputShapes)
    {
        if (ConstantShape is not null)
        {
            constant = AddWeight("constant", ConstantShape, Operation is "multiply" or "divide" ? Initializer.Ones() : Initializer.Zeros(), TrainableConstant);
        }
    }

    /// <inheritdoc />
    protected override Tensor Forward(IReadOnlyList<Tensor> inputs, bool training)
    {
        int expected = constant is null ? 2 : 1;
        if (inputs.Count != expected)
        {
            throw new ArgumentException($"{Name} (Arithmetic): takes {expected} input{(expected == 1 ? "" : "s")}, got {inputs.Count}.");
        }

        var (a, b) = constant is null ? (inputs[0], inputs[1]) : ConstantFirst ? (constant.Value, inputs[0]) : (inputs[0], constant.Value);
        return Operation switch
        {
            "add" => a + b,
            "subtract" => a - b,
            "multiply" => a * b,
            _ => a / b,
        };
    }
}
