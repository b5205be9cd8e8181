// Gymnasium's Acrobot-v1: two links, torque on the middle joint, the "book" dynamics integrated with
// one fourth-order Runge-Kutta step of 0.2 s; -1 per step until the tip swings above the bar.
namespace Lepton.Rl;

/// <summary>
/// The acrobot swing-up task with the dynamics and constants of Gymnasium's <c>Acrobot-v1</c>.
/// Observation: [cos t1, sin t1, cos t2, sin t2, dt1, dt2]; actions 0, 1, 2 apply torque -1, 0, +1.
/// </summary>
/// <example><code>
/// var env = new Acrobot();
/// var obs = env.Reset(seed: 0);
/// var step = env.Step(2);
/// </code></example>
public sealed class Acrobot : IEnvironment<int>
{
    /// <summary>Seconds per step.</summary>
    public const double Dt = 0.2;

    /// <summary>Length of the first link.</summary>
    public const double LinkLength1 = 1.0;

    /// <summary>Mass of the first link.</summary>
    public const double LinkMass1 = 1.0;

    /// <summary>Mass of the second link.</summary>
    public const double LinkMass2 = 1.0;

    /// <summary>Position of the first link's centre of mass.</summary>
    public const double LinkComPos1 = 0.5;

    /// <summary>Position of the second link's centre of mass.</summary>
    public const double LinkComPos2 = 0.5;

    /// <summary>Moment of inertia of each link.</summary>
    public const double LinkMoi = 1.0;

    /// <summary>Largest angular velocity of the first joint.</summary>
    public const double MaxVel1 = 4 * Math.PI;

    /// <summary>Largest angular velocity of the second joint.</summary>
    public const double MaxVel2 = 9 * Math.PI;

    private const double Gravity = 9.8;
    private static readonly double[] Torques = [-1.0, 0.0, 1.0];
    private static readonly Discrete Actions = new(3);
    private static readonly Box Observations = new(
        [-1f, -1f, -1f, -1f, (float)-MaxVel1, (float)-MaxVel2],
        [1f, 1f, 1f, 1f, (float)MaxVel1, (float)MaxVel2],
        [6]);

    private readonly EpisodeState episode;
    private readonly double[] state = new double[4];

    /// <summary>Creates the environment.</summary>
    /// <param name="maxEpisodeSteps">The time limit that truncates an episode (500 for v1).</param>
    public Acrobot(int maxEpisodeSteps = 500) => episode = new EpisodeState("Acrobot-v1", maxEpisodeSteps);

    /// <inheritdoc />
    public string Id => "Acrobot-v1";

    /// <inheritdoc />
    public Space ObservationSpace => Observations;

    /// <inheritdoc />
    public Space ActionSpace => Actions;

    /// <summary>Steps taken in the current episode.</summary>
    public int ElapsedSteps => episode.Steps;

    /// <summary>The state in double precision: theta1, theta2, dtheta1, dtheta2.</summary>
    public IReadOnlyList<double> State => (double[])state.Clone();

    /// <inheritdoc />
    public float[] Reset(int? seed = null)
    {
        episode.Reset(seed);
        for (int i = 0; i < 4; i++)
        {
            state[i] = episode.Uniform(-0.1, 0.1);
        }

        return Observation();
    }

    /// <summary>Starts an episode from a given state (for tests and demonstrations).</summary>
    /// <param name="initial">theta1, theta2, dtheta1, dtheta2.</param>
    /// <returns>The observation of that state.</returns>
    /// <example><code>env.ResetTo([0.0, 0.0, 0.0, 0.0]);</code></example>
    public float[] ResetTo(ReadOnlySpan<double> initial)
    {
        if (initial.Length != 4)
        {
            throw new ArgumentException($"Acrobot-v1: a state has 4 values (theta1, theta2, dtheta1, dtheta2), got {initial.Length}.", nameof(initial));
        }

        episode.Reset(null);
        initial.CopyTo(state);
        return Observation();
    }

