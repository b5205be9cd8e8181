// Acrobot-v1 against a float64 reference written here from Sutton and Barto's equations of motion
// ("book" variant) with classic fourth-order Runge-Kutta over dt = 0.2, plus its terminal rule and bounds.
using Lepton.Rl;

namespace Lepton.Tests.Rl;

public class AcrobotTests
{
    [Fact]
    public void StepsFollowTheRungeKuttaReferenceForAFixedActionSequence()
    {
        var env = new Acrobot();
        env.Reset(seed: 5);
        double[] s = [.. env.State];
        Assert.All(s, v => Assert.InRange(v, -0.1, 0.1));
        var rng = new Random(9);
        for (int t = 0; t < 120; t++)
        {
            int action = t < 40 ? 2 : rng.Next(3);
            var step = env.Step(action);
            s = ReferenceStep(s, action - 1.0);
            Assert.Equal(s, env.State, new ToleranceComparer(1e-10));
            s = [.. env.State]; // the motion is chaotic: compare each step from the same state, not whole trajectories
            float[] expected = [(float)Math.Cos(s[0]), (float)Math.Sin(s[0]), (float)Math.Cos(s[1]), (float)Math.Sin(s[1]), (float)s[2], (float)s[3]];
            Assert.Equal(expected, step.Observation, new FloatTolerance(1e-6f));
            bool terminal = -Math.Cos(s[0]) - Math.Cos(s[1] + s[0]) > 1.0;
            Assert.Equal(terminal, step.Terminated);
            Assert.Equal(terminal ? 0f : -1f, step.Reward);
            if (terminal)
            {
                break;
            }
        }
    }

    [Fact]
    public void TipAboveTheBarTerminatesWithRewardZero()
    {
        var env = new Acrobot();
        env.ResetTo([Math.PI - 0.01, 0.0, 0.0, 0.0]); // pointing up: -cos(t1) - cos(t1 + t2) is about 2
        var step = env.Step(1);
        Assert.True(step.Terminated);
        Assert.Equal(0f, step.Reward);
        var error = Assert.Throws<InvalidOperationException>(() => env.Step(1));
        Assert.Contains("Acrobot-v1", error.Message);
    }

    [Fact]
    public void AnglesWrapAndVelocitiesAreBounded()
    {
        var env = new Acrobot();
        env.ResetTo([3.1, -3.1, 100.0, -100.0]);
        env.Step(0);
        var s = env.State;
        Assert.InRange(s[0], -Math.PI, Math.PI);
        Assert.InRange(s[1], -Math.PI, Math.PI);
        Assert.Equal(4 * Math.PI, Math.Abs(s[2]), 12);
        Assert.Equal(9 * Math.PI, Math.Abs(s[3]), 12);
    }

    [Fact]
    public void TruncatesAtFiveHundredStepsAndRejectsBadActions()
    {
        var env = new Acrobot();
        env.ResetTo([0.0, 0.0, 0.0, 0.0]);
        StepResult step = default;
        for (int t = 0; t < 500; t++)
        {
            step = env.Step(1); // no torque: hangs still forever
        }

        Assert.True(step.Truncated);
        Assert.False(step.Terminated);
        Assert.Equal(-1f, step.Reward);
        env.Reset(seed: 1);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => env.Step(3));
        Assert.Contains("Acrobot-v1", error.Message);
        Assert.Contains("action 3", error.Message);
        Assert.Contains("Acrobot-v1", Assert.Throws<ArgumentException>(() => env.ResetTo([1.0, 2.0])).Message);
        Assert.Equal([6], env.ObservationSpace.Shape);
        Assert.Equal("Discrete(3)", env.ActionSpace.ToString());
    }

    /// <summary>One step: classic RK4 of the book dynamics over 0.2 s, then wrap angles and clip velocities.</summary>
    private static double[] ReferenceStep(double[] s, double torque)
    {
        const double h = 0.2;
        double[] k1 = Dynamics(s, torque);
        double[] k2 = Dynamics(Add(s, k1, h / 2), torque);
        double[] k3 = Dynamics(Add(s, k2, h / 2), torque);
        double[] k4 = Dynamics(Add(s, k3, h), torque);
        var next = new double[4];
        for (int i = 0; i < 4; i++)
        {
            next[i] = s[i] + (h * (k1[i] + (2 * k2[i]) + (2 * k3[i]) + k4[i]) / 6);
        }

        next[0] = Math.IEEERemainder(next[0], 2 * Math.PI);
        next[1] = Math.IEEERemainder(next[1], 2 * Math.PI);
        next[2] = Math.Max(-4 * Math.PI, Math.Min(4 * Math.PI, next[2]));
        next[3] = Math.Max(-9 * Math.PI, Math.Min(9 * Math.PI, next[3]));
        return next;
    }

    /// <summary>Equations of motion of the two-link acrobot (unit lengths and masses, centres at 0.5, inertia 1).</summary>
    private static double[] Dynamics(double[] s, double tau)
    {
        const double g = 9.8;
        double q1 = s[0], q2 = s[1], w1 = s[2], w2 = s[3];

        // Inertia terms and the gravity/Coriolis terms phi1, phi2, as in Sutton and Barto (1998), section 11.3.
        double d1 = 0.25 + (1 + 0.25 + Math.Cos(q2)) + 2;
        double d2 = 0.25 + (0.5 * Math.Cos(q2)) + 1;
        double phi2 = 0.5 * g * Math.Sin(q1 + q2);
        double phi1 = (-0.5 * w2 * w2 * Math.Sin(q2)) - (w1 * w2 * Math.Sin(q2)) + (1.5 * g * Math.Sin(q1)) + phi2;
        double acc2 = (tau + (d2 / d1 * phi1) - (0.5 * w1 * w1 * Math.Sin(q2)) - phi2) / (1.25 - (d2 * d2 / d1));
        double acc1 = -((d2 * acc2) + phi1) / d1;
        return [w1, w2, acc1, acc2];
    }

    private static double[] Add(double[] s, double[] k, double h) => [s[0] + (h * k[0]), s[1] + (h * k[1]), s[2] + (h * k[2]), s[3] + (h * k[3])];
}

internal sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(float obj) => 0;
}
