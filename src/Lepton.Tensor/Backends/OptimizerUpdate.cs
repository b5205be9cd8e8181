// The hyper-parameters of one fused optimizer update, so an optimizer step is one kernel per
// parameter instead of a dozen element-wise ops.
namespace Lepton.Backends;

/// <summary>Which update rule <see cref="IBackend.OptimizerStep"/> applies.</summary>
public enum OptimizerRule
{
    /// <summary>
    /// SGD: g += wd*p; with momentum, buf = momentum*buf + g (state1), and g = buf, or g + momentum*buf when
    /// Nesterov; p -= lr*g.
    /// </summary>
    Sgd,

    /// <summary>
    /// Adam (L2 weight decay added to the gradient) or AdamW (decoupled: p -= lr*wd*p):
    /// m = b1*m + (1-b1)*g (state1); v = b2*v + (1-b2)*g^2 (state2); p -= lr * mhat / (sqrt(vhat) + eps).
    /// </summary>
    Adam,

    /// <summary>RMSprop: v = rho*v + (1-rho)*g^2 (state2); with momentum, buf = momentum*buf + g/(sqrt(v)+eps) (state1); p -= lr*buf.</summary>
    RmsProp,
}

/// <summary>Hyper-parameters for one step of an <see cref="OptimizerRule"/>.</summary>
public readonly record struct OptimizerUpdate(
    OptimizerRule Rule,
    float LearningRate,
    float Momentum = 0f,
    bool Nesterov = false,
    float WeightDecay = 0f,
    bool DecoupledWeightDecay = false,
    float Beta1 = 0.9f,
    float Beta2 = 0.999f,
    float Epsilon = 1e-7f,
    int Step = 1,
    float GradientScale = 1f);
