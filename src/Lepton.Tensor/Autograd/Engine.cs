// Reverse-mode autograd: a topological sort from the root, then one pass from the root back to
// the leaves that calls each node's backward and accumulates gradients. Leaves keep their gradient
// in Grad (owned by the leaf, outside any scope); nodes are released afterwards unless retained.
// The sort's and the pass's collections are kept per thread and reused by the next backward.
namespace Lepton.Autograd;

/// <summary>Runs backward passes.</summary>
internal static class Engine
{
    /// <summary>This thread's collections, or null while a backward on this thread is using them.</summary>
    [ThreadStatic]
    private static Workspace? idle;

    /// <summary>
    /// Called on this thread, during a backward pass, for each leaf that requires a gradient as soon as its gradient is
    /// final (every node that feeds it has run), while the rest of the pass still runs.
    /// </summary>
    [ThreadStatic]
    private static Action<Tensor>? leafReady;

    /// <summary>Sets the gradient-ready callback of this thread's backward passes; returns the one it replaces.</summary>
    internal static Action<Tensor>? SetLeafReady(Action<Tensor>? callback)
    {
        var previous = leafReady;
        leafReady = callback;
        return previous;
    }

    public static void Run(Tensor root, Tensor gradient, bool retainGraph)
    {
        if (root.IsLeaf)
        {
            Accumulate(root, gradient);
            leafReady?.Invoke(root);
            return;
        }

        // A backward started from inside another one's node gets collections of its own.
        var workspace = idle ?? new Workspace();
        idle = null;
        try
        {
            Run(root, gradient, retainGraph, workspace);
        }
        finally
        {
            workspace.Clear();
            idle = workspace;
        }
    }

