using System.Text;
using Numasim.Scenarios;

namespace Numasim.Checker;

/// <summary>Writes a violation as a scenario file (CONTRACT §4) that `numasim run` replays to the same violation.</summary>
public static class ScenarioWriter
{
    /// <param name="machineQemu">the QEMU options, or null with <paramref name="machineFile"/> a machine file path.</param>
    public static string Write(Violation v, string profile, string? machineQemu, string? machineFile, int depth)
    {
        var sb = new StringBuilder();
        sb.Append("# Found by `numasim check` (profile ").Append(profile).Append(", depth ").Append(depth).Append(").\n");
        sb.Append("# Invariant ").Append(v.Invariant.Name).Append(": ").Append(v.Invariant.Description).Append('\n');
        foreach (var line in v.Message.Split('\n').Take(3)) sb.Append("#   ").Append(line.TrimEnd()).Append('\n');
        if (v.Expectations.Count == 0)
            sb.Append("# No scenario expectation expresses this invariant: the steps reach the state the checker flagged.\n");
        sb.Append("name: ").Append(Q($"{v.Invariant.Name} violated after {v.Path.Count} operations")).Append('\n');
        if (machineQemu is not null) sb.Append("machine: {qemu: ").Append(Q(machineQemu)).Append("}\n");
        else sb.Append("machine: ").Append(Q(machineFile!)).Append('\n');
        sb.Append("profile: ").Append(Q(profile)).Append('\n');
        sb.Append("steps:\n");
        foreach (var s in v.Steps) sb.Append("  - ").Append(Step(s)).Append('\n');
        foreach (var s in v.Expectations) sb.Append("  - ").Append(Step(s)).Append('\n');
        return sb.ToString();
    }

    /// <summary>A step as one line of a scenario file (the part after "- ").</summary>
    public static string Step(ScenarioStep s)
    {
        if (s.Scalar is not null && s.Args.Count == 0) return $"{s.Kind}: {Q(s.Scalar)}";
        return $"{s.Kind}: {{" + string.Join(", ", s.Args.Select(kv => $"{kv.Key}: {Q(kv.Value)}")) + "}";
    }

    /// <summary>A YAML double-quoted scalar.</summary>
    public static string Q(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < ' ') sb.Append($"\\x{(int)c:x2}"); else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