    /// <inheritdoc />
    public StepResult Step(int action)
    {
        episode.BeginStep(action, Actions);
        double torque = Torques[action];
        Span<double> k1 = stackalloc double[4], k2 = stackalloc double[4], k3 = stackalloc double[4], k4 = stackalloc double[4];
        Span<double> probe = stackalloc double[4];
        Derivatives(state, torque, k1);
        Offset(state, k1, Dt / 2, probe);
        Derivatives(probe, torque, k2);
        Offset(state, k2, Dt / 2, probe);
        Derivatives(probe, torque, k3);
        Offset(state, k3, Dt, probe);
        Derivatives(probe, torque, k4);
        for (int i = 0; i < 4; i++)
        {
            state[i] += Dt / 6.0 * (k1[i] + (2 * k2[i]) + (2 * k3[i]) + k4[i]);
        }

        state[0] = Wrap(state[0], -Math.PI, Math.PI);
        state[1] = Wrap(state[1], -Math.PI, Math.PI);
        state[2] = Math.Clamp(state[2], -MaxVel1, MaxVel1);
        state[3] = Math.Clamp(state[3], -MaxVel2, MaxVel2);
        bool terminated = -Math.Cos(state[0]) - Math.Cos(state[1] + state[0]) > 1.0;
        bool truncated = episode.EndStep(terminated);
        return new StepResult(Observation(), terminated ? 0f : -1f, terminated, truncated);
    }

    /// <summary>The book's equations of motion: d/dt of (theta1, theta2, dtheta1, dtheta2) under a torque.</summary>
    private static void Derivatives(ReadOnlySpan<double> s, double torque, Span<double> ds)
    {
        const double m1 = LinkMass1, m2 = LinkMass2, l1 = LinkLength1, lc1 = LinkComPos1, lc2 = LinkComPos2, i1 = LinkMoi, i2 = LinkMoi;
        double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
        double d1 = (m1 * lc1 * lc1) + (m2 * ((l1 * l1) + (lc2 * lc2) + (2 * l1 * lc2 * Math.Cos(theta2)))) + i1 + i2;
        double d2 = (m2 * ((lc2 * lc2) + (l1 * lc2 * Math.Cos(theta2)))) + i2;
        double phi2 = m2 * lc2 * Gravity * Math.Cos(theta1 + theta2 - (Math.PI / 2));
        double phi1 = (-m2 * l1 * lc2 * dtheta2 * dtheta2 * Math.Sin(theta2))
            - (2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.Sin(theta2))
            + (((m1 * lc1) + (m2 * l1)) * Gravity * Math.Cos(theta1 - (Math.PI / 2)))
            + phi2;
        double ddtheta2 = (torque + (d2 / d1 * phi1) - (m2 * l1 * lc2 * dtheta1 * dtheta1 * Math.Sin(theta2)) - phi2)
            / ((m2 * lc2 * lc2) + i2 - (d2 * d2 / d1));
        double ddtheta1 = -((d2 * ddtheta2) + phi1) / d1;
        ds[0] = dtheta1;
        ds[1] = dtheta2;
        ds[2] = ddtheta1;
        ds[3] = ddtheta2;
    }

    private static void Offset(ReadOnlySpan<double> s, ReadOnlySpan<double> slope, double h, Span<double> result)
    {
        for (int i = 0; i < 4; i++)
        {
            result[i] = s[i] + (h * slope[i]);
        }
    }

    /// <summary>Brings an angle into [low, high] by whole turns.</summary>
    private static double Wrap(double value, double low, double high)
    {
        double range = high - low;
        while (value > high)
        {
            value -= range;
        }

        while (value < low)
        {
            value += range;
        }

        return value;
    }

    private float[] Observation() =>
        [(float)Math.Cos(state[0]), (float)Math.Sin(state[0]), (float)Math.Cos(state[1]), (float)Math.Sin(state[1]), (float)state[2], (float)state[3]];
}
