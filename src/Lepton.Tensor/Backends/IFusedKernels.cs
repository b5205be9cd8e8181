// An optional capability of a backend: fused convolution kernels that run several primitives in one pass.
// A backend without it runs the unfused primitives of IBackend, which compute the same results.
namespace Lepton.Backends;

/// <summary>
/// Fused convolution kernels a backend may offer beyond <see cref="IBackend"/>'s primitives: a convolution with its
/// bias and ReLU applied as it writes its output, the same followed by max pooling without writing the convolution's
/// output, and the convolution's gradients from a max-pooled output's gradient. Each method has a side-effect-free
/// query that says whether the backend runs it for a geometry; callers ask first and otherwise run the unfused
/// primitives, so a backend implements this interface only where a fused kernel pays.
/// </summary>
/// <remarks>
/// Buffers and sizes follow <see cref="IBackend"/>'s conventions: float32 elements, int32 pooling indices, dense
/// buffers, outputs written (=). Calling a method whose query is false for its geometry throws
/// <see cref="NotSupportedException"/>.
/// </remarks>
/// <example>
/// <code>
/// if (backend is IFusedKernels fused &amp;&amp; fused.SupportsConv2dBiasRelu(g))
/// {
///     fused.Conv2dBiasReluForward(g, x, w, bias, y);
/// }
/// else
/// {
///     backend.Conv2dForward(g, x, w, y);
///     backend.BiasActivation(default(ReluOp), y, bias, g.N, g.K, g.P * g.Q, y);
/// }
/// </code>
/// </example>
public interface IFusedKernels
{
    /// <summary>Whether <see cref="Conv2dBiasReluForward"/> runs convolution geometry <paramref name="g"/>; runs nothing.</summary>
    /// <param name="g">The convolution's sizes.</param>
    /// <returns>True when this backend has a fused kernel for the geometry.</returns>
    bool SupportsConv2dBiasRelu(in Conv2dGeometry g);

    /// <summary>
    /// y = relu(conv2d(x, w) + bias[k]) in one pass, the same values as <see cref="IBackend.Conv2dForward"/> followed
    /// by <see cref="IBackend.BiasActivation{TOp}"/> with ReLU.
    /// </summary>
    /// <param name="g">The convolution's sizes; <see cref="SupportsConv2dBiasRelu"/> must be true for them.</param>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="w">Filters [K, C/groups, R, S].</param>
    /// <param name="bias">Per-filter bias [K], or null for none.</param>
    /// <param name="y">Output [N, K, P, Q] (=).</param>
    /// <exception cref="NotSupportedException">The backend has no fused kernel for <paramref name="g"/>.</exception>
    void Conv2dBiasReluForward(in Conv2dGeometry g, DeviceBuffer x, DeviceBuffer w, DeviceBuffer? bias, DeviceBuffer y);

    /// <summary>
    /// Whether <see cref="Conv2dBiasReluMaxPoolForward"/> runs convolution geometry <paramref name="g"/> followed by
    /// max pooling <paramref name="pool"/>; runs nothing.
    /// </summary>
    /// <param name="g">The convolution's sizes.</param>
    /// <param name="pool">The max pooling's sizes, over the convolution's output [N, K, P, Q].</param>
    /// <returns>True when this backend has a fused kernel for the pair of geometries.</returns>
    bool SupportsConv2dBiasReluMaxPool(in Conv2dGeometry g, in Pool2dGeometry pool);

    /// <summary>
    /// pooled, indices = max_pool2d(relu(conv2d(x, w) + bias[k])) without writing the convolution's output: the same
    /// values and indices as <see cref="Conv2dBiasReluForward"/> followed by
    /// <see cref="IBackend.MaxPool2dForward"/>.
    /// </summary>
    /// <param name="g">The convolution's sizes; <see cref="SupportsConv2dBiasReluMaxPool"/> must be true for them and <paramref name="pool"/>.</param>
    /// <param name="pool">The max pooling's sizes, over the convolution's output [N, K, P, Q].</param>
    /// <param name="x">Input [N, C, H, W].</param>
    /// <param name="w">Filters [K, C/groups, R, S].</param>
    /// <param name="bias">Per-filter bias [K], or null for none.</param>
    /// <param name="pooled">Pooled output [N, K, pool.P, pool.Q] (=).</param>
    /// <param name="indices">Per pooled output, the int32 index of its maximum within the convolution's output plane (=).</param>
    /// <exception cref="NotSupportedException">The backend has no fused kernel for the pair of geometries.</exception>
    void Conv2dBiasReluMaxPoolForward(in Conv2dGeometry g, in Pool2dGeometry pool, DeviceBuffer x, DeviceBuffer w, DeviceBuffer? bias, DeviceBuffer pooled, DeviceBuffer indices);

    /// <summary>
    /// Whether <see cref="Conv2dPooledBackward"/> runs convolution geometry <paramref name="g"/> under max pooling
    /// <paramref name="pool"/> for the gradients asked; runs nothing. False when neither gradient is asked.
    /// </summary>
    /// <param name="g">The convolution's sizes.</param>
    /// <param name="pool">The max pooling's sizes, over the convolution's output [N, K, P, Q].</param>
    /// <param name="dx">Whether the input gradient is asked.</param>
    /// <param name="dw">Whether the filter gradient is asked.</param>
    /// <returns>True when this backend has a kernel for the pair of geometries and that choice of gradients.</returns>
    bool SupportsConv2dPooledBackward(in Conv2dGeometry g, in Pool2dGeometry pool, bool dx, bool dw);

    /// <summary>
    /// The input and/or filter gradients of a convolution whose output was max-pooled, from the pooled output's
    /// gradient without writing the full-size gradient of the convolution's output: the same values, within
    /// rounding, as <see cref="IBackend.MaxPool2dBackward"/> followed by <see cref="IBackend.Conv2dBackwardData"/>
    /// and <see cref="IBackend.Conv2dBackwardFilter"/>.
    /// </summary>
    /// <param name="g">The convolution's sizes; <see cref="SupportsConv2dPooledBackward"/> must be true for them, <paramref name="pool"/> and the gradients asked.</param>
    /// <param name="pool">The max pooling's sizes, over the convolution's output [N, K, P, Q].</param>
    /// <param name="x">The convolution's input [N, C, H, W].</param>
    /// <param name="w">Filters [K, C/groups, R, S].</param>
    /// <param name="pooledGrad">The pooled output's gradient [N, K, pool.P, pool.Q], any activation's mask already applied.</param>
    /// <param name="indices">The pooling's int32 indices, as <see cref="Conv2dBiasReluMaxPoolForward"/> or <see cref="IBackend.MaxPool2dForward"/> wrote them.</param>
    /// <param name="dx">Input gradient [N, C, H, W] (=), or null when not asked.</param>
    /// <param name="dw">Filter gradient [K, C/groups, R, S] (=), or null when not asked.</param>
    /// <exception cref="NotSupportedException">The backend has no kernel for the geometries and the gradients asked.</exception>
    void Conv2dPooledBackward(in Conv2dGeometry g, in Pool2dGeometry pool, DeviceBuffer x, DeviceBuffer w, DeviceBuffer pooledGrad, DeviceBuffer indices, DeviceBuffer? dx, DeviceBuffer? dw);
}
