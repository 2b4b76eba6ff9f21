using YamlDotNet.RepresentationModel;

namespace Numasim.Scenarios;

/// <summary>Reads scenario YAML with line numbers for every error.</summary>
public static class ScenarioParser
{
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string>
    {
        "device_add", "device_del", "object-add", "object-del", "qom-set", "write", "expect", "modprobe", "rmmod",
        "alloc_pages", "free_pages",
    };

    public static Scenario Load(string path) => Parse(File.ReadAllText(path), path);

    public static Scenario Parse(string text, string file)
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ScenarioFormatException(file, (int)e.Start.Line, e.Message);
        }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new ScenarioFormatException(file, 1, "a scenario is a mapping with name, machine and steps");
        string? name = null, qemu = null, machineFile = null, profile = null;
        List<string>? profiles = null;
        var steps = new List<ScenarioStep>();
        foreach (var (k, v) in root.Children)
        {
            var key = ((YamlScalarNode)k).Value;
            int line = (int)k.Start.Line;
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
        var kind = ((YamlScalarNode)k).Value!;
        if (!Kinds.Contains(kind)) throw new ScenarioFormatException(file, line, $"unknown step '{kind}'");
        var args = new Dictionary<string, string>();
        string? scalar = null;
        if (v is YamlScalarNode s) scalar = s.Value;
        else if (v is YamlMappingNode map)
        {
            foreach (var (ak, av) in map.Children)
            {
                if (av is not YamlScalarNode sv)
                    throw new ScenarioFormatException(file, (int)av.Start.Line, $"{kind}.{((YamlScalarNode)ak).Value}: expected a single value");
                args[((YamlScalarNode)ak).Value!] = sv.Value ?? "";
            }
        }
        else throw new ScenarioFormatException(file, line, $"{kind}: expected a value or a mapping");
        return new ScenarioStep(kind, args, scalar, line);
    }

    private static string Scalar(string file, YamlNode n, string field) =>
        n is YamlScalarNode s ? s.Value ?? "" : throw new ScenarioFormatException(file, (int)n.Start.Line, $"{field} must be a single value");
}
