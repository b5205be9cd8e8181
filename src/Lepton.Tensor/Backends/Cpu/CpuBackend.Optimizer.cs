// Fused optimizer updates on the CPU: one pass over each parameter, its gradient and its state.
namespace Lepton.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc />
    public void OptimizerStep(in OptimizerUpdate u, DeviceBuffer param, DeviceBuffer grad, DeviceBuffer? state1, DeviceBuffer? state2, int length)
    {
        var update = u;
        float* p = Cpu(param).Pointer, g = Cpu(grad).Pointer;
        float* s1 = state1 is null ? null : Cpu(state1).Pointer;
        float* s2 = state2 is null ? null : Cpu(state2).Pointer;
        float biasCorrection1 = 1f - MathF.Pow(u.Beta1, u.Step);
        float biasCorrection2 = 1f - MathF.Pow(u.Beta2, u.Step);
        CpuParallel.For(length, 8, (i0, i1) =>
        {
            for (int i = i0; i < i1; i++)
            {
                float gi = g[i] * update.GradientScale;
                if (!update.DecoupledWeightDecay)
                {
                    gi += update.WeightDecay * p[i];
                }
                else
                {
                    p[i] -= update.LearningRate * update.WeightDecay * p[i];
                }

                switch (update.Rule)
                {
                    case OptimizerRule.Sgd:
                        if (s1 != null)
                        {
                            float buf = (update.Momentum * s1[i]) + gi;
                            s1[i] = buf;
                            gi = update.Nesterov ? gi + (update.Momentum * buf) : buf;
                        }

                        p[i] -= update.LearningRate * gi;
                        break;
                    case OptimizerRule.Adam:
                        float m = (update.Beta1 * s1[i]) + ((1f - update.Beta1) * gi);
                        float v = (update.Beta2 * s2[i]) + ((1f - update.Beta2) * gi * gi);
                        s1[i] = m;
                        s2[i] = v;
                        p[i] -= update.LearningRate * (m / biasCorrection1) / (MathF.Sqrt(v / biasCorrection2) + update.Epsilon);
                        break;
                    default:
                        float ms = (update.Beta2 * s2[i]) + ((1f - update.Beta2) * gi * gi);
                        s2[i] = ms;
                        float step = gi / (MathF.Sqrt(ms) + update.Epsilon);
                        if (s1 != null)
                        {
                            step += update.Momentum * s1[i];
                            s1[i] = step;
                        }

                        p[i] -= update.LearningRate * step;
                        break;
                }
            }
        });
    }
}
