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

        string[] values = FormatValues(out int width);
        bool summarize = values.Length > SummaryThreshold;

        var sb = new StringBuilder("tensor(");
        if (Rank == 0)
        {
            sb.Append(values[0]);
        }
        else if (values.Length == 0)
        {
            sb.Append("[]");
        }
        else
        {
            AppendLevel(sb, values, 0, 0, width, summarize);
        }

        if (Rank > 0 && values.Length == 0)
        {
            sb.Append(", size=").Append(Shapes.Format(shape).Replace('[', '(').Replace(']', ')'));
        }

        if (DType != DType.Float32)
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

    /// <summary>Every element as text: integers exactly, bools as True/False, floating values with four decimals (or as
    /// whole numbers with a trailing point when all are whole), and the width of the widest.</summary>
    private string[] FormatValues(out int width)
    {
        string[] texts;
        if (DType.IsInteger())
        {
            texts = Array.ConvertAll(ToArray<long>(), v => v.ToString(CultureInfo.InvariantCulture));
        }
        else if (DType == DType.Bool)
        {
            texts = Array.ConvertAll(ToArray<bool>(), v => v ? "True" : "False");
        }
        else
        {
            var values = ToArray<double>();
            bool allWhole = true;
            foreach (double v in values)
            {
                allWhole &= double.IsFinite(v) && v == Math.Round(v) && Math.Abs(v) < 1e8;
            }

            texts = Array.ConvertAll(values, v =>
                double.IsNaN(v) ? "nan"
                : double.IsInfinity(v) ? (v > 0 ? "inf" : "-inf")
                : allWhole ? v.ToString("0", CultureInfo.InvariantCulture) + "."
                : v.ToString("0.0000", CultureInfo.InvariantCulture));
        }

        width = 1;
        foreach (var t in texts)
        {
            width = Math.Max(width, t.Length);
        }

        return texts;
    }

    private void AppendLevel(StringBuilder sb, string[] values, int dim, int offset, int width, bool summarize)
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
                sb.Append(values[offset + i].PadLeft(width));
            }
            else
            {
                AppendLevel(sb, values, dim + 1, offset + (i * block), width, summarize);
            }

            if (i < size - 1)
            {
                sb.Append(dim == Rank - 1 ? ", " : "," + new string('\n', Rank - dim - 1) + new string(' ', 8 + dim));
            }
        }

        sb.Append(']');
    }
}
