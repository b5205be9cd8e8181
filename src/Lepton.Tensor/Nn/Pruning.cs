// Magnitude pruning during training (TF-MOT's prune_low_magnitude): masks on layer kernels that zero
// the smallest-|w| fraction at the steps a schedule gives, kept by every optimizer step; Strip and Report.
using Lepton.Nn.Callbacks;
using Lepton.Nn.Layers;
using Lepton.Nn.Optimizers;

namespace Lepton.Nn;

/// <summary>
/// Low-magnitude pruning: <see cref="LowMagnitude"/> attaches masks to a model's kernels and returns the callback that
/// updates them during <c>Fit</c>; <see cref="Strip"/> removes the masks; <see cref="Report"/> counts the zeros.
/// </summary>
/// <example><code>
/// var pruning = Pruning.LowMagnitude(model, new PolynomialDecay(0, 0.8, beginStep: 0, endStep: 1000));
/// model.Fit(x, y, epochs: 5, callbacks: [pruning]);
/// Pruning.Strip(model);
/// Console.WriteLine(Pruning.Report(model));
/// </code></example>
public static class Pruning
{
    /// <summary>
    /// Attaches a pruning mask (all ones at first) to each pruned kernel of <paramref name="model"/> and returns the
    /// callback that, at each step <paramref name="schedule"/> prunes, zeroes the smallest-magnitude fraction of them.
    /// Masked values stay exactly 0 through every optimizer step (eager or replayed), and the optimizer's state is
    /// zeroed where a mask is 0. Kernels that already carry a mask (a loaded pruned model) keep it.
    /// </summary>
    /// <param name="model">A built model.</param>
    /// <param name="schedule">When to update the masks and to which sparsity (<see cref="ConstantSparsity"/>, <see cref="PolynomialDecay"/>).</param>
    /// <param name="layers">Names of the layers to prune (each must be a Dense, Conv1D or Conv2D layer); null prunes the kernels of every such layer. Biases and batch-norm statistics are never pruned.</param>
    /// <param name="globalThreshold">False (the default): each kernel gets its own threshold, so each reaches the target sparsity. True: one threshold over all pruned kernels together, so the overall sparsity reaches the target.</param>
    /// <returns>The callback to pass to <c>Fit</c>.</returns>
    /// <example><code>var pruning = Pruning.LowMagnitude(model, new ConstantSparsity(0.5, beginStep: 0, frequency: 10));</code></example>
    /// <exception cref="ArgumentException">A named layer is missing or has no prunable weights, or the model has none.</exception>
    public static PruningCallback LowMagnitude(Model model, PruningSchedule schedule, IEnumerable<string>? layers = null, bool globalThreshold = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(schedule);
        model.BuildIfInputKnown();
        if (!model.Built)
        {
            throw new InvalidOperationException($"Pruning.LowMagnitude: model '{model.Name}' is not built; call it once or declare its input shape first.");
        }

        var all = AllLayers(model).ToList();
        List<Weight> kernels = [];
        if (layers is null)
        {
            kernels.AddRange(all.Select(KernelOf).OfType<Weight>());
            if (kernels.Count == 0)
            {
                throw new ArgumentException($"Pruning.LowMagnitude: model '{model.Name}' has no prunable weights; pruning covers the kernels of Dense, Conv1D and Conv2D layers.", nameof(model));
            }
        }
        else
        {
            foreach (string name in layers)
            {
                var layer = all.FirstOrDefault(l => l.Name == name)
                    ?? throw new ArgumentException($"Pruning.LowMagnitude: model '{model.Name}' has no layer '{name}'; its layers are {string.Join(", ", all.Select(l => l.Name))}.", nameof(layers));
                var kernel = KernelOf(layer)
                    ?? throw new ArgumentException($"Pruning.LowMagnitude: layer '{name}' ({layer.GetType().Name}) has no prunable weights; pruning covers the kernels of Dense, Conv1D and Conv2D layers.", nameof(layers));
                if (!kernels.Contains(kernel))
                {
                    kernels.Add(kernel);
                }
            }

            if (kernels.Count == 0)
            {
                throw new ArgumentException("Pruning.LowMagnitude: the list of layers to prune is empty.", nameof(layers));
            }
        }

        foreach (var kernel in kernels)
        {
            kernel.PruningMask ??= Tensor.OnesLike(kernel.Value).DetachFromScope();
        }

        return new PruningCallback(model, schedule, kernels, globalThreshold);
    }

