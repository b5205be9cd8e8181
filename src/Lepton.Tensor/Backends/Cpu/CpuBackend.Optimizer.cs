// Fused optimizer updates on the CPU: one SIMD pass over each parameter, its gradient and its state.
// The rule is chosen once per call, so the loop body has no branches; bias corrections are folded
// into the step size and the epsilon so an Adam step needs one square root and one division.
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    public void OptimizerStep(in OptimizerUpdate u, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? state1, DeviceBuffer? state2, int length, DeviceBuffer? gradientScale = null)
    {
        var update = gradientScale is null ? u : u with { GradientScale = u.GradientScale * Cpu(gradientScale).Pointer[0] };
        var state = (update, (nint)Cpu(param).Pointer, (nint)Cpu(grad).Pointer, (nint)(state1 is null ? null : Cpu(state1).Pointer), (nint)(state2 is null ? null : Cpu(state2).Pointer));
        CpuParallel.For(length, 16, state, static (in (OptimizerUpdate Update, nint P, nint G, nint S1, nint S2) s, int i0, int i1) =>
        {
            float* p = (float*)s.P, g = (float*)s.G, s1 = (float*)s.S1, s2 = (float*)s.S2;
            switch (s.Update.Rule)
            {
                case OptimizerRule.Sgd:
                    SgdRange(s.Update, p, g, s1, i0, i1);
                    break;
                case OptimizerRule.Adam:
                    AdamRange(s.Update, p, g, s1, s2, i0, i1);
                    break;
                default:
                    RmsPropRange(s.Update, p, g, s1, s2, i0, i1);
                    break;
            }
        });
    }

    /// <summary>The gradient after scaling and coupled (L2) weight decay; decoupled decay shrinks p here instead.</summary>
    private static Vector<float> DecayedGradient(in OptimizerUpdate u, float* p, float* g, int i)
    {
        var gi = Vector.Load(g + i) * u.GradientScale;
        var pi = Vector.Load(p + i);
        if (!u.DecoupledWeightDecay)
        {
            return gi + (pi * u.WeightDecay);
        }

        (pi - (pi * (u.LearningRate * u.WeightDecay))).Store(p + i);
        return gi;
    }

    private static float DecayedGradient(in OptimizerUpdate u, float* p, float* g, long i)
    {
        float gi = g[i] * u.GradientScale;
        if (!u.DecoupledWeightDecay)
        {
            return gi + (u.WeightDecay * p[i]);
        }

        p[i] -= u.LearningRate * u.WeightDecay * p[i];
        return gi;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SgdRange(in OptimizerUpdate u, float* p, float* g, float* s1, int i0, int i1)
    {
        int w = Vector<float>.Count, i = i0;
        for (; i <= i1 - w; i += w)
        {
            var gi = DecayedGradient(u, p, g, i);
            if (s1 != null)
            {
                var buf = FlushSubnormal((Vector.Load(s1 + i) * u.Momentum) + gi);
                buf.Store(s1 + i);
                gi = u.Nesterov ? gi + (buf * u.Momentum) : buf;
            }

            (Vector.Load(p + i) - (gi * u.LearningRate)).Store(p + i);
        }

        for (; i < i1; i++)
        {
            float gi = DecayedGradient(u, p, g, (long)i);
            if (s1 != null)
            {
                float buf = Kernels.OptimizerKernels.FlushSubnormal((u.Momentum * s1[i]) + gi);
                s1[i] = buf;
                gi = u.Nesterov ? gi + (u.Momentum * buf) : buf;
            }

            p[i] -= u.LearningRate * gi;
        }
    }

    /// <summary><see cref="Kernels.OptimizerKernels.FlushSubnormal"/> on a vector (every rule's state: momentum, moments, mean squares).</summary>
    private static Vector<float> FlushSubnormal(Vector<float> x) =>
        Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<float>(Kernels.OptimizerKernels.SmallestNormal)), Vector<float>.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdamRange(in OptimizerUpdate u, float* p, float* g, float* m, float* v, int i0, int i1)
    {
        // p -= lr * (m / bc1) / (sqrt(v / bc2) + eps) = (lr * sqrt(bc2) / bc1) * m / (sqrt(v) + eps * sqrt(bc2)).
        float sqrtBc2 = MathF.Sqrt(1f - MathF.Pow(u.Beta2, u.Step));
        float stepSize = u.LearningRate * sqrtBc2 / (1f - MathF.Pow(u.Beta1, u.Step));
        float epsilon = u.Epsilon * sqrtBc2;
        float b1 = u.Beta1, b2 = u.Beta2, c1 = 1f - u.Beta1, c2 = 1f - u.Beta2;
        int w = Vector<float>.Count, i = i0;
        for (; i <= i1 - w; i += w)
        {
            var gi = DecayedGradient(u, p, g, i);
            var mi = FlushSubnormal((Vector.Load(m + i) * b1) + (gi * c1));
            var vi = FlushSubnormal((Vector.Load(v + i) * b2) + (gi * gi * c2));
            mi.Store(m + i);
            vi.Store(v + i);
            (Vector.Load(p + i) - (mi * stepSize / (Vector.SquareRoot(vi) + new Vector<float>(epsilon)))).Store(p + i);
        }

        for (; i < i1; i++)
        {
            float gi = DecayedGradient(u, p, g, (long)i);
            float mi = Kernels.OptimizerKernels.FlushSubnormal((b1 * m[i]) + (c1 * gi));
            float vi = Kernels.OptimizerKernels.FlushSubnormal((b2 * v[i]) + (c2 * gi * gi));
            m[i] = mi;
            v[i] = vi;
            p[i] -= stepSize * mi / (MathF.Sqrt(vi) + epsilon);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RmsPropRange(in OptimizerUpdate u, float* p, float* g, float* s1, float* s2, int i0, int i1)
    {
        float rho = u.Beta2, c = 1f - u.Beta2;
        int w = Vector<float>.Count, i = i0;
        for (; i <= i1 - w; i += w)
        {
            var gi = DecayedGradient(u, p, g, i);
            var ms = FlushSubnormal((Vector.Load(s2 + i) * rho) + (gi * gi * c));
            ms.Store(s2 + i);
            var step = gi / (Vector.SquareRoot(ms) + new Vector<float>(u.Epsilon));
            if (s1 != null)
            {
                step = FlushSubnormal(step + (Vector.Load(s1 + i) * u.Momentum));
                step.Store(s1 + i);
            }

            (Vector.Load(p + i) - (step * u.LearningRate)).Store(p + i);
        }

        for (; i < i1; i++)
        {
            float gi = DecayedGradient(u, p, g, (long)i);
            float ms = Kernels.OptimizerKernels.FlushSubnormal((rho * s2[i]) + (c * gi * gi));
            s2[i] = ms;
            float step = gi / (MathF.Sqrt(ms) + u.Epsilon);
            if (s1 != null)
            {
                step = Kernels.OptimizerKernels.FlushSubnormal(step + (u.Momentum * s1[i]));
                s1[i] = step;
            }

            p[i] -= u.LearningRate * step;
        }
    }
}
