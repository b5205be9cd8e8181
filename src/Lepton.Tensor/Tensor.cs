// The tensor: a strided view on a pooled device buffer, with the autograd fields (RequiresGrad,
// Grad, GradFn). Ops live in Ops/ as partial members of this class, one file per op family.
using Lepton.Autograd;
using Lepton.Backends;

namespace Lepton;

/// <summary>An n-dimensional array on a <see cref="Lepton.Device"/> with reverse-mode autograd.</summary>
/// <example><code>
/// var w = Tensor.RandN([3, 2], new Generator(0)).RequiresGrad_();
/// var loss = (Tensor.Ones([4, 3]).MatMul(w)).Pow(2).Mean();
/// loss.Backward();
/// Console.WriteLine(w.Grad);
/// </code></example>
public sealed partial class Tensor : IDisposable
{
    private readonly int[] shape;
    private readonly int[] strides;
    private bool requiresGrad;
    private bool disposed;

    /// <summary>Tensors created so far, on every thread; see <see cref="Created"/>.</summary>
    private static long createdCount;

    internal Tensor(Storage storage, int offset, int[] shape, int[] strides, DType dtype)
    {
        Storage = storage;
        Offset = offset;
        this.shape = shape;
        this.strides = strides;
        DType = dtype;
        storage.AddReference();
        Scope = TensorScope.Current;
        Scope?.Track(this);
        Created = Interlocked.Increment(ref createdCount);
    }

    /// <summary>How many tensors had been created when this one was (tells the backward pass which gradients a
    /// node's backward function made itself).</summary>
    internal long Created { get; }

    /// <summary>The number of tensors created so far.</summary>
    internal static long CreatedCount => Volatile.Read(ref createdCount);

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The device holding the data.</summary>
    public Device Device => Storage.Device;

    /// <summary>The extent of each dimension (a copy).</summary>
    public int[] Shape => (int[])shape.Clone();

    /// <summary>The element step of each dimension (a copy).</summary>
    public int[] Strides => (int[])strides.Clone();

    /// <summary>The number of dimensions.</summary>
    public int Rank => shape.Length;

    /// <summary>The number of elements.</summary>
    public int Numel => Shapes.Numel(shape);

    /// <summary>True when the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous => Shapes.IsContiguous(shape, strides);

    /// <summary>True when gradients flow to this tensor in <see cref="Backward"/>.</summary>
    public bool RequiresGrad
    {
        get => requiresGrad;
        set
        {
            if (value && DType is not (DType.Float32 or DType.Float16 or DType.BFloat16))
            {
                throw new InvalidOperationException(
                    $"Only floating tensors computed in float32 (float32, float16, bfloat16) can require gradients; this one is {DType.Name()} {Shapes.Format(shape)}.");
            }

            if (!value && GradFn is not null)
            {
                throw new InvalidOperationException("RequiresGrad can only be turned off on a leaf tensor; use Detach() instead.");
            }

            requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward"/>, else null.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>The operation that produced this tensor, if it was recorded for autograd.</summary>
    public GradNode? GradFn { get; private set; }

    /// <summary>True for tensors not produced by a recorded op (parameters, inputs).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>True once the tensor has been disposed.</summary>
    public bool IsDisposed => disposed;

    internal Storage Storage { get; }

    internal int Offset { get; }

    internal TensorScope? Scope { get; private set; }

    internal int[] ShapeRef => shape;

    internal int[] StridesRef => strides;

    internal IBackend Backend => Storage.Device.Backend;

    internal DeviceBuffer Buffer
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return Storage.Buffer;
        }
    }

    internal StridedView View => new(Buffer, Offset, shape, strides, DType.Size());

    /// <summary>Sets <see cref="RequiresGrad"/> to true and returns this tensor, like PyTorch's <c>requires_grad_()</c>.</summary>
    /// <example><code>var w = Tensor.Zeros([3]).RequiresGrad_();</code></example>
    public Tensor RequiresGrad_(bool value = true)
    {
        RequiresGrad = value;
        return this;
    }

    /// <summary>Opens a scope that disposes every tensor created in it on this thread; see <see cref="TensorScope"/>.</summary>
    /// <example><code>using var scope = Tensor.NewScope();</code></example>
    public static TensorScope NewScope() => new();

