// Optimizer, schedule and loss settings outside their ranges (negative or NaN learning rates, betas of
// 1, label smoothing of 1, ...) are refused when set, naming the class, the parameter and the value.
using Lepton.Nn;
using Lepton.Nn.Optimizers;

namespace Lepton.Tests.Nn;

public sealed class HyperparameterTests
{
    public static TheoryData<string, string, string, string> BadSettings => new()
    {
        { "sgd lr", "Sgd", "learningRate", "-0.1" },
        { "sgd lr nan", "Sgd", "learningRate", "NaN" },
        { "sgd momentum", "Sgd", "momentum", "1.5" },
        { "sgd decay", "Sgd", "weightDecay", "-1" },
        { "adam lr", "Adam", "learningRate", "-0.001" },
        { "adam lr inf", "Adam", "learningRate", "Infinity" },
        { "adam beta1", "Adam", "beta1", "1" },
        { "adam beta2", "Adam", "beta2", "-0.1" },
        { "adam epsilon", "Adam", "epsilon", "0" },
        { "adamw decay", "AdamW", "weightDecay", "-0.1" },
        { "rmsprop rho", "RmsProp", "rho", "1" },
        { "rmsprop momentum", "RmsProp", "momentum", "-0.5" },
        { "rmsprop epsilon", "RmsProp", "epsilon", "NaN" },
        { "set lr", "Adam", "LearningRate", "-1" },
        { "clipnorm", "Sgd", "ClipNorm", "0" },
        { "global clipnorm", "Sgd", "GlobalClipNorm", "-2" },
        { "step lr", "StepDecay", "initialLearningRate", "-0.1" },
        { "step size", "StepDecay", "stepSize", "0" },
        { "exp rate", "ExponentialDecay", "decayRate", "-0.5" },
        { "cosine lr", "CosineDecay", "initialLearningRate", "NaN" },
        { "cosine alpha", "CosineDecay", "alpha", "2" },
        { "cosine warmup", "CosineDecay", "warmupSteps", "-1" },
        { "cycle steps", "OneCycle", "totalSteps", "0" },
        { "cycle start", "OneCycle", "pctStart", "1.5" },
        { "cycle div", "OneCycle", "divFactor", "0" },
        { "sparse smoothing", "SparseCategoricalCrossentropy", "labelSmoothing", "1" },
        { "sparse smoothing nan", "SparseCategoricalCrossentropy", "labelSmoothing", "NaN" },
        { "categorical smoothing", "CategoricalCrossentropy", "labelSmoothing", "-0.1" },
        { "tensor smoothing", "CrossEntropy", "labelSmoothing", "1" },
        { "tensor smoothing nan", "CrossEntropy", "labelSmoothing", "NaN" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void ASettingOutOfRangeIsRefusedNamingClassParameterAndValue(string setting, string owner, string parameter, string value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Apply(setting));
        Assert.Equal(parameter, e.ParamName);
        Assert.StartsWith($"{owner}: {parameter} must be ", e.Message);
        Assert.Contains($", got {value}.", e.Message);
    }

    [Fact]
    public void SettingsAtTheEdgesOfTheirRangesAreAccepted()
    {
        _ = new Sgd(0f, momentum: 1f, weightDecay: 0f);
        _ = new Adam(0f, beta1: 0f, beta2: 0f, epsilon: float.Epsilon);
        _ = new RmsProp(1f, rho: 0f, momentum: 1f);
        _ = new CosineDecay(0.1f, 1, alpha: 1f, warmupSteps: 0);
        _ = new OneCycle(0.1f, 1, pctStart: 0f);
        _ = new SparseCategoricalCrossentropy(labelSmoothing: 0.999f);
        var sgd = new Sgd(0.1f) { ClipNorm = null, LearningRate = 0f };
        Assert.Equal(0f, sgd.LearningRate);
        var e = Assert.Throws<ArgumentException>(() => new Sgd(0.1f, momentum: 0f, nesterov: true));
        Assert.Equal("nesterov", e.ParamName);
    }

    private static object Apply(string setting) => setting switch
    {
        "sgd lr" => new Sgd(-0.1f),
        "sgd lr nan" => new Sgd(float.NaN),
        "sgd momentum" => new Sgd(0.1f, momentum: 1.5f),
        "sgd decay" => new Sgd(0.1f, weightDecay: -1f),
        "adam lr" => new Adam(-1e-3f),
        "adam lr inf" => new Adam(float.PositiveInfinity),
        "adam beta1" => new Adam(beta1: 1f),
        "adam beta2" => new Adam(new StepDecay(0.1f, 10), beta2: -0.1f),
        "adam epsilon" => new Adam(epsilon: 0f),
        "adamw decay" => new AdamW(weightDecay: -0.1f),
        "rmsprop rho" => new RmsProp(rho: 1f),
        "rmsprop momentum" => new RmsProp(new StepDecay(0.1f, 10), momentum: -0.5f),
        "rmsprop epsilon" => new RmsProp(epsilon: float.NaN),
        "set lr" => new Adam() { LearningRate = -1f },
        "clipnorm" => new Sgd() { ClipNorm = 0f },
        "global clipnorm" => new Sgd() { GlobalClipNorm = -2f },
        "step lr" => new StepDecay(-0.1f, 10),
        "step size" => new StepDecay(0.1f, 0),
        "exp rate" => new ExponentialDecay(0.1f, 10, -0.5f),
        "cosine lr" => new CosineDecay(float.NaN, 10),
        "cosine alpha" => new CosineDecay(0.1f, 10, alpha: 2f),
        "cosine warmup" => new CosineDecay(0.1f, 10, warmupSteps: -1),
        "cycle steps" => new OneCycle(0.1f, 0),
        "cycle start" => new OneCycle(0.1f, 10, pctStart: 1.5f),
        "cycle div" => new OneCycle(0.1f, 10, divFactor: 0f),
        "sparse smoothing" => new SparseCategoricalCrossentropy(labelSmoothing: 1f),
        "sparse smoothing nan" => new SparseCategoricalCrossentropy(labelSmoothing: float.NaN),
        "categorical smoothing" => new CategoricalCrossentropy(labelSmoothing: -0.1f),
        "tensor smoothing" => Tensor.CrossEntropy(Tensor.Zeros([2, 3]), Tensor.FromArray(new[] { 0, 1 }, [2]), labelSmoothing: 1f),
        "tensor smoothing nan" => Tensor.CrossEntropy(Tensor.Zeros([2, 3]), Tensor.Zeros([2, 3]), labelSmoothing: float.NaN),
        _ => throw new ArgumentException(setting),
    };
}
