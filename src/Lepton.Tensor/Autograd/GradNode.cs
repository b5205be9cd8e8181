// One recorded operation in the backward graph: the inputs it read and a function from the output's
// gradient to one gradient per input (null where an input needs none). Saved tensors live in the
// closure and are dropped when the node is released after backward.
namespace Lepton.Autograd;

/// <summary>The backward record of one operation, like PyTorch's <c>grad_fn</c>.</summary>
public sealed class GradNode
{
    private Func<Tensor, Tensor?[]>? backward;

    internal GradNode(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        Name = name;
        Inputs = inputs;
        this.backward = backward;
    }

    /// <summary>The op's name, e.g. <c>MatMulBackward</c>.</summary>
    public string Name { get; }

    /// <summary>The tensors the op read.</summary>
    public IReadOnlyList<Tensor> Inputs { get; private set; }

    /// <summary>True once backward has run through this node and its saved tensors were dropped.</summary>
    public bool IsReleased => backward is null;

    internal Tensor?[] Apply(Tensor gradOutput)
    {
        var fn = backward ?? throw new InvalidOperationException(
            $"Trying to backward through {Name} a second time: its saved tensors were released after the first " +
            "Backward(). Call Backward(retainGraph: true) the first time if you need to go through the graph again.");
        return fn(gradOutput);
    }

    internal void Release()
    {
        backward = null;
        Inputs = [];
    }

    /// <inheritdoc />
    public override string ToString() => $"<{Name}>";
}
