// Examples held in host memory: inputs as flat float arrays, or as bytes with a scale (images as the
// files hold them, a quarter of the memory), targets as floats, with per-example shapes. Data
// loaders gather batches from it on a background thread, converting bytes to float32 there.
using System.Runtime.CompilerServices;

namespace Lepton.Data;

/// <summary>Paired inputs and targets, one row per example, kept on the host.</summary>
/// <example><code>var train = new TensorDataset(images, labels);</code></example>
public sealed class TensorDataset
{
    /// <summary>The inputs when stored as bytes (null when stored as floats).</summary>
    private readonly byte[]? inputBytes;

    /// <summary>What each input byte is divided by.</summary>
    private readonly float byteDivisor;

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

    /// <summary>Wraps byte inputs (such as pixels) that batches turn into float32 <c>byte / divisor</c>, and int32 labels;
    /// the arrays are shared, not copied.</summary>
    /// <param name="inputs">The inputs in row-major order, one byte each.</param>
    /// <param name="divisor">What each byte is divided by (255 gives pixels in [0, 1]).</param>
    /// <param name="inputShape">The inputs' shape, the example dimension first.</param>
    /// <param name="labels">One int32 label per example.</param>
    /// <example><code>var data = new TensorDataset(pixels, 255, [60000, 1, 28, 28], labels);</code></example>
    public TensorDataset(byte[] inputs, float divisor, int[] inputShape, int[] labels)
        : this([], [labels.Length, .. inputShape[1..]], DType.Float32, Array.ConvertAll(labels, l => (float)l), [labels.Length], DType.Int32)
    {
        if (inputShape.Length == 0 || inputShape[0] != labels.Length || Shapes.Numel(inputShape) != inputs.LongLength)
        {
            throw new ArgumentException(
                $"TensorDataset: {inputs.LongLength} input bytes do not make {Shapes.Format(inputShape)}, or it does not have the {labels.Length} examples the labels have.");
        }

        inputBytes = inputs;
        byteDivisor = divisor;
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

    /// <summary>The inputs stored as floats (empty when they are stored as bytes).</summary>
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
        if (inputBytes is { } bytes)
        {
            var labels = new int[count];
            for (int i = 0; i < count; i++)
            {
                labels[i] = (int)Targets[start + i];
            }

            return new TensorDataset(bytes[(start * xs)..((start + count) * xs)], byteDivisor, [count, .. InputShape], labels);
        }

        return new TensorDataset(
            Inputs[(start * xs)..((start + count) * xs)], [count, .. InputShape], InputType,
            Targets[(start * ys)..((start + count) * ys)], [count, .. TargetShape], TargetType);
    }

    /// <summary>Writes example <paramref name="example"/>'s input, as float32, into <paramref name="destination"/>.</summary>
    internal void CopyInput(int example, Span<float> destination)
    {
        int xs = destination.Length;
        if (inputBytes is { } bytes)
        {
            DivideBytes(bytes.AsSpan(example * xs, xs), byteDivisor, destination);
        }
        else
        {
            Inputs.AsSpan(example * xs, xs).CopyTo(destination);
        }
    }

    /// <summary>destination[i] = source[i] / divisor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void DivideBytes(ReadOnlySpan<byte> source, float divisor, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = source[i] / divisor;
        }
    }
}