    /// <summary>Keeps this tensor alive past the current scope by handing it to the enclosing one (or to no scope).</summary>
    /// <example><code>var kept = (a + b).MoveToOuter();</code></example>
    public Tensor MoveToOuter()
    {
        var target = Scope?.Parent;
        Scope = target;
        target?.Track(this);
        return this;
    }

    /// <summary>Removes this tensor from any scope: the caller now owns it and disposes it.</summary>
    /// <example><code>var weights = Tensor.Zeros([3]).DetachFromScope();</code></example>
    public Tensor DetachFromScope()
    {
        Scope = null;
        return this;
    }

    /// <summary>Returns the buffer to the device's pool once no view uses it. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        Scope = null;
        GradFn = null;
        Storage.Release();
    }

    /// <summary>A new tensor over the same storage (a view).</summary>
    internal Tensor ViewAs(int[] newShape, int[] newStrides, int newOffset) =>
        new(Storage, newOffset, newShape, newStrides, DType);

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    internal void SetGradFn(GradNode node)
    {
        GradFn = node;
        requiresGrad = true;
    }

    /// <summary>Records <paramref name="result"/> for autograd when grad mode is on and an input requires grad.</summary>
    internal static Tensor Record(Tensor result, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (!GradMode.IsEnabled)
        {
            return result;
        }

        foreach (var input in inputs)
        {
            if (input.RequiresGrad)
            {
                result.SetGradFn(new GradNode(name, inputs, backward));
                return result;
            }
        }

        return result;
    }

    /// <summary>A dense tensor with uninitialized contents.</summary>
    internal static Tensor Empty(int[] shape, Device device, DType dtype = DType.Float32)
    {
        var storage = new Storage(device, (long)Shapes.Numel(shape) * dtype.Size());
        return new Tensor(storage, 0, shape, Shapes.ContiguousStrides(shape), dtype);
    }

    /// <summary>A dense tensor over a buffer its owner keeps (a captured step's): disposing the tensor frees nothing.</summary>
    internal static Tensor Borrow(DeviceBuffer buffer, int[] shape, Device device, DType dtype) =>
        new(new Storage(device, buffer), 0, shape, Shapes.ContiguousStrides(shape), dtype);

    /// <summary>True when the data is dense and starts at the buffer's first element.</summary>
    internal bool IsDense => Offset == 0 && IsContiguous;

    /// <summary>This tensor if it is dense from the buffer start, else a dense copy (not recorded for autograd).</summary>
    internal Tensor DenseData() => IsDense ? ViewAs(shape, strides, 0) : CopyDense();

    internal Tensor CopyDense()
    {
        var result = Empty((int[])shape.Clone(), Device, DType);
        Backend.CopyElements(View, result.View);
        return result;
    }

    internal static void CheckSameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device)
        {
            throw new ArgumentException($"{op}: tensors are on different devices ({a.Device} and {b.Device}); move one with To().");
        }
    }

    /// <summary>This tensor as float32 when it is a 16-bit float (a cast recorded for autograd), else itself: the 16-bit
    /// floats are storage types that ops compute in float32.</summary>
    internal Tensor Widened => DType.IsHalf() ? To(DType.Float32) : this;

    /// <summary>True when any of the tensors is a 16-bit float.</summary>
    internal static bool AnyHalf(Tensor? a, Tensor? b = null, Tensor? c = null) =>
        (a?.DType.IsHalf() ?? false) || (b?.DType.IsHalf() ?? false) || (c?.DType.IsHalf() ?? false);

    /// <summary>A float32 result rounded to <paramref name="dtype"/> when that is a 16-bit float (recorded), else itself.</summary>
    internal static Tensor Narrowed(Tensor result, DType dtype) => dtype.IsHalf() ? result.To(dtype) : result;

    internal void CheckFloat(string op)
    {
        ThrowIfDisposed();
        if (DType != DType.Float32)
        {
            throw new ArgumentException($"{op} expects a float32 tensor, got {DType.Name()} with shape {Shapes.Format(shape)}; convert it with To(DType.Float32).");
        }
    }
}
