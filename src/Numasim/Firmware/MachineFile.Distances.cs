using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Numasim.Firmware;

/// <summary>
/// The machine file's <c>distances</c> (QEMU's -numa dist, the ACPI SLIT): one row per node, in the order of
/// <c>nodes</c>. Written as numactl --hardware shows the matrix, a text block of rows of numbers, which stays one YAML
/// value per row however many nodes (a 1,024-node matrix is a million numbers); a list of lists is read too.
/// </summary>
public static partial class MachineFile
{
    private static void WriteDistances(StringBuilder sb, IReadOnlyList<IReadOnlyList<int>> rows)
    {
        sb.Append("distances: |\n");
        foreach (var row in rows)
        {
            sb.Append(' ');
            foreach (var d in row) sb.Append(' ').Append(d.ToString(CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
    }

    private sealed partial class Reader
    {
        private IReadOnlyList<IReadOnlyList<int>> Distances(YamlNode value, List<NodeSpec> nodes)
        {
            if (value is YamlScalarNode text) return TextDistances(text, nodes);
            var rows = ListRows(value);
            if (rows.Count != nodes.Count)
                throw Err(value, $"distances: {rows.Count} rows but the machine has {nodes.Count} nodes");
            var m = new List<IReadOnlyList<int>>(rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var (line, cells) = rows[i];
                if (cells.Count != nodes.Count)
                    throw Err(line, $"distances: row {i} has {cells.Count} entries but the machine has {nodes.Count} nodes");
                var r = new List<int>(cells.Count);
                for (int j = 0; j < cells.Count; j++) r.Add(Cell(nodes, i, j, cells[j].Line, cells[j].Text));
                m.Add(r);
            }
            return m;
        }

        /// <summary>One distance, checked as QEMU's -numa dist checks it.</summary>
        private int Cell(List<NodeSpec> nodes, int i, int j, int at, ReadOnlySpan<char> s)
        {
            if (!int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var d)) throw Err(at, $"distances: '{s}' is not an integer");
            if (d < 0) throw Err(at, $"distances: {d} is below 0");
            if (i == j && d != 10) throw Err(at, $"distances: Local distance of node {nodes[i].NodeId} should be 10.");
            if (i != j && (d < 10 || d > 255)) throw Err(at, $"distances: NUMA distance ({d}) between nodes {nodes[i].NodeId} and {nodes[j].NodeId} is invalid, it must be 11..255");
            return d;
        }

        /// <summary>The rows of a list of lists, each cell with its line.</summary>
        private List<(int Line, List<(int Line, string Text)> Cells)> ListRows(YamlNode value) =>
            Seq(value, "distances").Children.Select(row =>
                ((int)row.Start.Line, Seq(row, "distances row").Children.Select(c => ((int)c.Start.Line, Scalar(c, "distances"))).ToList())).ToList();

        /// <summary>The matrix of a text block: one row a line (lines of blanks skipped), numbers separated by blanks
        /// (spaces, tabs). Read in place, not split into strings: a 1,024-node matrix is a million numbers. The checks
        /// come in the list form's order: the row count, then each row's length before its numbers.</summary>
        private IReadOnlyList<IReadOnlyList<int>> TextDistances(YamlScalarNode text, List<NodeSpec> nodes)
        {
            // a literal or folded block starts on the line after its indicator
            int first = (int)text.Start.Line + (text.Style is ScalarStyle.Literal or ScalarStyle.Folded ? 1 : 0);
            var all = (text.Value ?? "").AsSpan();
            var rows = new List<(int Line, int Start, int Length)>();
            int line = first;
            foreach (var r in all.Split('\n'))
            {
                if (all[r].IndexOfAnyExcept(Blanks) >= 0) rows.Add((line, r.Start.Value, r.End.Value - r.Start.Value));
                line++;
            }
            if (rows.Count != nodes.Count)
                throw Err(text, $"distances: {rows.Count} rows but the machine has {nodes.Count} nodes");
            var m = new List<IReadOnlyList<int>>(rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var (at, start, length) = rows[i];
                var row = all.Slice(start, length);
                int count = 0;
                foreach (var c in row.SplitAny(Blanks))
                    if (c.End.Value > c.Start.Value) count++;
                if (count != nodes.Count)
                    throw Err(at, $"distances: row {i} has {count} entries but the machine has {nodes.Count} nodes");
                var cells = new List<int>(count);
                foreach (var c in row.SplitAny(Blanks))
                    if (c.End.Value > c.Start.Value) cells.Add(Cell(nodes, i, cells.Count, at, row[c]));
                m.Add(cells);
            }
            return m;
        }

        private const string Blanks = " \t";

        private MachineFormatException Err(int line, string message) => new(file, line, message);
    }
}
