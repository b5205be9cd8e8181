// A binary tree over priorities whose inner nodes hold the sum and the minimum of their leaves, so a
// prefix-sum search and the smallest priority each cost O(log n): the index of prioritized replay.
namespace Lepton.Rl;

/// <summary>Sums and minima of leaf priorities.</summary>
internal sealed class SumTree
{
    private readonly int leaves;
    private readonly double[] sums;
    private readonly double[] minima;

    public SumTree(int capacity)
    {
        leaves = 1;
        while (leaves < capacity)
        {
            leaves *= 2;
        }

        sums = new double[2 * leaves];
        minima = new double[2 * leaves];
        Array.Fill(minima, double.PositiveInfinity);
    }

    /// <summary>The sum of all priorities.</summary>
    public double Total => sums[1];

    /// <summary>The smallest priority set.</summary>
    public double Min => minima[1];

    public double this[int index] => sums[leaves + index];

    public void Set(int index, double priority)
    {
        int node = leaves + index;
        sums[node] = priority;
        minima[node] = priority;
        for (node /= 2; node >= 1; node /= 2)
        {
            sums[node] = sums[2 * node] + sums[(2 * node) + 1];
            minima[node] = Math.Min(minima[2 * node], minima[(2 * node) + 1]);
        }
    }

    /// <summary>The leaf whose prefix-sum interval holds <paramref name="mass"/> (in [0, Total)).</summary>
    public int Find(double mass)
    {
        int node = 1;
        while (node < leaves)
        {
            int left = 2 * node;
            if (mass < sums[left] || sums[left + 1] == 0)
            {
                node = left;
            }
            else
            {
                mass -= sums[left];
                node = left + 1;
            }
        }

        return node - leaves;
    }
}
