// Fused optimizer updates: one pass over a parameter, its gradient and its state per step.
namespace Lepton.Kernels;

/// <summary>Hyper-parameters of one update, with rates and bias corrections computed on the host.</summary>
public struct OptimizerStep
{
    /// <summary>0 SGD, 1 Adam/AdamW, 2 RMSprop.</summary>
    public int Rule;

    /// <summary>Non-zero for Nesterov momentum, decoupled weight decay, and when each state buffer and the device-side gradient scale are present.</summary>
    public int Nesterov, Decoupled, HasState1, HasState2, HasScale;

    /// <summary>Rates and constants.</summary>
    public float LearningRate, Momentum, WeightDecay, Beta1, Beta2, Epsilon, GradientScale, BiasCorrection1, BiasCorrection2;
}

/// <summary>Optimizer kernels.</summary>
public static class OptimizerKernels
{
    /// <summary>The smallest positive normal float (2^-126).</summary>
    public const float SmallestNormal = 1.17549435e-38f;

    /// <summary>
    /// 0 for subnormal values. The optimizer state of a weight whose gradient stays 0 (a dead ReLU's inputs,
    /// MNIST's blank border pixels) shrinks every step (momentum, Adam's moments, RMSprop's mean square)
    /// into the subnormal range, where arithmetic takes a slow microcode path on many x86 cores; values
    /// this small change no update. Every backend flushes the same values, so they keep agreeing.
    /// </summary>
    public static float FlushSubnormal(float x) => Math.Abs(x) < SmallestNormal ? 0f : x;

    /// <summary>Updates p in place from g and the state (the rules of the backend contract's optimizer step).</summary>
    public static void Update(ArrayView<float> p, ArrayView<float> g, ArrayView<float> state1, ArrayView<float> state2, ArrayView<float> scale, int n, OptimizerStep u)
    {
        float gradientScale = u.HasScale != 0 ? u.GradientScale * scale[0] : u.GradientScale;
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            float pi = p[i];
            float gi = g[i] * gradientScale;
            if (u.Decoupled == 0)
            {
                gi += u.WeightDecay * pi;
            }
            else
            {
                pi -= u.LearningRate * u.WeightDecay * pi;
            }

            if (u.Rule == 0)
            {
                if (u.HasState1 != 0)
                {
                    float buf = FlushSubnormal((u.Momentum * state1[i]) + gi);
                    state1[i] = buf;
                    gi = u.Nesterov != 0 ? gi + (u.Momentum * buf) : buf;
                }

                pi -= u.LearningRate * gi;
            }
            else if (u.Rule == 1)
            {
                float m = FlushSubnormal((u.Beta1 * state1[i]) + ((1f - u.Beta1) * gi));
                float v = FlushSubnormal((u.Beta2 * state2[i]) + ((1f - u.Beta2) * gi * gi));
                state1[i] = m;
                state2[i] = v;
                pi -= u.LearningRate * (m / u.BiasCorrection1) / (MathF.Sqrt(v / u.BiasCorrection2) + u.Epsilon);
            }
            else
            {
                float ms = FlushSubnormal((u.Beta2 * state2[i]) + ((1f - u.Beta2) * gi * gi));
                state2[i] = ms;
                float step = gi / (MathF.Sqrt(ms) + u.Epsilon);
                if (u.HasState1 != 0)
                {
                    step = FlushSubnormal(step + (u.Momentum * state1[i]));
                    state1[i] = step;
                }

                pi -= u.LearningRate * step;
            }

            p[i] = pi;
        }
    }
}
