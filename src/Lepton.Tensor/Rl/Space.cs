// The shape of what an environment takes and gives, as in Gymnasium's spaces: a Box of floats
// with bounds, or a Discrete set of n actions {0, ..., n-1}.
namespace Lepton.Rl;

/// <summary>Describes the observations or actions of an environment.</summary>
/// <example><code>if (env.ActionSpace is Discrete d) { Console.WriteLine(d.N); }</code></example>
public abstract class Space
{
    /// <summary>The shape of one element of the space (<c>[]</c> for a discrete action).</summary>
    public abstract int[] Shape { get; }

    /// <summary>The number of floats in one element (1 for a discrete value).</summary>
    public int Size
    {
        get
        {
            int size = 1;
            foreach (int d in Shape)
            {
                size *= d;
            }

            return size;
        }
    }
}
