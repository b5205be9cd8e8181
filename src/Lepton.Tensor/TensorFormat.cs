// Printing tensors the way PyTorch does: nested brackets, aligned columns, four decimals for
// floats, "..." summaries past 1000 elements, and the grad_fn / requires_grad suffix.
using System.Globalization;
using System.Text;

namespace Lepton;

public sealed partial class Tensor
{
    private const int SummaryThreshold = 1000;
    private const int EdgeItems = 3;

    /// <summary>A PyTorch-style rendering, e.g. <c>tensor([[1.0000, 2.0000]], requires_grad=True)</c>.</summary>
    /// <example><code>Console.WriteLine(Tensor.Arange(4));</code></example>
    public override string ToString()
    {
        if (disposed)
        {
            return "tensor(<disposed>)";
        }

        var values = ToArray();
        bool summarize = values.Length > SummaryThreshold;
        bool integer = DType.IsInteger();
        bool allWhole = true;
        foreach (float v in values)
        {
            allWhole &= float.IsFinite(v) && v == MathF.Round(v) && MathF.Abs(v) < 1e8f;
        }

        string Format(float v)
        {
            if (float.IsNaN(v))
            {
                return "nan";
            }

            if (float.IsInfinity(v))
            {
                return v > 0 ? "inf" : "-inf";
            }

            if (integer)
            {
                return ((long)v).ToString(CultureInfo.InvariantCulture);
            }

            return allWhole ? v.ToString("0", CultureInfo.InvariantCulture) + "." : v.ToString("0.0000", CultureInfo.InvariantCulture);
        }

        int width = 1;
        foreach (float v in values)
        {
            width = Math.Max(width, Format(v).Length);
        }

        var sb = new StringBuilder("tensor(");
        if (Rank == 0)
        {
            sb.Append(Format(values[0]));
        }
        else if (values.Length == 0)
        {
            sb.Append("[]");
        }
        else
        {
            AppendLevel(sb, values, 0, 0, width, summarize, Format);
        }

        if (Rank > 0 && values.Length == 0)
        {
            sb.Append(", size=").Append(Shapes.Format(shape).Replace('[', '(').Replace(']', ')'));
        }

        if (integer)
        {
            sb.Append(", dtype=").Append(DType.Name());
        }

        if (GradFn is not null)
        {
            sb.Append(", grad_fn=<").Append(GradFn.Name).Append('>');
        }
        else if (RequiresGrad)
        {
            sb.Append(", requires_grad=True");
        }

        return sb.Append(')').ToString();
    }

    private void AppendLevel(StringBuilder sb, float[] values, int dim, int offset, int width, bool summarize, Func<float, string> format)
    {
        int size = shape[dim];
        int block = 1;
        for (int d = dim + 1; d < Rank; d++)
        {
            block *= shape[d];
        }

        sb.Append('[');
        for (int i = 0; i < size; i++)
        {
            if (summarize && size > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append(dim == Rank - 1 ? "..., " : "...,\n" + new string(' ', 8 + dim));
                i = size - EdgeItems - 1;
                continue;
            }

            if (dim == Rank - 1)
            {
                sb.Append(format(values[offset + i]).PadLeft(width));
            }
            else
            {
                AppendLevel(sb, values, dim + 1, offset + (i * block), width, summarize, format);
            }

            if (i < size - 1)
            {
                sb.Append(dim == Rank - 1 ? ", " : "," + new string('\n', Rank - dim - 1) + new string(' ', 8 + dim));
            }
        }

        sb.Append(']');
    }
}