    private static void Run(Tensor root, Tensor gradient, bool retainGraph, Workspace workspace)
    {
        var order = TopologicalOrder(root, workspace);
        var grads = workspace.Grads;
        var ready = leafReady;
        if (ready is not null)
        {
            CountLeafUses(order, workspace.LeafUses);
        }

        grads[root] = gradient;
        using (GradMode.NoGrad())
        {
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var tensor = order[i];
                var node = tensor.GradFn!;
                if (!grads.Remove(tensor, out var grad))
                {
                    if (ready is not null)
                    {
                        LeafUsesDone(node.Inputs, workspace.LeafUses, ready);
                    }

                    continue;
                }

                var inputs = node.Inputs;
                long before = Tensor.CreatedCount;
                var inputGrads = node.Apply(grad);
                for (int k = 0; k < inputs.Count; k++)
                {
                    var input = inputs[k];
                    var inputGrad = inputGrads[k];
                    if (inputGrad is null || !input.RequiresGrad)
                    {
                        continue;
                    }

                    if (!Shapes.SameShape(inputGrad.ShapeRef, input.ShapeRef))
                    {
                        throw new InvalidOperationException(
                            $"{node.Name} returned a gradient of shape {Shapes.Format(inputGrad.ShapeRef)} for an input of shape {Shapes.Format(input.ShapeRef)}.");
                    }

                    if (inputGrad.DType != input.DType)
                    {
                        // A gradient takes its input's type (an op that mixed float32 with float64 or 16-bit operands).
                        inputGrad = inputGrad.CastTo(input.DType);
                    }

                    if (input.IsLeaf)
                    {
                        Accumulate(input, inputGrad, !retainGraph && OwnedByThisNode(inputGrad, grad, inputGrads, before));
                    }
                    else if (grads.TryGetValue(input, out var existing))
                    {
                        grads[input] = existing + inputGrad;
                    }
                    else
                    {
                        grads[input] = inputGrad;
                    }
                }

                if (ready is not null)
                {
                    LeafUsesDone(inputs, workspace.LeafUses, ready);
                }

                if (!retainGraph)
                {
                    node.Release();
                }
            }
        }
    }

    /// <summary>How many edges of the graph lead into each leaf that requires a gradient.</summary>
    private static void CountLeafUses(List<Tensor> order, Dictionary<Tensor, int> uses)
    {
        foreach (var tensor in order)
        {
            foreach (var input in tensor.GradFn!.Inputs)
            {
                if (input.IsLeaf && input.RequiresGrad)
                {
                    uses[input] = uses.GetValueOrDefault(input) + 1;
                }
            }
        }
    }

    /// <summary>Counts one node's edges into leaves as done; a leaf whose last edge this was has its final gradient.</summary>
    private static void LeafUsesDone(IReadOnlyList<Tensor> inputs, Dictionary<Tensor, int> uses, Action<Tensor> ready)
    {
        for (int k = 0; k < inputs.Count; k++)
        {
            var input = inputs[k];
            if (input.IsLeaf && input.RequiresGrad && uses.TryGetValue(input, out int left))
            {
                uses[input] = --left;
                if (left == 0 && input.Grad is not null)
                {
                    ready(input);
                }
            }
        }
    }

    /// <summary>Adds a gradient into a leaf's Grad, which the leaf owns (it is outside every scope); a gradient
    /// that nothing else can see (<paramref name="owned"/>) becomes the leaf's first Grad without a copy.</summary>
    private static void Accumulate(Tensor leaf, Tensor gradient, bool owned = false)
    {
        if (leaf.Grad is null)
        {
            leaf.Grad = owned && gradient.DType == leaf.DType ? gradient.DetachFromScope()
                : gradient.DType == leaf.DType ? gradient.CopyDense().DetachFromScope()
                : gradient.CastTo(leaf.DType).DetachFromScope();
            return;
        }

        var grad = leaf.Grad;
        if (grad.DType != DType.Float32 || gradient.DType != DType.Float32)
        {
            // 16-bit gradients add in float32 and round back, as every op on them does.
            using (GradMode.NoGrad())
            {
                using var sum = Tensor.Add(grad, gradient);
                grad.CopyFrom(sum);
            }

            return;
        }

        grad.Backend.Binary(default(Backends.AddOp), grad.View, gradient.View, grad.Buffer, grad.ShapeRef);
    }

    /// <summary>
    /// Whether a node's gradient for one input is a dense tensor that its backward function created (after
    /// <paramref name="createdBefore"/>) with no view of its buffer elsewhere, returned for that input alone and
    /// not the node's incoming gradient passed through: then nothing else can read or write it.
    /// </summary>
    private static bool OwnedByThisNode(Tensor inputGrad, Tensor incoming, Tensor?[] inputGrads, long createdBefore)
    {
        if (inputGrad.Created <= createdBefore || ReferenceEquals(inputGrad, incoming) || inputGrad.Offset != 0 ||
            !inputGrad.IsContiguous || inputGrad.Storage.References != 1)
        {
            return false;
        }

        int uses = 0;
        foreach (var g in inputGrads)
        {
            uses += ReferenceEquals(g, inputGrad) ? 1 : 0;
        }

        return uses == 1;
    }

    /// <summary>Non-leaf tensors reachable from root, each after all the tensors it depends on.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root, Workspace workspace)
    {
        var order = workspace.Order;
        var visited = workspace.Visited;
        var stack = workspace.Stack;
        visited.Add(root);
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (tensor, next) = stack.Pop();
            var inputs = tensor.GradFn!.Inputs;
            if (next < inputs.Count)
            {
                stack.Push((tensor, next + 1));
                var input = inputs[next];
                if (input.GradFn is not null && visited.Add(input))
                {
                    stack.Push((input, 0));
                }

                continue;
            }

            order.Add(tensor);
        }

        return order;
    }

    /// <summary>The collections of one backward pass, emptied (capacity kept) when it ends.</summary>
    private sealed class Workspace
    {
        public readonly List<Tensor> Order = [];
        public readonly HashSet<Tensor> Visited = new(ReferenceEqualityComparer.Instance);
        public readonly Stack<(Tensor Tensor, int Next)> Stack = new();
        public readonly Dictionary<Tensor, Tensor> Grads = new(ReferenceEqualityComparer.Instance);
        public readonly Dictionary<Tensor, int> LeafUses = new(ReferenceEqualityComparer.Instance);

        public void Clear()
        {
            Order.Clear();
            Visited.Clear();
            Stack.Clear();
            Grads.Clear();
            LeafUses.Clear();
        }
    }
}
