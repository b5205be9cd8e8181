// Examples held in host memory: inputs and targets as flat float arrays with per-example shapes.
// Data loaders gather batches from it on a background thread.
namespace Lepton.Data;

/// <summary>Paired inputs and targets, one row per example, kept on the host.</summary>
/// <example><code>var train = new TensorDataset(mnist.TrainImages, mnist.TrainLabels);</code></example>
public sealed class TensorDataset
{
    /// <summary>Copies the tensors' values to the host as float32; their first dimensions must match, and integer values
    /// must lie within ±2^24, which float32 holds exactly.</summary>
    /// <param name="inputs">The inputs, one row per example.</param>
    /// <param name="targets">The targets, one row per example.</param>
    public TensorDataset(Tensor inputs, Tensor targets)
        : this(HostValues(inputs, nameof(inputs)), inputs.Shape, inputs.DType, HostValues(targets, nameof(targets)), targets.Shape, targets.DType)
    {
    }

    /// <summary>Wraps flat arrays; shapes include the example dimension first.</summary>
    public TensorDataset(float[] inputs, int[] inputShape, DType inputType, float[] targets, int[] targetShape, DType targetType)
    {
        if (inputShape.Length == 0 || targetShape.Length == 0 || inputShape[0] != targetShape[0])
        {
            throw new ArgumentException($"TensorDataset: inputs {Shapes.Format(inputShape)} and targets {Shapes.Format(targetShape)} need the same number of examples (first dimension).");
        }

        Inputs = inputs;
        Targets = targets;
        InputShape = inputShape[1..];
        TargetShape = targetShape[1..];
        InputType = inputType;
        TargetType = targetType;
        Count = inputShape[0];
    }

    private static float[] HostValues(Tensor t, string name)
    {
        if (t.DType.IsInteger())
        {
            foreach (long v in t.ToArray<long>())
            {
                if (v > (1L << 24) || v < -(1L << 24))
                {
                    throw new ArgumentException($"TensorDataset: {name} ({t.DType.Name()} {Shapes.Format(t.ShapeRef)}) hold {v}, beyond the ±2^24 that float32 host storage keeps exact.", name);
                }
            }
        }

        return t.ToArray();
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Shape of one input.</summary>
    public int[] InputShape { get; }

    /// <summary>Shape of one target.</summary>
    public int[] TargetShape { get; }

    /// <summary>Element type of the inputs.</summary>
    public DType InputType { get; }

    /// <summary>Element type of the targets.</summary>
    public DType TargetType { get; }

    internal float[] Inputs { get; }

    internal float[] Targets { get; }

    /// <summary>Examples [start, start + count) as a new dataset (copies).</summary>
    /// <example><code>var (train, validation) = (all.Take(0, 50000), all.Take(50000, 10000));</code></example>
    public TensorDataset Take(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Take: [{start}, {start + count}) is outside the {Count} examples.");
        }

        int xs = Shapes.Numel(InputShape), ys = Shapes.Numel(TargetShape);
        return new TensorDataset(
            Inputs[(start * xs)..((start + count) * xs)], [count, .. InputShape], InputType,
            Targets[(start * ys)..((start + count) * ys)], [count, .. TargetShape], TargetType);
    }
}
