// Gymnasium's CartPole-v1: a pole on a cart pushed left or right, Euler-integrated with the published
// constants; +1 per step, terminated past 12 degrees or 2.4 units, truncated at 500 steps.
namespace Lepton.Rl;

/// <summary>
/// The cart-pole balancing task with the dynamics and constants of Gymnasium's <c>CartPole-v1</c>.
/// Observation: [x, x_dot, theta, theta_dot]; actions: 0 pushes left, 1 pushes right.
/// </summary>
/// <example><code>
/// var env = new CartPole();
/// var obs = env.Reset(seed: 0);
/// var (next, reward, terminated, truncated) = env.Step(1);
/// </code></example>
public sealed class CartPole : IEnvironment<int>
{
    /// <summary>Gravity (m/s^2).</summary>
    public const double Gravity = 9.8;

    /// <summary>Mass of the cart.</summary>
    public const double MassCart = 1.0;

    /// <summary>Mass of the pole.</summary>
    public const double MassPole = 0.1;

    /// <summary>Half the pole's length.</summary>
    public const double Length = 0.5;

    /// <summary>The force of a push.</summary>
    public const double ForceMag = 10.0;

    /// <summary>Seconds between state updates.</summary>
    public const double Tau = 0.02;

    /// <summary>The pole angle (radians) past which an episode terminates: 12 degrees.</summary>
    public const double ThetaThresholdRadians = 12 * 2 * Math.PI / 360;

    /// <summary>The cart position past which an episode terminates.</summary>
    public const double XThreshold = 2.4;

    private const double TotalMass = MassPole + MassCart;
    private const double PoleMassLength = MassPole * Length;
    private static readonly Discrete Actions = new(2);
    private static readonly Box Observations = new(
        [(float)(-2 * XThreshold), float.MinValue, (float)(-2 * ThetaThresholdRadians), float.MinValue],
        [(float)(2 * XThreshold), float.MaxValue, (float)(2 * ThetaThresholdRadians), float.MaxValue],
        [4]);

    private readonly EpisodeState episode;
    private double x, xDot, theta, thetaDot;

    /// <summary>Creates the environment.</summary>
    /// <param name="maxEpisodeSteps">The time limit that truncates an episode (500 for v1).</param>
    public CartPole(int maxEpisodeSteps = 500) => episode = new EpisodeState("CartPole-v1", maxEpisodeSteps);

    /// <inheritdoc />
    public string Id => "CartPole-v1";

    /// <inheritdoc />
    public Space ObservationSpace => Observations;

    /// <inheritdoc />
    public Space ActionSpace => Actions;

    /// <summary>Steps taken in the current episode.</summary>
    public int ElapsedSteps => episode.Steps;

    /// <summary>The state in double precision: x, x_dot, theta, theta_dot.</summary>
    public (double X, double XDot, double Theta, double ThetaDot) State => (x, xDot, theta, thetaDot);

    /// <inheritdoc />
    public float[] Reset(int? seed = null)
    {
        episode.Reset(seed);
        x = episode.Uniform(-0.05, 0.05);
        xDot = episode.Uniform(-0.05, 0.05);
        theta = episode.Uniform(-0.05, 0.05);
        thetaDot = episode.Uniform(-0.05, 0.05);
        return Observation();
    }

    /// <summary>Starts an episode from a given state (for tests and demonstrations).</summary>
    /// <param name="state">x, x_dot, theta, theta_dot.</param>
    /// <returns>The observation of that state.</returns>
    /// <example><code>env.ResetTo((0, 0, 0.1, 0));</code></example>
    public float[] ResetTo((double X, double XDot, double Theta, double ThetaDot) state)
    {
        episode.Reset(null);
        (x, xDot, theta, thetaDot) = state;
        return Observation();
    }

    /// <inheritdoc />
    public StepResult Step(int action)
    {
        episode.BeginStep(action, Actions);
        double force = action == 1 ? ForceMag : -ForceMag;
        double cos = Math.Cos(theta), sin = Math.Sin(theta);
        double temp = (force + (PoleMassLength * thetaDot * thetaDot * sin)) / TotalMass;
        double thetaAcc = ((Gravity * sin) - (cos * temp)) / (Length * ((4.0 / 3.0) - (MassPole * cos * cos / TotalMass)));
        double xAcc = temp - (PoleMassLength * thetaAcc * cos / TotalMass);

        // Euler: positions move with the old velocities, then the velocities change.
        x += Tau * xDot;
        xDot += Tau * xAcc;
        theta += Tau * thetaDot;
        thetaDot += Tau * thetaAcc;

        bool terminated = x < -XThreshold || x > XThreshold || theta < -ThetaThresholdRadians || theta > ThetaThresholdRadians;
        bool truncated = episode.EndStep(terminated);
        return new StepResult(Observation(), 1f, terminated, truncated);
    }

    private float[] Observation() => [(float)x, (float)xDot, (float)theta, (float)thetaDot];
}