    /// <summary>
    /// Removes every pruning mask from <paramref name="model"/>: its layers become plain layers whose pruned values stay
    /// zero (until trained again), and it saves as an unpruned model. Callbacks made for it stop working. Its captured
    /// steps are dropped, so that Predict and Evaluate choose again between the dense and the sparse kernels.
    /// </summary>
    /// <param name="model">A model pruned with <see cref="LowMagnitude"/> (a model without masks is left as it is).</param>
    /// <example><code>Pruning.Strip(model); model.Save("small.lepton");</code></example>
    public static void Strip(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var weight in model.Weights)
        {
            weight.PruningMask?.Dispose();
            weight.PruningMask = null;
        }

        // Steps captured while the kernels were still dense chose the dense kernels; the next ones choose again.
        model.ClearCapturedSteps();
    }

    /// <summary>
    /// Counts the zeros of each pruned kernel (each masked one; after <see cref="Strip"/> or before pruning, each
    /// kernel of a Dense, Conv1D or Conv2D layer).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <returns>One row per kernel and a formatted table (<c>ToString()</c>).</returns>
    /// <example><code>Console.WriteLine(Pruning.Report(model));</code></example>
    public static PruningReport Report(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = AllLayers(model).ToList();
        bool masked = layers.SelectMany(l => l.Weights).Any(w => w.PruningMask is not null);
        var rows = new List<WeightSparsity>();
        foreach (var layer in layers)
        {
            var weights = masked ? layer.Weights.Where(w => w.PruningMask is not null) : KernelOf(layer) is { } k ? [k] : [];
            foreach (var weight in weights)
            {
                float[] values = weight.Value.ToArray<float>();
                long zeros = values.LongCount(v => v == 0);
                rows.Add(new WeightSparsity(layer.Name, weight.Name, values.Length, zeros));
            }
        }

        return new PruningReport(rows);
    }

    /// <summary>
    /// Structured pruning: removes the lowest-ranked <paramref name="fraction"/> of the filters of each Conv2D layer
    /// (of the named ones with <paramref name="layers"/>) together with the matching input channels of what reads them
    /// (BatchNormalization, the next Conv2D, a Dense layer after Flatten or GlobalAveragePooling2D), and returns the
    /// smaller model: plain dense layers with the surviving weights, which compute what the original computes with the
    /// removed channels zeroed. Channels of tensors added together (residual Adds) are ranked and removed together.
    /// Compile the result to fine-tune it with <c>Fit</c>; the original model is left unchanged, and pruning masks are
    /// not carried over.
    /// </summary>
    /// <param name="model">A built Sequential or functional model with channels-first convolutions.</param>
    /// <param name="fraction">The fraction of each layer's channels to remove, in [0, 1): round(channels * fraction) go.</param>
    /// <param name="criterion">How filters are ranked: the L1 or L2 norm of their weights (summed over convolutions added together), or the absolute scale of the batch normalization on their channel.</param>
    /// <param name="layers">Names of the Conv2D layers to prune; null prunes every one whose channels can be removed (not those that reach the model's output or a layer channel pruning does not follow, such as Concatenate or Reshape).</param>
    /// <returns>The smaller, uncompiled model, with the original's layer names.</returns>
    /// <example><code>
    /// var small = Pruning.Channels(model, 0.5, ChannelCriterion.L1);
    /// small.Compile(new Adam(1e-4f), new SparseCategoricalCrossentropy(fromLogits: true), ["accuracy"]);
    /// small.Fit(x, y, epochs: 2);
    /// </code></example>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fraction"/> is outside [0, 1).</exception>
    /// <exception cref="ArgumentException">A named layer is missing, is not a Conv2D or cannot lose channels; the fraction would remove every channel of a layer; BnScale finds no batch normalization; or no convolution can be pruned.</exception>
    public static Model Channels(Model model, double fraction, ChannelCriterion criterion = ChannelCriterion.L1, IEnumerable<string>? layers = null) =>
        ChannelsKept(model, fraction, criterion, layers).Pruned;

    /// <summary><see cref="Channels"/>, with the filters each pruned convolution keeps.</summary>
    internal static (Model Pruned, Dictionary<string, int[]> Kept) ChannelsKept(Model model, double fraction, ChannelCriterion criterion, IEnumerable<string>? layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(fraction >= 0 && fraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Pruning.Channels: fraction must be in [0, 1).");
        }

        if (!Enum.IsDefined(criterion))
        {
            throw new ArgumentOutOfRangeException(nameof(criterion), criterion, "Pruning.Channels: criterion must be L1, L2 or BnScale.");
        }

        model.BuildIfInputKnown();
        if (!model.Built)
        {
            throw new InvalidOperationException($"Pruning.Channels: model '{model.Name}' is not built; call it once or declare its input shape first.");
        }

        return ChannelPruning.Run(model, fraction, criterion, layers);
    }

    /// <summary>
    /// Sets the masks of <paramref name="weights"/> so that exactly n - round(n * (1 - sparsity)) values are 0 (n per
    /// kernel, or over all of them with <paramref name="global"/>): the smallest |w|, ties broken by position (layer
    /// order, then flat index, lower first). Then zeroes the weights and the optimizer's state there.
    /// </summary>
    internal static void UpdateMasks(IReadOnlyList<Weight> weights, double sparsity, bool global, Optimizer? optimizer)
    {
        using var noGrad = Tensor.NoGrad();
        var values = weights.Select(w => w.Value.ToArray<float>()).ToArray();
        var keep = values.Select(v => new bool[v.Length]).ToArray();
        if (global)
        {
            var all = values.SelectMany(v => v).ToArray();
            var flat = KeepLargest(all, sparsity);
            for (int i = 0, offset = 0; i < values.Length; offset += values[i].Length, i++)
            {
                Array.Copy(flat, offset, keep[i], 0, values[i].Length);
            }
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                keep[i] = KeepLargest(values[i], sparsity);
            }
        }

        for (int i = 0; i < weights.Count; i++)
        {
            var w = weights[i];
            var mask = w.PruningMask ?? throw new InvalidOperationException($"Pruning: weight '{w.Name}' has no pruning mask; the model was stripped (Pruning.Strip) after the callback was made.");
            float[] ones = Array.ConvertAll(keep[i], k => k ? 1f : 0f);
            using var fresh = Tensor.FromArray(ones, w.Shape, w.Value.DType, w.Value.Device);
            mask.CopyFrom(fresh);
            w.ApplyPruningMask();
            optimizer?.MaskState(w);
        }
    }

    /// <summary>Which of <paramref name="values"/> survive pruning to <paramref name="sparsity"/> (TF-MOT keeps round(n * (1 - sparsity))).</summary>
    private static bool[] KeepLargest(float[] values, double sparsity)
    {
        int n = values.Length;
        int pruned = n - (int)Math.Round(n * (1 - sparsity));
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        // A total order (magnitude, then index), so the unstable sort gives one answer.
        Array.Sort(order, (a, b) => Math.Abs(values[a]).CompareTo(Math.Abs(values[b])) is var c && c != 0 ? c : a.CompareTo(b));
        var keep = new bool[n];
        Array.Fill(keep, true);
        for (int i = 0; i < pruned; i++)
        {
            keep[order[i]] = false;
        }

        return keep;
    }

    /// <summary>The kernel pruning covers in <paramref name="layer"/>, or null.</summary>
    private static Weight? KernelOf(Layer layer) => layer switch
    {
        Dense { Built: true } dense => dense.Kernel,
        Conv2D { Built: true } conv => conv.Kernel,
        Conv1D { Built: true } conv => conv.Kernel,
        _ => null,
    };

    /// <summary>Every layer under <paramref name="root"/>, depth first, without <paramref name="root"/>.</summary>
    private static IEnumerable<Layer> AllLayers(Layer root)
    {
        var seen = new HashSet<Layer>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Layer>(root.Sublayers.Reverse());
        while (stack.Count > 0)
        {
            var layer = stack.Pop();
            if (seen.Add(layer))
            {
                yield return layer;
                foreach (var sub in layer.Sublayers.Reverse())
                {
                    stack.Push(sub);
                }
            }
        }
    }
}
