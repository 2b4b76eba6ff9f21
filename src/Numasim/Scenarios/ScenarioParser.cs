using Numasim.Input;
using YamlDotNet.RepresentationModel;

namespace Numasim.Scenarios;

/// <summary>Reads scenario YAML with line numbers for every error.</summary>
public static class ScenarioParser
{
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string>
    {
        "device_add", "device_del", "object-add", "object-del", "qom-set", "write", "expect", "modprobe", "rmmod",
        "alloc_pages", "free_pages", "fail_page_alloc", "numactl", "dd", "fallocate", "rm", "snapshot", "task",
    };

    public static Scenario Load(string path)
    {
        string text;
        try { text = InputFile.ReadText(path); }
        catch (InputFileException e) { throw new ScenarioFormatException(path, 0, e.Message[(path.Length + 2)..]); }
        return Parse(text, path);
    }

    public static Scenario Parse(string text, string file)
    {
        YamlNode? rootNode;
        try { rootNode = BoundedYaml.LoadRoot(text); }
        catch (YamlInputException e) { throw new ScenarioFormatException(file, Math.Max(e.Line, 1), e.Message); }
        if (rootNode is not YamlMappingNode root)
            throw new ScenarioFormatException(file, 1, "a scenario is a mapping with name, machine and steps");
        string? name = null, qemu = null, machineFile = null, profile = null;
        List<string>? profiles = null;
        var steps = new List<ScenarioStep>();
        foreach (var (k, v) in root.Children)
        {
            int line = (int)k.Start.Line;
            var key = k is YamlScalarNode ks ? ks.Value : throw new ScenarioFormatException(file, line, "a field name must be a single value");
            switch (key)
            {
                case "name": name = Scalar(file, v, "name"); break;
                case "profile": profile = Scalar(file, v, "profile"); break;
                case "profiles":
                    profiles = Scalar(file, v, "profiles").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                    break;
                case "machine":
                    if (v is YamlScalarNode s) machineFile = s.Value;
                    else if (v is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode("qemu"), out var q)) qemu = Scalar(file, q, "machine.qemu");
                    else if (v is YamlMappingNode m2 && m2.Children.TryGetValue(new YamlScalarNode("file"), out var f)) machineFile = Scalar(file, f, "machine.file");
                    else throw new ScenarioFormatException(file, line, "machine: give {qemu: \"ARGS\"} or a machine file path");
                    break;
                case "steps":
                    if (v is not YamlSequenceNode seq) throw new ScenarioFormatException(file, line, "steps must be a list");
                    foreach (var item in seq) steps.Add(Step(file, item));
                    break;
                default: throw new ScenarioFormatException(file, line, $"unknown field '{key}'");
            }
        }
        if (qemu is null && machineFile is null) throw new ScenarioFormatException(file, 1, "missing field 'machine'");
        return new Scenario(file, name ?? Path.GetFileNameWithoutExtension(file), qemu, machineFile, profile, steps) { Profiles = profiles };
    }

    private static ScenarioStep Step(string file, YamlNode node)
    {
        int line = (int)node.Start.Line;
        if (node is not YamlMappingNode m || m.Children.Count != 1)
            throw new ScenarioFormatException(file, line, "a step is a mapping with one key, e.g. '- write: {path: ..., value: ...}'");
        var (k, v) = m.Children.First();
        var kind = k is YamlScalarNode ks ? ks.Value ?? "" : throw new ScenarioFormatException(file, line, "a step's kind must be a single value");
        if (!Kinds.Contains(kind)) throw new ScenarioFormatException(file, line, $"unknown step '{Printable(kind)}'");
        var args = new Dictionary<string, string>();
        string? scalar = null;
        if (v is YamlScalarNode s) scalar = s.Value;
        else if (v is YamlMappingNode map)
        {
            foreach (var (ak, av) in map.Children)
            {
                var argName = ak is YamlScalarNode aks ? aks.Value ?? "" : throw new ScenarioFormatException(file, (int)ak.Start.Line, $"{kind}: a field name must be a single value");
                if (av is not YamlScalarNode sv)
                    throw new ScenarioFormatException(file, (int)av.Start.Line, $"{kind}.{Printable(argName)}: expected a single value");
                if (!StepFields.Allows(kind, argName))
                    throw new ScenarioFormatException(file, (int)ak.Start.Line, $"{kind}: unknown field '{Printable(argName)}' ({StepFields.Describe(kind)})");
                args[argName] = sv.Value ?? "";
            }
            if (args.TryGetValue("when", out var when)) CheckWhen(file, (int)m.Start.Line, when);
        }
        else throw new ScenarioFormatException(file, line, $"{kind}: expected a value or a mapping");
        return new ScenarioStep(kind, args, scalar, line);
    }

    /// <summary>`when:` names profiles; one that names none would silently skip the step on every profile.</summary>
    private static void CheckWhen(string file, int line, string when)
    {
        foreach (var p in when.Split(',', StringSplitOptions.TrimEntries))
            if (Kernel.Profiles.KernelProfile.Find(p) is null)
                throw new ScenarioFormatException(file, line, $"when: unknown profile '{Printable(p)}' ({string.Join(", ", Kernel.Profiles.KernelProfile.All.Select(x => x.Name))})");
    }

    /// <summary>A value quoted in an error stays on one line: control characters are escaped.</summary>
    internal static string Printable(string s) => Input.Printable.Escape(s);

    private static string Scalar(string file, YamlNode n, string field) =>
        n is YamlScalarNode s ? s.Value ?? "" : throw new ScenarioFormatException(file, (int)n.Start.Line, $"{field} must be a single value");
}
