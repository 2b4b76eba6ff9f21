using System.Text.Json.Nodes;
using Numasim.Kernel.Trace;

namespace Numasim.Explain;

/// <summary>
/// An explanation as JSON: <c>{"calls": [...], "files": [...], "dmesg": [...], "uevents": [...]}</c>. A call is
/// <c>{"call": "online_pages", "args": "...", "source": "mm/memory_hotplug.c", "inside": [...]}</c>; an event is
/// <c>{"decision": "..."}</c>, <c>{"change": "..."}</c>, <c>{"errno": "EINVAL", "check": "..."}</c> or <c>{"oops": "..."}</c>;
/// a file is <c>{"path": "...", "before": "...", "after": "..."}</c> with null for a side where it did not exist.
/// </summary>
public static class ExplainJson
{
    public static JsonObject Of(StepExplanation x) => new()
    {
        ["calls"] = Calls(x.Events),
        ["files"] = new JsonArray([.. x.Files.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["before"] = f.Before, ["after"] = f.After })]),
        ["dmesg"] = new JsonArray([.. x.Dmesg.Select(l => (JsonNode)JsonValue.Create(l))]),
        ["uevents"] = new JsonArray([.. x.Uevents.Select(l => (JsonNode)JsonValue.Create(l))]),
    };

    /// <summary>The call tree of <paramref name="events"/>.</summary>
    public static JsonArray Calls(IReadOnlyList<TraceEvent> events) => new([.. CallNode.Build(events).Select(Node)]);

    private static JsonNode Node(CallNode n)
    {
        var e = n.Event;
        return e.Kind switch
        {
            TraceKind.Call => new JsonObject
            {
                ["call"] = e.Function, ["args"] = e.Text, ["source"] = e.Source,
                ["inside"] = new JsonArray([.. n.Children.Select(Node)]),
            },
            TraceKind.Decision => new JsonObject { ["decision"] = e.Text },
            TraceKind.Change => new JsonObject { ["change"] = e.Text },
            TraceKind.Error => new JsonObject { ["errno"] = e.Errno.ToString(), ["check"] = e.Text },
            _ => new JsonObject { ["oops"] = e.Text },
        };
    }
}
