// CartPole-v1 against a float64 reference written here from the published equations (Barto, Sutton and
// Anderson's cart-pole with Gymnasium's constants), plus its termination, truncation and input errors.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class CartPoleTests
{
    [Fact]
    public void StepsFollowTheEulerReferenceForAFixedActionSequence()
    {
        var env = new CartPole();
        var obs = env.Reset(seed: 7);
        double[] s = [obs[0], obs[1], obs[2], obs[3]];
        Assert.Equal(s, [env.State.X, env.State.XDot, env.State.Theta, env.State.ThetaDot], new ToleranceComparer(1e-7));
        s = [env.State.X, env.State.XDot, env.State.Theta, env.State.ThetaDot];
        int[] actions = [1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1];
        foreach (int action in actions)
        {
            s = ReferenceStep(s, action);
            var step = env.Step(action);
            Assert.Equal(1f, step.Reward);
            Assert.False(step.Truncated);
            Assert.Equal(s, [env.State.X, env.State.XDot, env.State.Theta, env.State.ThetaDot], new ToleranceComparer(1e-12));
            Assert.Equal(s.Select(v => (float)v).ToArray(), step.Observation);
            Assert.Equal(Math.Abs(s[0]) > 2.4 || Math.Abs(s[2]) > 12 * 2 * Math.PI / 360, step.Terminated);
            if (step.Terminated)
            {
                break;
            }
        }
    }

    [Fact]
    public void PushingOneWayTerminatesWhenThePoleAnglePassesTwelveDegrees()
    {
        var env = new CartPole();
        env.Reset(seed: 3);
        double[] s = [env.State.X, env.State.XDot, env.State.Theta, env.State.ThetaDot];
        int steps = 0;
        StepResult step;
        do
        {
            step = env.Step(1);
            s = ReferenceStep(s, 1);
            steps++;
        }
        while (!step.Terminated);

        Assert.True(Math.Abs(s[2]) > 0.20943951023931953, $"theta {s[2]}");
        Assert.True(steps is > 5 and < 30, $"{steps} steps");
        var error = Assert.Throws<InvalidOperationException>(() => env.Step(0));
        Assert.Contains("CartPole-v1", error.Message);
        Assert.Contains("Reset", error.Message);
    }

    [Fact]
    public void CartLeavingTheTrackTerminates()
    {
        var env = new CartPole();
        env.ResetTo((2.39, 1.0, 0.0, 0.0));
        var step = env.Step(1);
        Assert.True(step.Terminated);
        Assert.True(env.State.X > 2.4);
    }

    [Fact]
    public void EpisodesAreTruncatedAtFiveHundredSteps()
    {
        var env = new CartPole();
        env.Reset(seed: 11);
        StepResult step = default;
        for (int t = 0; t < 500; t++)
        {
            Assert.False(step.Done, $"ended at step {t}");
            var (x, xDot, theta, thetaDot) = env.State;
            step = env.Step((theta * 10) + (thetaDot * 2) + (x * 0.1) + (xDot * 0.5) > 0 ? 1 : 0); // a PD controller that balances
        }

        Assert.True(step.Truncated);
        Assert.False(step.Terminated);
        Assert.Equal(500, env.ElapsedSteps);
        Assert.Throws<InvalidOperationException>(() => env.Step(1));
        env.Reset();
        Assert.False(env.Step(1).Done);
    }

    [Fact]
    public void ResetIsSeededAndUniformInTheStartRange()
    {
        var a = new CartPole().Reset(seed: 42);
        var b = new CartPole().Reset(seed: 42);
        var c = new CartPole().Reset(seed: 43);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var env = new CartPole();
        env.Reset(seed: 1);
        for (int i = 0; i < 200; i++)
        {
            Assert.All(env.Reset(), v => Assert.InRange(v, -0.05f, 0.05f));
        }
    }

    [Fact]
    public void BadInputNamesTheEnvironmentAndTheValue()
    {
        var env = new CartPole();
        var beforeReset = Assert.Throws<InvalidOperationException>(() => env.Step(0));
        Assert.Contains("CartPole-v1", beforeReset.Message);
        env.Reset(seed: 0);
        var outside = Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(2));
        Assert.Contains("CartPole-v1", outside.Message);
        Assert.Contains("action 2", outside.Message);
        Assert.Contains("Discrete(2)", outside.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CartPole(maxEpisodeSteps: 0));
        var box = Assert.IsType<Box>(env.ObservationSpace);
        Assert.Equal([4], box.Shape);
        Assert.Equal(4.8f, box.High[0], 5);
        Assert.Equal((float)(24 * 2 * Math.PI / 360), box.High[2], 6);
    }

    /// <summary>One Euler step of the cart-pole equations with Gymnasium's constants, in double precision.</summary>
    internal static double[] ReferenceStep(double[] s, int action)
    {
        const double g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, dt = 0.02;
        double f = action == 1 ? 10.0 : -10.0;
        double x = s[0], v = s[1], th = s[2], w = s[3];
        double m = mc + mp;
        double sin = Math.Sin(th), cos = Math.Cos(th);

        // Pole angular acceleration from the coupled equations, then the cart's.
        double b = (f + (mp * l * w * w * sin)) / m;
        double alpha = ((g * sin) - (cos * b)) / (l * ((4.0 / 3.0) - (mp * cos * cos / m)));
        double a = b - (mp * l * alpha * cos / m);
        return [x + (dt * v), v + (dt * a), th + (dt * w), w + (dt * alpha)];
    }
}

internal sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(double obj) => 0;
}
