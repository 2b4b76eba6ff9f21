using System.Globalization;
using System.Text;
using System.Text.Json;
using Numasim.Firmware;
using Numasim.Scenarios;

namespace Numasim.Cli.Shell;

/// <summary>
/// A shell line turned into words (quotes and backslashes as sh takes them, "&gt;" a word of its own) and the scenario
/// steps the line stands for: QMP commands in HMP form (<c>device_add pc-dimm,id=d1,memdev=m1,node=1</c>), with
/// key=value words, as QMP JSON, or any scenario step in the file's own syntax (<c>write: {path: ..., value: ...}</c>).
/// </summary>
internal static class ShellLine
{
    /// <summary>The words of a line; null and an error for an unclosed quote.</summary>
    public static List<string>? Words(string line, out string? error)
    {
        error = null;
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c is '\'' or '"')
            {
                int end = line.IndexOf(c, i + 1);
                if (end < 0) { error = $"unclosed {c}"; return null; }
                cur.Append(line, i + 1, end - i - 1);
                inWord = true;
                i = end;
            }
            else if (c == '\\' && i + 1 < line.Length) { cur.Append(line[++i]); inWord = true; }
            else if (char.IsWhiteSpace(c) || c == '>')
            {
                if (inWord) words.Add(cur.ToString());
                cur.Clear();
                inWord = false;
                if (c == '>') words.Add(">");
            }
            else { cur.Append(c); inWord = true; }
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }

    /// <summary>QMP commands and their HMP spellings, to the scenario step kind.</summary>
    public static readonly IReadOnlyDictionary<string, string> QmpCommands = new Dictionary<string, string>
    {
        ["device_add"] = "device_add", ["device_del"] = "device_del",
        ["object-add"] = "object-add", ["object_add"] = "object-add",
        ["object-del"] = "object-del", ["object_del"] = "object-del",
    };

    /// <summary>The step of a QMP or kernel command line (words after the command), or an error.</summary>
    public static ScenarioStep? Step(string kind, IReadOnlyList<string> args, int lineNo, out string? error)
    {
        error = null;
        var map = new Dictionary<string, string>();
        string? scalar = null;
        // HMP: the first comma-separated field without '=' is the driver (device_add) or qom-type (object_add);
        // device_del / object_del take the id alone.
        string? positional = kind switch { "device_add" => "driver", "object-add" => "qom-type", "device_del" or "object-del" => "id", _ => null };
        foreach (var word in args)
            foreach (var field in word.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = field.IndexOf('=');
                if (eq > 0) map[field[..eq]] = field[(eq + 1)..];
                else if (positional is not null && !map.ContainsKey(positional)) map[positional] = field;
                else if (scalar is null && map.Count == 0) scalar = field;
                else { error = $"{kind}: '{field}' is not key=value"; return null; }
            }
        if (scalar is not null && map.Count > 0) { error = $"{kind}: give either '{scalar}' or key=value pairs"; return null; }
        // HMP's object_add parses a size with its suffixes (512M); QMP, and so the step, takes bytes.
        if (kind == "object-add" && map.TryGetValue("size", out var size) && QemuSize.TryParse(size, 1, out var bytes))
            map["size"] = bytes.ToString(CultureInfo.InvariantCulture);
        return new ScenarioStep(kind, map, scalar, lineNo);
    }

    /// <summary>A QMP JSON command: {"execute": "device_add", "arguments": {...}}.</summary>
    public static ScenarioStep? Json(string line, int lineNo, out string? error)
    {
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("execute", out var exec) || exec.ValueKind != JsonValueKind.String)
            {
                error = "QMP: expected {\"execute\": COMMAND, \"arguments\": {...}}";
                return null;
            }
            var cmd = exec.GetString()!;
            if (!QmpCommands.TryGetValue(cmd, out var kind)) { error = $"QMP: The command {cmd} has not been found"; return null; }
            var map = new Dictionary<string, string>();
            if (root.TryGetProperty("arguments", out var args))
                foreach (var p in args.EnumerateObject())
                    map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            return new ScenarioStep(kind, map, null, lineNo);
        }
        catch (JsonException e)
        {
            error = "QMP: " + CliApp.OneLine(e.Message);
            return null;
        }
    }

    /// <summary>A step in the scenario file's syntax ("write: {path: /sys/..., value: online}").</summary>
    public static ScenarioStep? Yaml(string line, int lineNo, out string? error)
    {
        error = null;
        var text = line.TrimStart().StartsWith("- ", StringComparison.Ordinal) ? line.TrimStart()[2..] : line.Trim();
        try
        {
            var sc = ScenarioParser.Parse("machine: {qemu: shell}\nsteps:\n  - " + text + "\n", "shell");
            var s = sc.Steps[0];
            return s with { Line = lineNo };
        }
        catch (ScenarioFormatException e)
        {
            // The parser counts the two lines put in front of the step.
            error = e.Message.StartsWith("shell:", StringComparison.Ordinal) ? e.Message[(e.Message.IndexOf(':', 6) + 1)..].Trim() : e.Message;
            return null;
        }
    }
}
